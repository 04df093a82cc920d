import { firstValueFrom, never, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  event,
  StartEvent,
  StopEvent,
  workflow,
  WorkflowError,
  type RunEvent,
  type RunHandle,
  type StepContext,
} from 'sluice';

// DESIGN §3.3 (stop), §3.4 (priority), §3.5 (errors), §3.7 (abort), §5 "Same instant", "Edges", "Observables".

const Ping = event('Ping');

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const historyOf = (run: RunHandle<unknown>): Promise<RunEvent[]> => firstValueFrom(run.events$.pipe(toArray()));
const kinds = (events: RunEvent[]) => events.map((e) => e.kind);
const terminalKinds = (events: RunEvent[]) =>
  kinds(events).filter((k) => k === 'run_completed' || k === 'run_failed' || k === 'run_aborted' || k === 'run_timed_out');
/** A promise that never settles: an invocation that stays in flight. */
const forever = () => new Promise<never>(() => {});

/** Record when and how `result$` ended, in virtual time. */
function watchResult(ts: TestScheduler, run: RunHandle<unknown>) {
  const seen: { frame?: number; value?: unknown; error?: unknown; completed?: boolean } = {};
  run.result$.subscribe({
    next: (value) => Object.assign(seen, { frame: ts.now(), value }),
    error: (error: unknown) => Object.assign(seen, { frame: ts.now(), error }),
    complete: () => Object.assign(seen, { completed: true }),
  });
  return seen;
}

describe('stop', () => {
  it('ends the run completed with the first StopEvent’s result', async () => {
    const wf = workflow('stop').step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: { answer: 42 } }));
    const run = wf.run();
    await expect(run.result).resolves.toEqual({ answer: 42 });
    expect(run.status).toBe('completed');
    const events = await historyOf(run);
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: { answer: 42 } });
  });

  it('ignores StopEvents after the first', async () => {
    const wf = workflow('two-stops').step('s', { accepts: [StartEvent] }, () => [
      StopEvent.of({ result: 'first' }),
      StopEvent.of({ result: 'second' }),
    ]);
    const run = wf.run();
    await expect(run.result).resolves.toBe('first');
    expect(terminalKinds(await historyOf(run))).toEqual(['run_completed']);
  });

  it('aborts the ctx.signal of steps still in flight', async () => {
    let slow: StepContext | undefined;
    const wf = workflow('stop-aborts')
      .step('slow', { accepts: [StartEvent] }, (_ev, ctx) => {
        slow = ctx;
        return forever();
      })
      .step('fast', { accepts: [StartEvent] }, () => StopEvent.of({ result: 'fast' }));
    const run = wf.run();
    await expect(run.result).resolves.toBe('fast');
    expect(slow?.signal.aborted).toBe(true);
    const events = await historyOf(run);
    expect(events.some((e) => e.kind === 'step_completed' && e.step === 'slow')).toBe(false);
  });

  it('resolves undefined for a StopEvent without a result', async () => {
    const built = workflow('no-result').step('s', { accepts: [StartEvent] }, () => StopEvent.of({}));
    await expect(built.run().result).resolves.toBeUndefined();

    const plain = workflow('no-result-plain').step('s', { accepts: [StartEvent] }, () => ({ type: 'StopEvent', data: {} }));
    const run = plain.run();
    await expect(run.result).resolves.toBeUndefined();
    expect(run.status).toBe('completed');
  });

  it('emits the result on result$ once, at the outcome, then completes', () => {
    const ts = newScheduler();
    ts.run(({ cold, expectObservable }) => {
      const wf = workflow('result$', { scheduler: ts }).step('s', { accepts: [StartEvent] }, () =>
        cold('---a|', { a: StopEvent.of({ result: 'r' }) }),
      );
      const run = wf.run();
      expectObservable(run.result$).toBe('---(a|)', { a: 'r' });
    });
  });

  it('gives a late result$ subscriber the result once', async () => {
    const wf = workflow('late-result$').step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: 5 }));
    const run = wf.run();
    await run.result;
    await expect(firstValueFrom(run.result$.pipe(toArray()))).resolves.toEqual([5]);
  });
});

