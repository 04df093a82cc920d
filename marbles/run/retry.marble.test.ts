import { filter, map } from 'rxjs';
import { describe, it } from 'vitest';
import { StartEvent, StopEvent, workflow, type RunEventOf, type RunHandle, type StepContext } from 'sluice';
import { kinds$, outcome$ } from 'sluice/testing';
import { newVirtualTime, type VirtualTime } from './support.js';

// DESIGN §2 `.step(... retry)`, §3.5 (error after its retries), §5 "Retry" (delay, backoff, maxDelay, step timeout
// per attempt, a timed-out attempt is retried like a failed one, ctx.attempt starts at 1) and "Field details"
// (step_retried.attempt is the attempt that failed; exponential backoff doubles the delay each attempt).

const boom = new Error('boom');
const stop = { s: StopEvent.of({ result: 'ok' }) };

/** The attempt number of each step_started, as a digit at the frame the attempt started. */
const attempts$ = (run: RunHandle) =>
  run.events$.pipe(
    filter((e): e is RunEventOf<'step_started'> => e.kind === 'step_started'),
    map((e) => String(e.attempt)),
  );

/** The failed attempt number of each step_retried, as a digit at the frame it failed. */
const retried$ = (run: RunHandle) =>
  run.events$.pipe(
    filter((e): e is RunEventOf<'step_retried'> => e.kind === 'step_retried'),
    map((e) => String(e.attempt)),
  );

/** A step body that fails after one frame until attempt `succeedOn`, which stops after one frame. */
const flaky = (vt: VirtualTime, succeedOn: number) => (_ev: unknown, ctx: StepContext) =>
  ctx.attempt < succeedOn ? vt.marble('-#', {}, boom)() : vt.marble('-(s|)', stop)();

describe('retries in virtual time', () => {
  it('re-runs a failing step after a fixed delay: attempts at 0, 4, 8, then fails step_failed', () => {
    const vt = newVirtualTime();
    const wf = workflow('fixed').step('flaky', { accepts: [StartEvent], retry: { retries: 2, delay: 3 } }, vt.marble('-#', {}, boom));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      // Each attempt fails one frame in; the retry waits 3 frames: 0 → fail 1 → 4 → fail 5 → 8 → fail 9.
      expectObservable(attempts$(run)).toBe('1---2---3|');
      expectObservable(retried$(run)).toBe('-1---2---|');
      expectObservable(outcome$(run)).toBe('---------(f|)', { f: 'step_failed' });
      expectObservable(kinds$(run, { x: 'step_failed', f: 'run_failed' })).toBe('---------(xf|)');
    });
  });

  it('completes when a retried attempt succeeds, at the frame that attempt stops', () => {
    const vt = newVirtualTime();
    const wf = workflow('fixed-recovers').step('flaky', { accepts: [StartEvent], retry: { retries: 3, delay: 2 } }, flaky(vt, 3));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      // 0 → fail 1 → 3 → fail 4 → 6 → stop 7.
      expectObservable(attempts$(run)).toBe('1--2--3|');
      expectObservable(kinds$(run, { r: 'step_retried', c: 'step_completed', e: 'run_completed' })).toBe('-r--r--(ce|)');
      expectObservable(run.result$).toBe('-------(s|)', { s: 'ok' });
    });
  });

  it('retries at once with no delay, in the frame the attempt failed', () => {
    const vt = newVirtualTime();
    const wf = workflow('no-delay').step('flaky', { accepts: [StartEvent], retry: { retries: 2 } }, flaky(vt, 3));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      // 0 → fail 1 → 1 → fail 2 → 2 → stop 3.
      expectObservable(attempts$(run)).toBe('123|');
      expectObservable(outcome$(run)).toBe('---(c|)', { c: 'completed' });
    });
  });

  it('doubles the delay before each retry under exponential backoff: attempts at 0, 3, 8, 17', () => {
    const vt = newVirtualTime();
    const wf = workflow('exponential').step(
      'flaky',
      { accepts: [StartEvent], retry: { retries: 3, delay: 2, backoff: 'exponential' } },
      vt.marble('-#', {}, boom),
    );
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      // Waits 2, 4, 8: 0 → fail 1 → 3 → fail 4 → 8 → fail 9 → 17 → fail 18.
      expectObservable(attempts$(run)).toBe('1--2----3--------4|');
      expectObservable(retried$(run)).toBe('-1--2----3--------|');
      expectObservable(outcome$(run)).toBe('------------------(f|)', { f: 'step_failed' });
    });
  });

  it('caps exponential delays at maxDelay: attempts at 0, 3, 8, 14', () => {
    const vt = newVirtualTime();
    const wf = workflow('capped').step(
      'flaky',
      { accepts: [StartEvent], retry: { retries: 3, delay: 2, backoff: 'exponential', maxDelay: 5 } },
      flaky(vt, 4),
    );
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      // Waits 2, 4, then 5 instead of 8: 0 → fail 1 → 3 → fail 4 → 8 → fail 9 → 14 → stop 15.
      expectObservable(attempts$(run)).toBe('1--2----3-----4|');
      expectObservable(outcome$(run)).toBe('---------------(c|)', { c: 'completed' });
    });
  });

  it('retries a timed-out attempt like a failed one, timing each attempt afresh', () => {
    const vt = newVirtualTime();
    // Attempt 1 would take 6 frames; the step timeout of 3 cuts it at 3; the retry waits 1; attempt 2 takes 2.
    const body = (_ev: unknown, ctx: StepContext) =>
      ctx.attempt === 1 ? vt.marble('------(s|)', stop)() : vt.marble('--(s|)', stop)();
    const wf = workflow('timed-out-attempt').step('slow', { accepts: [StartEvent], timeout: 3, retry: { retries: 1, delay: 1 } }, body);
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(attempts$(run)).toBe('1---2-|');
      expectObservable(retried$(run)).toBe('---1--|');
      expectObservable(outcome$(run)).toBe('------(c|)', { c: 'completed' });
    });
  });

  it('fails with step_timeout when every attempt times out, at the last attempt’s deadline', () => {
    const vt = newVirtualTime();
    const wf = workflow('always-slow').step(
      'slow',
      { accepts: [StartEvent], timeout: 2, retry: { retries: 2, delay: 1 } },
      vt.marble('-----(s|)', stop),
    );
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      // 0 → timeout 2 → 3 → timeout 5 → 6 → timeout 8.
      expectObservable(attempts$(run)).toBe('1--2--3-|');
      expectObservable(outcome$(run)).toBe('--------(t|)', { t: 'step_timeout' });
    });
  });
});
