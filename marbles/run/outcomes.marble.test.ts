import { filter, type Observable } from 'rxjs';
import type { RunHelpers } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { event, StartEvent, StopEvent, workflow, type RunHandle, type WorkflowEvent } from 'sluice';
import { kinds$, outcome$ } from 'sluice/testing';
import { at, lateAt, newVirtualTime, type VirtualTime } from './support.js';

// DESIGN §3.3 (stop), §3.4 (step error > stop > timeout; abort synchronous), §3.5, §3.7,
// §5 "Same instant" (same scheduler frame; once an outcome is decided, abort does nothing).

const boom = new Error('boom');
const stop = { s: StopEvent.of({ result: 'stopped' }) };
const ends = { c: 'run_completed', f: 'run_failed', a: 'run_aborted', t: 'run_timed_out' } as const;
const status = { r: 'running', p: 'paused', c: 'completed', f: 'failed', a: 'aborted', t: 'timed_out' } as const;

/** Pause and resume at once at `frame`: re-arms the workflow timer after what the steps already scheduled. */
function rearmTimeoutAt(vt: VirtualTime, run: RunHandle, frame: number): void {
  at(vt, frame, () => {
    void run.pause();
    run.resume();
  });
}

describe('simultaneous outcomes in one frame', () => {
  it('fails with the step error when it is due in the frame a stop is routed (error step registered first)', () => {
    const vt = newVirtualTime();
    const wf = workflow('error-then-stop')
      .step('bad', { accepts: [StartEvent] }, vt.marble('---#', {}, boom))
      .step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('---(f|)', { f: 'step_failed' });
      expectObservable(kinds$(run, ends)).toBe('---(f|)');
    });
  });

  it('fails with the step error when it is due in the frame a stop is routed (stop step registered first)', () => {
    const vt = newVirtualTime();
    const wf = workflow('stop-then-error')
      .step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop))
      .step('bad', { accepts: [StartEvent] }, vt.marble('---#', {}, boom));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('---(f|)', { f: 'step_failed' });
      expectObservable(kinds$(run, ends)).toBe('---(f|)');
      expectObservable(run.status$).toBe('r--(f|)', status);
    });
  });

  it('fails with step_timeout when a step times out in the frame a stop is routed, whatever the order', () => {
    for (const order of ['slow-first', 'stop-first'] as const) {
      const vt = newVirtualTime();
      const slow = ['slow', { accepts: [StartEvent], timeout: 3 }, vt.marble('-------(s|)', stop)] as const;
      const stopper = ['stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop)] as const;
      const wf =
        order === 'slow-first'
          ? workflow(order).step(...slow).step(...stopper)
          : workflow(order).step(...stopper).step(...slow);
      vt.run(({ expectObservable }) => {
        expectObservable(outcome$(vt.start(wf))).toBe('---(t|)', { t: 'step_timeout' });
      });
    }
  });

  it('completes when a stop is routed in the frame the workflow timeout fires (timer due first)', () => {
    const vt = newVirtualTime();
    const wf = workflow('timeout-then-stop', { timeout: 3 }).step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('---(c|)', { c: 'completed' });
      expectObservable(kinds$(run, ends)).toBe('---(c|)');
      expectObservable(run.status$).toBe('r--(c|)', status);
      expectObservable(run.result$).toBe('---(s|)', { s: 'stopped' });
    });
  });

  it('completes when a stop is routed in the frame the workflow timeout fires (stop due first)', () => {
    const vt = newVirtualTime();
    const wf = workflow('stop-then-timeout', { timeout: 3 }).step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      rearmTimeoutAt(vt, run, 1);
      expectObservable(outcome$(run)).toBe('---(c|)', { c: 'completed' });
      expectObservable(kinds$(run, ends)).toBe('---(c|)');
    });
  });

  it('fails with the step error when it is due in the frame the workflow timeout fires (timer due first)', () => {
    const vt = newVirtualTime();
    const wf = workflow('timeout-then-error', { timeout: 3 }).step('bad', { accepts: [StartEvent] }, vt.marble('---#', {}, boom));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('---(f|)', { f: 'step_failed' });
      expectObservable(kinds$(run, ends)).toBe('---(f|)');
    });
  });

  it('fails with the step error when it is due in the frame the workflow timeout fires (error due first)', () => {
    const vt = newVirtualTime();
    const wf = workflow('error-then-timeout', { timeout: 3 }).step('bad', { accepts: [StartEvent] }, vt.marble('---#', {}, boom));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      rearmTimeoutAt(vt, run, 1);
      expectObservable(outcome$(run)).toBe('---(f|)', { f: 'step_failed' });
      expectObservable(kinds$(run, ends)).toBe('---(f|)');
    });
  });

  it('fails with the step error when an error, a stop and the workflow timeout are all due in one frame', () => {
    const vt = newVirtualTime();
    const wf = workflow('all-three', { timeout: 3 })
      .step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop))
      .step('bad', { accepts: [StartEvent] }, vt.marble('---#', {}, boom));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('---(f|)', { f: 'step_failed' });
      expectObservable(kinds$(run, ends)).toBe('---(f|)');
    });
  });
});