describe('step errors', () => {
  it('fails the run with step_failed whose cause is the thrown error', async () => {
    const boom = new Error('boom');
    const wf = workflow('throws').step('bad', { accepts: [StartEvent] }, () => {
      throw boom;
    });
    const run = wf.run();
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error).toMatchObject({ code: 'step_failed', step: 'bad' });
    expect((error as WorkflowError).cause).toBe(boom);
    expect(run.status).toBe('failed');

    const events = await historyOf(run);
    const failed = events.find((e) => e.kind === 'step_failed');
    expect(failed).toMatchObject({ step: 'bad', type: 'StartEvent', error: { code: 'step_failed' } });
    expect(typeof (failed as { invocationId?: unknown }).invocationId).toBe('string');
    expect(events.at(-1)).toMatchObject({ kind: 'run_failed', error: { code: 'step_failed', step: 'bad' } });
    expect(typeof (events.at(-1) as { error: { message: unknown } }).error.message).toBe('string');
  });

  it('fails the run with step_failed when a step throws undefined', async () => {
    const wf = workflow('throws-undefined').step('bad', { accepts: [StartEvent] }, () => {
      throw undefined;
    });
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error.code).toBe('step_failed');
    expect(error.step).toBe('bad');
    expect(Object.hasOwn(error, 'cause')).toBe(true);
    expect(error.cause).toBeUndefined();
  });

  it('keeps a thrown non-Error value as the cause', async () => {
    const wf = workflow('throws-string').step('bad', { accepts: [StartEvent] }, () => {
      throw 'nope';
    });
    await expect(wf.run().result).rejects.toMatchObject({ code: 'step_failed', cause: 'nope' });
  });

  it('fails the run with step_failed when a step’s promise rejects', async () => {
    const reason = new Error('rejected');
    const wf = workflow('rejects').step('bad', { accepts: [StartEvent] }, async () => {
      await Promise.resolve();
      throw reason;
    });
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect(error.code).toBe('step_failed');
    expect(error.step).toBe('bad');
    expect(error.cause).toBe(reason);
  });

  it('fails the run with step_failed when a step’s Observable errors', () => {
    const ts = newScheduler();
    const reason = new Error('stream broke');
    let seen: ReturnType<typeof watchResult> | undefined;
    ts.run(({ cold }) => {
      const wf = workflow('observable-errors', { scheduler: ts }).step('bad', { accepts: [StartEvent] }, () =>
        cold('--#', {}, reason),
      );
      seen = watchResult(ts, wf.run());
    });
    expect(seen?.frame).toBe(2);
    expect(seen?.error).toMatchObject({ code: 'step_failed', step: 'bad', cause: reason });
  });

  it('fails with a step’s thrown WorkflowError as the cause of step_failed', async () => {
    const wf = workflow('throws-workflow-error').step('bad', { accepts: [StartEvent] }, () => {
      throw new WorkflowError('not_found', 'no such customer');
    });
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect(error.code).toBe('step_failed');
    expect(error.step).toBe('bad');
    expect(error.cause).toMatchObject({ code: 'not_found' });
  });

  it('fails invalid_event when a step builds a bad payload with EventType.of, as for a returned literal (issue 20)', async () => {
    const Strict = event('Strict', z.object({ n: z.number() }));
    const wf = workflow('bad-of').step('bad', { accepts: [StartEvent] }, () => Strict.of({ n: 'not a number' as unknown as number }));
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect(error.code).toBe('invalid_event');
    expect(error.message).toContain("invalid data for event 'Strict'");
  });

  it('reports only the first error when several steps fail at once', async () => {
    const first = new Error('first');
    const wf = workflow('two-failures')
      .step('a', { accepts: [StartEvent] }, () => {
        throw first;
      })
      .step('b', { accepts: [StartEvent] }, () => {
        throw new Error('second');
      });
    const run = wf.run();
    const error = (await run.result.catch((e: unknown) => e)) as WorkflowError;
    expect(error.step).toBe('a');
    expect(error.cause).toBe(first);
    const events = await historyOf(run);
    expect(terminalKinds(events)).toEqual(['run_failed']);
    expect(events.at(-1)).toMatchObject({ kind: 'run_failed', error: { step: 'a' } });
  });

  it('reports only the first error when a second step fails later', () => {
    const ts = newScheduler();
    let seen: ReturnType<typeof watchResult> | undefined;
    let events: RunEvent[] = [];
    ts.run(({ cold }) => {
      const wf = workflow('later-failure', { scheduler: ts })
        .step('early', { accepts: [StartEvent] }, () => cold('--#', {}, new Error('early')))
        .step('late', { accepts: [StartEvent] }, () => cold('-----#', {}, new Error('late')));
      const run = wf.run();
      run.events$.subscribe((e) => events.push(e));
      seen = watchResult(ts, run);
    });
    expect(seen?.frame).toBe(2);
    expect(seen?.error).toMatchObject({ code: 'step_failed', step: 'early' });
    expect(terminalKinds(events)).toEqual(['run_failed']);
    expect(events.filter((e) => e.kind === 'step_failed').map((e) => (e as { step: string }).step)).toEqual(['early']);
  });

  it('aborts the ctx.signal of other in-flight steps when a step fails', async () => {
    let slow: StepContext | undefined;
    const wf = workflow('fail-aborts')
      .step('slow', { accepts: [StartEvent] }, (_ev, ctx) => {
        slow = ctx;
        return forever();
      })
      .step('bad', { accepts: [StartEvent] }, () => {
        throw new Error('x');
      });
    await expect(wf.run().result).rejects.toMatchObject({ code: 'step_failed' });
    expect(slow?.signal.aborted).toBe(true);
  });

  it('errors result$ with the WorkflowError', () => {
    const ts = newScheduler();
    let seen: ReturnType<typeof watchResult> | undefined;
    ts.run(({ cold }) => {
      const wf = workflow('result$-error', { scheduler: ts }).step('bad', { accepts: [StartEvent] }, () =>
        cold('---#', {}, 'x'),
      );
      seen = watchResult(ts, wf.run());
    });
    expect(seen?.frame).toBe(3);
    expect(seen?.error).toBeInstanceOf(WorkflowError);
    expect(seen?.value).toBeUndefined();
  });
});

