import { describe, expect, it } from 'vitest';
import { event, StartEvent, StopEvent, workflow, type Snapshot } from 'sluice';
import { kinds$, outcome$ } from 'sluice/testing';
import { at, newVirtualTime, routedData$, stepLetters$, type VirtualTime } from './support.js';

// DESIGN §1 (pause is a BehaviorSubject gate in front of dispatch), §3.6 (pause is quiescent; in-flight errors
// still fail the run; the timeout clock stops while paused), §5 "pause()".

const Next = event('Next');
const Ping = event('Ping');
const boom = new Error('boom');
const status = { r: 'running', p: 'paused', c: 'completed', f: 'failed', t: 'timed_out' } as const;

/** first: 10 frames, then Next → second: `secondMarble` (by default 4 frames, then stop). */
function twoSteps(vt: VirtualTime, options: { timeout?: number; secondMarble?: string } = {}) {
  return workflow('two-steps', { timeout: options.timeout ?? null })
    .step('first', { accepts: [StartEvent] }, vt.marble('----------(n|)', { n: Next.of(null) }))
    .step('second', { accepts: [Next] }, vt.marble(options.secondMarble ?? '----(s|)', { s: StopEvent.of({ result: 'done' }) }));
}

describe('pause in virtual time', () => {
  it('turns the status paused at the frame pause() is called and running again at resume()', () => {
    const vt = newVirtualTime();
    vt.run(({ expectObservable }) => {
      const run = vt.start(twoSteps(vt));
      at(vt, 5, () => void run.pause());
      at(vt, 20, () => run.resume());
      expectObservable(run.status$).toBe('r----p--------------r---(c|)', status);
    });
  });

  it('lets the in-flight step finish at 10 while paused and starts nothing new until resume() at 20', () => {
    const vt = newVirtualTime();
    vt.run(({ expectObservable }) => {
      const run = vt.start(twoSteps(vt));
      at(vt, 5, () => void run.pause());
      at(vt, 20, () => run.resume());
      expectObservable(
        kinds$(run, { s: 'step_started', c: 'step_completed', p: 'run_paused', r: 'run_resumed', e: 'run_completed' }),
      ).toBe('s----p----c---------(rs)(ce|)');
      // first's output waits behind the gate: it is routed at the resume, not when it was emitted.
      expectObservable(routedData$(run, 'Next')).toBe('--------------------n---|', { n: null });
      expectObservable(outcome$(run)).toBe('------------------------(c|)', { c: 'completed' });
    });
  });

  it('holds back an event sent from outside while paused and routes it after what was queued before', () => {
    const vt = newVirtualTime();
    const wf = twoSteps(vt).step('pinged', { accepts: [Ping] }, vt.marble('-|'));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      at(vt, 5, () => void run.pause());
      at(vt, 12, () => run.send(Ping.of(null)));
      at(vt, 20, () => run.resume());
      expectObservable(stepLetters$(run, 'step_started', { first: 'a', second: 'b', pinged: 'c' })).toBe(
        'a-------------------(bc)|',
      );
    });
  });

  it('resolves pause() once the in-flight step settled, with its output pending and nothing in flight', async () => {
    const vt = newVirtualTime();
    let paused: Promise<Snapshot> | undefined;
    vt.run(() => {
      const run = vt.start(twoSteps(vt));
      at(vt, 5, () => (paused = run.pause()));
      at(vt, 20, () => run.resume());
    });
    const snapshot = await (paused as Promise<Snapshot>);
    expect(snapshot.status).toBe('paused');
    expect(snapshot.inFlight).toEqual([]);
    expect(snapshot.pending.map((env) => env.event.type)).toEqual(['Next']);
  });

  it('holds an event delivered after an observer paused the run mid-dispatch, and starts it at resume(), limited or not', () => {
    for (const concurrency of [undefined, 2]) {
      const vt = newVirtualTime();
      const wf = workflow('paused-mid-dispatch', { timeout: null }).step(
        'only',
        { accepts: [StartEvent], ...(concurrency === undefined ? {} : { concurrency }) },
        vt.marble('--(s|)', { s: StopEvent.of({ result: 'done' }) }),
      );
      vt.run(({ expectObservable }) => {
        const run = vt.start(wf);
        // Paused by whoever watches the routing, after the event is announced and before it reaches its step.
        const watching = run.events$.subscribe((e) => {
          if (e.kind === 'event_routed') {
            watching.unsubscribe();
            void run.pause();
          }
        });
        at(vt, 6, () => run.resume());
        expectObservable(kinds$(run, { p: 'run_paused', r: 'run_resumed' })).toBe('p-----r-|');
        expectObservable(kinds$(run, { s: 'step_started', c: 'run_completed' })).toBe('------s-(c|)');
      });
    }
  });

  it('fails the run at the frame a step in flight during the pause fails', () => {
    const vt = newVirtualTime();
    const wf = workflow('fails-while-paused').step('bad', { accepts: [StartEvent] }, vt.marble('--------#', {}, boom));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      at(vt, 5, () => void run.pause().catch(() => {}));
      expectObservable(run.status$).toBe('r----p--(f|)', status);
      expectObservable(outcome$(run)).toBe('--------(f|)', { f: 'step_failed' });
    });
  });
});

describe('the workflow timeout and pause', () => {
  it('times out at 15 when nothing pauses the run', () => {
    const vt = newVirtualTime();
    vt.run(({ expectObservable }) => {
      const run = vt.start(twoSteps(vt, { timeout: 15, secondMarble: '--------------------(s|)' }));
      expectObservable(outcome$(run)).toBe('---------------(t|)', { t: 'timeout' });
    });
  });

  it('times out later by exactly the paused stretch: 15 frames paused from 5 to 20 move it from 15 to 30', () => {
    const vt = newVirtualTime();
    vt.run(({ expectObservable }) => {
      const run = vt.start(twoSteps(vt, { timeout: 15, secondMarble: '--------------------(s|)' }));
      at(vt, 5, () => void run.pause());
      at(vt, 20, () => run.resume());
      expectObservable(run.status$).toBe('r----p--------------r---------(t|)', status);
      expectObservable(outcome$(run)).toBe('------------------------------(t|)', { t: 'timeout' });
      expectObservable(kinds$(run, { t: 'run_timed_out' })).toBe('------------------------------(t|)');
    });
  });

  it('adds up running stretches across two pauses', () => {
    const vt = newVirtualTime();
    vt.run(({ expectObservable }) => {
      const run = vt.start(twoSteps(vt, { timeout: 15, secondMarble: '--------------------(s|)' }));
      // Running 0–5 (5), paused 5–8, running 8–12 (4), paused 12–20, running from 20: 6 more → 26.
      at(vt, 5, () => void run.pause());
      at(vt, 8, () => run.resume());
      at(vt, 12, () => void run.pause());
      at(vt, 20, () => run.resume());
      expectObservable(run.status$).toBe('r----p--r---p-------r-----(t|)', status);
    });
  });
});