describe('abort in virtual time', () => {
  it('aborts at the frame abort() is called when nothing else is due', () => {
    const vt = newVirtualTime();
    const wf = workflow('abort-idle').step('slow', { accepts: [StartEvent] }, vt.marble('----------(s|)', stop));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      at(vt, 5, () => run.abort('enough'));
      expectObservable(outcome$(run)).toBe('-----(a|)', { a: 'aborted' });
      expectObservable(run.status$).toBe('r----(a|)', status);
      expectObservable(kinds$(run, { ...ends, s: 'step_started' })).toBe('s----(a|)');
    });
  });

  it('aborts when abort() is called in a frame before the stop due in that frame is routed', () => {
    const vt = newVirtualTime();
    const wf = workflow('abort-before-stop').step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      at(vt, 3, () => run.abort());
      expectObservable(outcome$(run)).toBe('---(a|)', { a: 'aborted' });
      expectObservable(kinds$(run, ends)).toBe('---(a|)');
    });
  });

  it('does nothing when abort() is called in the frame a stop was routed, after it', () => {
    const vt = newVirtualTime();
    const wf = workflow('abort-after-stop').step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      lateAt(vt, 3, () => run.abort());
      expectObservable(outcome$(run)).toBe('---(c|)', { c: 'completed' });
      expectObservable(kinds$(run, ends)).toBe('---(c|)');
      expectObservable(run.status$).toBe('r--(c|)', status);
    });
  });

  it('does nothing when abort() is called by an observer of the StopEvent’s event_routed', () => {
    const vt = newVirtualTime();
    const wf = workflow('abort-on-routed-stop').step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      run.events$
        .pipe(filter((e) => e.kind === 'event_routed' && e.event.type === StopEvent.type))
        .subscribe(() => run.abort('saw the stop'));
      expectObservable(outcome$(run)).toBe('---(c|)', { c: 'completed' });
      expectObservable(kinds$(run, ends)).toBe('---(c|)');
    });
  });

  it('does nothing when abort() is called by an observer of the final step_failed', () => {
    const vt = newVirtualTime();
    const wf = workflow('abort-on-step-failed').step('bad', { accepts: [StartEvent] }, vt.marble('---#', {}, boom));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      run.events$.pipe(filter((e) => e.kind === 'step_failed')).subscribe(() => run.abort('saw the failure'));
      expectObservable(outcome$(run)).toBe('---(f|)', { f: 'step_failed' });
      expectObservable(kinds$(run, ends)).toBe('---(f|)');
    });
  });

  it('does nothing when abort() is called in the frame a step error was raised, after it', () => {
    const vt = newVirtualTime();
    const wf = workflow('abort-after-error').step('bad', { accepts: [StartEvent] }, vt.marble('---#', {}, boom));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      lateAt(vt, 3, () => run.abort());
      expectObservable(outcome$(run)).toBe('---(f|)', { f: 'step_failed' });
      expectObservable(kinds$(run, ends)).toBe('---(f|)');
    });
  });

  it('does nothing when abort() is called after the run ended', () => {
    const vt = newVirtualTime();
    const wf = workflow('abort-after-end').step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop));
    let run: RunHandle | undefined;
    vt.run(({ expectObservable }) => {
      run = vt.start(wf);
      at(vt, 6, () => run?.abort());
      expectObservable(kinds$(run, ends)).toBe('---(c|)');
    });
    expect(run?.status).toBe('completed');
  });
});

describe('timeouts at the exact frame', () => {
  it('fails a step with step_timeout at the frame its timeout elapses', () => {
    const vt = newVirtualTime();
    const wf = workflow('step-timeout').step('slow', { accepts: [StartEvent], timeout: 4 }, vt.marble('--------(s|)', stop));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('----(t|)', { t: 'step_timeout' });
      expectObservable(kinds$(run, { s: 'step_started', x: 'step_failed', f: 'run_failed' })).toBe('s---(xf|)');
      expectObservable(run.status$).toBe('r---(f|)', status);
    });
  });

  it('lets a step finish in the frame before its timeout', () => {
    const vt = newVirtualTime();
    const wf = workflow('step-just-in-time').step('quick', { accepts: [StartEvent], timeout: 4 }, vt.marble('---(s|)', stop));
    vt.run(({ expectObservable }) => {
      expectObservable(outcome$(vt.start(wf))).toBe('---(c|)', { c: 'completed' });
    });
  });

  it('times the run out at the frame the workflow timeout elapses', () => {
    const vt = newVirtualTime();
    const wf = workflow('run-timeout', { timeout: 5 }).step('slow', { accepts: [StartEvent] }, vt.marble('----------(s|)', stop));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('-----(t|)', { t: 'timeout' });
      expectObservable(run.status$).toBe('r----(t|)', status);
      expectObservable(kinds$(run, ends)).toBe('-----(t|)');
    });
  });
});

describe('what the outcome stops', () => {
  const Tick = event('Tick');

  it('unsubscribes a running step\'s Observable in the frame the outcome is decided, limited or not', () => {
    for (const concurrency of [undefined, 1]) {
      const vt = newVirtualTime();
      let ticks!: ReturnType<RunHelpers['cold']>;
      const wf = workflow('stop-a-stream')
        .step('ticker', { accepts: [StartEvent], ...(concurrency === undefined ? {} : { concurrency }) }, () => ticks as Observable<WorkflowEvent>)
        .step('stopper', { accepts: [StartEvent] }, vt.marble('---(s|)', stop))
        .step('sink', { accepts: [Tick] }, () => undefined);
      vt.run(({ cold, expectObservable, expectSubscriptions }) => {
        ticks = cold('-t-t-t-t-t|', { t: Tick.of(1) });
        const run = vt.start(wf);
        expectObservable(outcome$(run)).toBe('---(c|)', { c: 'completed' });
        expectSubscriptions(ticks.subscriptions).toBe('^--!');
      });
    }
  });
});