describe('timeouts', () => {
  it('fails a step that runs past its timeout with step_timeout', () => {
    const ts = newScheduler();
    let seen: ReturnType<typeof watchResult> | undefined;
    let signal: AbortSignal | undefined;
    let run: RunHandle<unknown> | undefined;
    const events: RunEvent[] = [];
    ts.run(({ cold }) => {
      const wf = workflow('step-timeout', { scheduler: ts }).step('slow', { accepts: [StartEvent], timeout: 3 }, (_ev, ctx) => {
        signal = ctx.signal;
        return cold('-----(a|)', { a: StopEvent.of({ result: 'late' }) });
      });
      run = wf.run();
      run.events$.subscribe((e) => events.push(e));
      seen = watchResult(ts, run);
    });
    expect(seen?.frame).toBe(3);
    expect(seen?.error).toBeInstanceOf(WorkflowError);
    expect(seen?.error).toMatchObject({ code: 'step_timeout', step: 'slow' });
    expect(run?.status).toBe('failed');
    expect(signal?.aborted).toBe(true);
    expect(events.filter((e) => e.kind === 'step_failed')).toEqual([
      expect.objectContaining({ step: 'slow', type: 'StartEvent', error: expect.objectContaining({ code: 'step_timeout' }) }),
    ]);
  });

  it('times the run out with timeout, status timed_out and a run_timed_out event', () => {
    const ts = newScheduler();
    let seen: ReturnType<typeof watchResult> | undefined;
    let signal: AbortSignal | undefined;
    let run: RunHandle<unknown> | undefined;
    const events: RunEvent[] = [];
    ts.run(() => {
      const wf = workflow('wf-timeout', { scheduler: ts, timeout: 10 }).step('forever', { accepts: [StartEvent] }, (_ev, ctx) => {
        signal = ctx.signal;
        return never();
      });
      run = wf.run();
      run.events$.subscribe((e) => events.push(e));
      seen = watchResult(ts, run);
    });
    expect(seen?.frame).toBe(10);
    expect(seen?.error).toMatchObject({ code: 'timeout' });
    expect(run?.status).toBe('timed_out');
    expect(events.at(-1)).toMatchObject({ kind: 'run_timed_out', at: 10, error: { code: 'timeout' } });
    expect(signal?.aborted).toBe(true);
  });

  it('times out after 300 000 ms by default', () => {
    const ts = newScheduler();
    const statusAt: Record<number, string> = {};
    let seen: ReturnType<typeof watchResult> | undefined;
    ts.run(() => {
      const wf = workflow('default-timeout', { scheduler: ts }).step('forever', { accepts: [StartEvent] }, () => never());
      const run = wf.run();
      seen = watchResult(ts, run);
      ts.schedule(() => (statusAt[299_999] = run.status), 299_999);
    });
    expect(statusAt[299_999]).toBe('running');
    expect(seen?.frame).toBe(300_000);
    expect(seen?.error).toMatchObject({ code: 'timeout' });
  });

  it('never times out with timeout: null', () => {
    const ts = newScheduler();
    let run: RunHandle<unknown> | undefined;
    ts.run(() => {
      const wf = workflow('no-timeout', { scheduler: ts, timeout: null }).step('forever', { accepts: [StartEvent] }, () => never());
      run = wf.run();
      ts.schedule(() => undefined, 10_000_000);
    });
    expect(run?.status).toBe('running');
    run?.abort();
  });
});

