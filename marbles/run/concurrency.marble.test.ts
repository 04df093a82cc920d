import { map, max } from 'rxjs';
import { describe, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';
import { outcome$ } from 'sluice/testing';
import { newVirtualTime, perFrame, running$, stepLetters$ } from './support.js';

// DESIGN §1 (a step's concurrency limit is the `concurrent` argument of its mergeMap), §5 "Held-back events".

const Work = event('Work', z.object({ n: z.number() }));
const Done = event('Done', z.object({ n: z.number() }));

/** split → five Work at frame 0 → work (concurrency 2, `duration` frames each) → join stops after five Done. */
function fiveJobs(vt: ReturnType<typeof newVirtualTime>, duration: number) {
  const body = `${'-'.repeat(duration)}(d|)`;
  return workflow('five-jobs')
    .step('split', { accepts: [StartEvent] }, () => [1, 2, 3, 4, 5].map((n) => Work.of({ n })))
    .step('work', { accepts: [Work], concurrency: 2 }, (ev) =>
      vt.marble(body, { d: Done.of({ n: ev.data.n }) })(),
    )
    .step('join', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
      const all = ctx.collect(Done, 5);
      return all && StopEvent.of({ result: all.map((d) => d.data.n) });
    });
}

describe('step concurrency in virtual time', () => {
  it('starts five 4-frame invocations of a concurrency-2 step two by two: frames 0, 0, 4, 4, 8', () => {
    const vt = newVirtualTime();
    vt.run(({ expectObservable }) => {
      const run = vt.start(fiveJobs(vt, 4));
      expectObservable(stepLetters$(run, 'step_started', { work: 's' })).toBe('(ss)(ss)s---|');
      expectObservable(run.result$).toBe('------------(r|)', { r: [1, 2, 3, 4, 5] });
    });
  });

  it('starts five 3-frame invocations of a concurrency-2 step at frames 0, 0, 3, 3, 6', () => {
    const vt = newVirtualTime();
    vt.run(({ expectObservable }) => {
      const run = vt.start(fiveJobs(vt, 3));
      // One value per frame: how many invocations started in it.
      const startsPerFrame$ = stepLetters$(run, 'step_started', { work: 's' }).pipe(
        perFrame(vt.scheduler),
        map((starts) => String(starts.length)),
      );
      expectObservable(startsPerFrame$).toBe('2--2--1--|');
      expectObservable(outcome$(run)).toBe('---------(c|)', { c: 'completed' });
    });
  });

  it('never runs more than two invocations of a concurrency-2 step at once', () => {
    const vt = newVirtualTime();
    vt.run(({ expectObservable }) => {
      const run = vt.start(fiveJobs(vt, 3));
      // Running invocations at the end of each frame, then the most seen at any moment.
      const runningAtFrameEnd$ = running$(run, 'work').pipe(
        perFrame(vt.scheduler),
        map((counts) => String(counts.at(-1))),
      );
      expectObservable(runningAtFrameEnd$).toBe('2--2--1--(0|)');
      expectObservable(running$(run, 'work').pipe(max())).toBe('---------(m|)', { m: 2 });
    });
  });

  it('starts a held-back invocation in the frame a slot frees up, in arrival order', () => {
    const vt = newVirtualTime();
    // Job n takes 6 - n frames: job 2 frees its slot at 4, before job 1 (at 5).
    const wf = workflow('slots')
      .step('split', { accepts: [StartEvent] }, () => [1, 2, 3].map((n) => Work.of({ n })))
      .step('work', { accepts: [Work], concurrency: 2 }, (ev) =>
        vt.marble(`${'-'.repeat(6 - ev.data.n)}(d|)`, { d: Done.of({ n: ev.data.n }) })(),
      )
      .step('join', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
        const all = ctx.collect(Done, 3);
        return all && StopEvent.of({ result: all.map((d) => d.data.n) });
      });
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(stepLetters$(run, 'step_started', { work: 's' }).pipe(perFrame(vt.scheduler), map((s) => String(s.length)))).toBe(
        '2---1--|',
      );
      // Job 3 starts at 4 and takes 3 frames: done at 7, after job 1 at 5.
      expectObservable(run.result$).toBe('-------(r|)', { r: [2, 1, 3] });
    });
  });
});
