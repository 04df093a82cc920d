import { filter, map } from 'rxjs';
import { describe, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';
import { outcome$ } from 'sluice/testing';
import { newVirtualTime, routedData$, stepLetters$ } from './support.js';

// DESIGN §3.1 (routing in registration order), §3.2 (fan-in buffer before dispatch), §5 "Same instant".

const Ping = event('Ping');
const Work = event('Work', z.object({ n: z.number() }));
const Result = event('Result', z.object({ n: z.number() }));

describe('routing in virtual time', () => {
  it('starts two steps accepting the same event in registration order, in the frame it is routed', () => {
    const vt = newVirtualTime();
    const wf = workflow('two-listeners')
      .step('split', { accepts: [StartEvent] }, vt.marble('--(p|)', { p: Ping.of(null) }))
      .step('alpha', { accepts: [Ping] }, vt.marble('----(s|)', { s: StopEvent.of({ result: 'alpha' }) }))
      .step('beta', { accepts: [Ping] }, vt.marble('-----|'));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(stepLetters$(run, 'step_started', { split: 's', alpha: 'a', beta: 'b' })).toBe('s-(ab)|');
      expectObservable(routedData$(run, 'Ping')).toBe('--p---|', { p: null });
      expectObservable(outcome$(run)).toBe('------(c|)', { c: 'completed' });
    });
  });

  it('follows registration order, not names, when the listeners are registered the other way round', () => {
    const vt = newVirtualTime();
    const wf = workflow('two-listeners-reversed')
      .step('split', { accepts: [StartEvent] }, vt.marble('--(p|)', { p: Ping.of(null) }))
      .step('beta', { accepts: [Ping] }, vt.marble('-----|'))
      .step('alpha', { accepts: [Ping] }, vt.marble('----(s|)', { s: StopEvent.of({ result: 'alpha' }) }));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(stepLetters$(run, 'step_started', { split: 's', alpha: 'a', beta: 'b' })).toBe('s-(ba)|');
      expectObservable(outcome$(run)).toBe('------(c|)', { c: 'completed' });
    });
  });

  it('reports each routed event with the steps it went to, in registration order', () => {
    const vt = newVirtualTime();
    const wf = workflow('routed-steps')
      .step('split', { accepts: [StartEvent] }, vt.marble('--(p|)', { p: Ping.of(null) }))
      .step('beta', { accepts: [Ping] }, vt.marble('-|'))
      .step('alpha', { accepts: [Ping] }, vt.marble('-(s|)', { s: StopEvent.of({}) }));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      const routes$ = run.events$.pipe(
        filter((e) => e.kind === 'event_routed'),
        map((e) => (e.kind === 'event_routed' ? `${e.event.type}>${e.steps.join(',')}` : '')),
      );
      expectObservable(routes$).toBe('a-b(c|)', {
        a: 'StartEvent>split',
        b: 'Ping>beta,alpha',
        c: 'StopEvent>',
      });
    });
  });

  it('fans out three events and fans in with ctx.collect, stopping in the frame the slowest worker reports', () => {
    const vt = newVirtualTime();
    // Worker n takes durations[n] frames: 4, 2 and 7.
    const workers: Record<number, ReturnType<typeof vt.marble> | undefined> = {
      1: vt.marble('----(r|)', { r: Result.of({ n: 1 }) }),
      2: vt.marble('--(r|)', { r: Result.of({ n: 2 }) }),
      3: vt.marble('-------(r|)', { r: Result.of({ n: 3 }) }),
    };
    const wf = workflow('fan-out-in')
      .step('split', { accepts: [StartEvent] }, () => [Work.of({ n: 1 }), Work.of({ n: 2 }), Work.of({ n: 3 })])
      .step('work', { accepts: [Work] }, (ev) => workers[ev.data.n]?.())
      .step('join', { accepts: [Result], collects: [Result] }, (_ev, ctx) => {
        const all = ctx.collect(Result, 3);
        return all && StopEvent.of({ result: all.map((r) => r.data.n) });
      });
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      // The collector runs once per Result: at 2, 4 and 7; only the third sees all three.
      expectObservable(stepLetters$(run, 'step_started', { join: 'j' })).toBe('--j-j--(j|)');
      expectObservable(routedData$(run, 'Result')).toBe('--b-a--(c|)', { a: { n: 1 }, b: { n: 2 }, c: { n: 3 } });
      // The result lists the Results in the order they were collected, i.e. arrival order.
      expectObservable(run.result$).toBe('-------(r|)', { r: [2, 1, 3] });
      expectObservable(outcome$(run)).toBe('-------(c|)', { c: 'completed' });
    });
  });

  it('lets the n-th handler of a fan-in see n buffered events (the buffer is filled before dispatch)', () => {
    const vt = newVirtualTime();
    const wf = workflow('collect-counts')
      .step('split', { accepts: [StartEvent] }, vt.marble('a-b-(c|)', {
        a: Result.of({ n: 1 }),
        b: Result.of({ n: 2 }),
        c: Result.of({ n: 3 }),
      }))
      .step('join', { accepts: [Result], collects: [Result] }, (_ev, ctx) => {
        const all = ctx.collect(Result, 3);
        return all ? StopEvent.of({ result: all.length }) : undefined;
      });
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(stepLetters$(run, 'step_completed', { join: 'j' })).toBe('j-j-(j|)');
      expectObservable(run.result$).toBe('----(r|)', { r: 3 });
    });
  });
});