describe('outcomes due in the same instant', () => {
  it.each([
    ['the stopping step first', ['stopper', 'breaker']],
    ['the failing step first', ['breaker', 'stopper']],
  ])('prefers a step error over a stop (registered %s)', (_label, order) => {
    const ts = newScheduler();
    let seen: ReturnType<typeof watchResult> | undefined;
    ts.run(({ cold }) => {
      let wf = workflow('error-beats-stop', { scheduler: ts });
      for (const name of order) {
        wf =
          name === 'stopper'
            ? wf.step('stopper', { accepts: [StartEvent] }, () => cold('--a|', { a: StopEvent.of({ result: 'stop' }) }))
            : wf.step('breaker', { accepts: [StartEvent] }, () => cold('--#', {}, new Error('break')));
      }
      seen = watchResult(ts, wf.run());
    });
    expect(seen?.frame).toBe(2);
    expect(seen?.error).toMatchObject({ code: 'step_failed', step: 'breaker' });
    expect(seen?.value).toBeUndefined();
  });

  it('prefers a stop over the workflow timeout', () => {
    const ts = newScheduler();
    let seen: ReturnType<typeof watchResult> | undefined;
    let run: RunHandle<unknown> | undefined;
    ts.run(({ cold }) => {
      const wf = workflow('stop-beats-timeout', { scheduler: ts, timeout: 2 }).step('s', { accepts: [StartEvent] }, () =>
        cold('--a|', { a: StopEvent.of({ result: 'in time' }) }),
      );
      run = wf.run();
      seen = watchResult(ts, run);
    });
    expect(seen).toMatchObject({ frame: 2, value: 'in time', completed: true });
    expect(run?.status).toBe('completed');
  });

  it('prefers a step error over the workflow timeout', () => {
    const ts = newScheduler();
    let seen: ReturnType<typeof watchResult> | undefined;
    ts.run(({ cold }) => {
      const wf = workflow('error-beats-timeout', { scheduler: ts, timeout: 2 }).step('bad', { accepts: [StartEvent] }, () =>
        cold('--#', {}, new Error('x')),
      );
      seen = watchResult(ts, wf.run());
    });
    expect(seen?.frame).toBe(2);
    expect(seen?.error).toMatchObject({ code: 'step_failed', step: 'bad' });
  });
});

describe('abort', () => {
  it('ends the run aborted at once, with the reason in details.reason', async () => {
    let signal: AbortSignal | undefined;
    const wf = workflow('abort').step('forever', { accepts: [StartEvent] }, (_ev, ctx) => {
      signal = ctx.signal;
      return forever();
    });
    const run = wf.run();
    const started = new Promise<void>((resolve) =>
      run.events$.subscribe((e) => {
        if (e.kind === 'step_started') resolve();
      }),
    );
    await started;
    run.abort({ why: 'user' });
    expect(run.status).toBe('aborted');
    const error = (await run.result.catch((e: unknown) => e)) as WorkflowError;
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error.code).toBe('aborted');
    expect(error.details?.['reason']).toEqual({ why: 'user' });
    expect(signal?.aborted).toBe(true);
    const events = await historyOf(run);
    expect(events.at(-1)).toMatchObject({ kind: 'run_aborted', error: { code: 'aborted' } });
  });

  it('is idempotent: a second abort changes nothing', async () => {
    const wf = workflow('abort-twice').step('forever', { accepts: [StartEvent] }, () => forever());
    const run = wf.run();
    run.abort('first');
    run.abort('second');
    const error = (await run.result.catch((e: unknown) => e)) as WorkflowError;
    expect(error.details?.['reason']).toBe('first');
    expect(terminalKinds(await historyOf(run))).toEqual(['run_aborted']);
  });

  it('does nothing after the run completed', async () => {
    const wf = workflow('abort-after-stop').step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: 1 }));
    const run = wf.run();
    await run.result;
    run.abort('too late');
    expect(run.status).toBe('completed');
    await expect(run.result).resolves.toBe(1);
    expect(terminalKinds(await historyOf(run))).toEqual(['run_completed']);
  });

  it('does nothing after the run failed', async () => {
    const wf = workflow('abort-after-failure').step('s', { accepts: [StartEvent] }, () => {
      throw new Error('x');
    });
    const run = wf.run();
    await run.result.catch(() => undefined);
    run.abort('too late');
    expect(run.status).toBe('failed');
    await expect(run.result).rejects.toMatchObject({ code: 'step_failed' });
    expect(terminalKinds(await historyOf(run))).toEqual(['run_failed']);
  });

  it('does nothing once a stop has been routed earlier in the same instant', () => {
    const ts = newScheduler();
    let seen: ReturnType<typeof watchResult> | undefined;
    let run: RunHandle<unknown> | undefined;
    const events: RunEvent[] = [];
    ts.run(({ cold }) => {
      const wf = workflow('abort-after-decided', { scheduler: ts }).step('s', { accepts: [StartEvent] }, () =>
        cold('--a|', { a: StopEvent.of({ result: 'kept' }) }),
      );
      const r = wf.run();
      run = r;
      r.events$.subscribe((e) => {
        events.push(e);
        // Abort later in the frame in which the StopEvent was routed.
        if (e.kind === 'event_routed' && e.event.type === 'StopEvent') ts.schedule(() => r.abort('same frame'), 0);
      });
      seen = watchResult(ts, r);
    });
    expect(seen).toMatchObject({ frame: 2, value: 'kept', completed: true });
    expect(run?.status).toBe('completed');
    expect(terminalKinds(events)).toEqual(['run_completed']);
  });

  it('wins over a stop due later in the same instant', () => {
    const ts = newScheduler();
    let seen: ReturnType<typeof watchResult> | undefined;
    ts.run(({ cold }) => {
      const wf = workflow('abort-before-stop', { scheduler: ts }).step('s', { accepts: [StartEvent] }, () =>
        cold('--a|', { a: StopEvent.of({ result: 'too late' }) }),
      );
      // Scheduled before the step's marble, so it runs first in frame 2.
      const r = wf.run();
      ts.schedule(() => r.abort('first in frame'), 2);
      seen = watchResult(ts, r);
    });
    expect(seen?.frame).toBe(2);
    expect(seen?.error).toMatchObject({ code: 'aborted', details: { reason: 'first in frame' } });
  });

  it('is not starved by a step that keeps the queue busy', async () => {
    const Tick = event('Tick', z.number());
    const LIMIT = 20_000;
    let ticks = 0;
    const wf = workflow('busy-queue').step('loop', { accepts: [StartEvent, Tick] }, () => {
      ticks++;
      return ticks < LIMIT ? Tick.of(ticks) : StopEvent.of({ result: 'ran to the end' });
    });
    const run = wf.run();
    // A user action arriving from the event loop while the chain of synchronous steps is running.
    setImmediate(() => run.abort('user'));
    const outcome = await run.result.then(
      (value) => ({ value }),
      (error: WorkflowError) => ({ code: error.code }),
    );
    expect(outcome).toEqual({ code: 'aborted' });
    expect(ticks).toBeLessThan(LIMIT);
  });

  it('takes effect before any dispatch when called right after run()', async () => {
    let called = false;
    const wf = workflow('abort-before-start').step('s', { accepts: [StartEvent] }, () => {
      called = true;
      return StopEvent.of({ result: 1 });
    });
    const run = wf.run();
    run.abort();
    await expect(run.result).rejects.toMatchObject({ code: 'aborted' });
    expect(called).toBe(false);
    expect(run.status).toBe('aborted');
  });

  it('ignores a later event sent by an aborted step', async () => {
    let ctxOfStep: StepContext | undefined;
    const wf = workflow('send-after-abort').step('s', { accepts: [StartEvent, Ping] }, (_ev, ctx) => {
      ctxOfStep = ctx;
      return forever();
    });
    const run = wf.run();
    await new Promise<void>((resolve) => run.events$.subscribe((e) => e.kind === 'step_started' && resolve()));
    run.abort();
    const before = (await historyOf(run)).length;
    expect(() => ctxOfStep?.send(Ping.of(1))).not.toThrow();
    expect((await historyOf(run)).length).toBe(before);
  });
});
