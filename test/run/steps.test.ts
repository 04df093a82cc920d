import { asyncScheduler, bufferCount, filter, finalize, firstValueFrom, map, of, take, toArray, type SchedulerLike } from 'rxjs';
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
  type RunEventOf,
  type RunHandle,
  type WorkflowEvent,
} from 'sluice';

// DESIGN §2 "Workflow" (handler results, concurrency, retry), §5 "Retry", "Field details", RunEvent fields.

const Item = event('Item', z.object({ n: z.number() }));
const Done = event('Done', z.object({ n: z.number() }));

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const historyOf = (run: RunHandle<unknown>): Promise<RunEvent[]> => firstValueFrom(run.events$.pipe(toArray()));
const ofKind = <K extends RunEvent['kind']>(events: RunEvent[], kind: K): RunEventOf<K>[] =>
  events.filter((e): e is RunEventOf<K> => e.kind === kind);
const routedTypes = (events: RunEvent[]) => ofKind(events, 'event_routed').map((e) => e.event.type);

/** Run `build(cold)` under a TestScheduler and return the run's RunEvents and how result$ ended. */
function virtual(build: (helpers: { cold: TestScheduler['createColdObservable']; ts: TestScheduler }) => RunHandle<unknown>) {
  const ts = newScheduler();
  const events: RunEvent[] = [];
  const outcome: { frame?: number; value?: unknown; error?: unknown } = {};
  ts.run(({ cold }) => {
    const run = build({ cold: cold as TestScheduler['createColdObservable'], ts });
    run.events$.subscribe((e) => events.push(e));
    run.result$.subscribe({
      next: (value) => Object.assign(outcome, { frame: ts.now(), value }),
      error: (error: unknown) => Object.assign(outcome, { frame: ts.now(), error }),
    });
  });
  return { events, outcome };
}

describe('what a handler may return', () => {
  it('routes every event of a returned array, in order', async () => {
    const seen: number[] = [];
    const wf = workflow('array')
      .step('emit', { accepts: [StartEvent] }, () => [Item.of({ n: 1 }), Item.of({ n: 2 }), Item.of({ n: 3 })])
      .step('take', { accepts: [Item] }, (ev) => {
        seen.push(ev.data.n);
        return ev.data.n === 3 ? StopEvent.of({ result: seen.slice() }) : undefined;
      });
    const run = wf.run();
    await expect(run.result).resolves.toEqual([1, 2, 3]);
    expect(routedTypes(await historyOf(run))).toEqual(['StartEvent', 'Item', 'Item', 'Item', 'StopEvent']);
  });

  it('routes nothing for a handler returning nothing, and still completes the step', async () => {
    const wf = workflow('nothing')
      .step('quiet', { accepts: [StartEvent] }, () => undefined)
      .step('empty', { accepts: [StartEvent] }, () => [])
      .step('stop', { accepts: [StartEvent] }, async () => {
        await Promise.resolve();
        return StopEvent.of({ result: 'ok' });
      });
    const run = wf.run();
    await expect(run.result).resolves.toBe('ok');
    const events = await historyOf(run);
    expect(routedTypes(events)).toEqual(['StartEvent', 'StopEvent']);
    expect(ofKind(events, 'event_routed')[1]).toMatchObject({ source: 'stop' });
    expect(ofKind(events, 'step_completed').map((e) => e.step)).toEqual(['quiet', 'empty', 'stop']);
  });

  it('routes what a Promise resolves with', async () => {
    const wf = workflow('promise')
      .step('emit', { accepts: [StartEvent] }, async (ev) => Item.of({ n: Number(ev.data) }))
      .step('double', { accepts: [Item] }, async (ev) => [StopEvent.of({ result: ev.data.n * 2 })]);
    await expect(wf.run(21).result).resolves.toBe(42);
  });

  it('routes each emission of a returned Observable as it comes', () => {
    const seenAt: [number, number][] = [];
    const { events, outcome } = virtual(({ cold, ts }) =>
      workflow('observable', { scheduler: ts })
        .step('stream', { accepts: [StartEvent] }, () =>
          cold('-a--b--c|', { a: Item.of({ n: 1 }), b: Item.of({ n: 2 }), c: StopEvent.of({ result: 'end' }) }),
        )
        .step('take', { accepts: [Item] }, (ev) => {
          seenAt.push([ev.data.n, ts.now()]);
        })
        .run(),
    );
    expect(seenAt).toEqual([
      [1, 1],
      [2, 4],
    ]);
    expect(ofKind(events, 'event_routed').map((e) => [e.event.type, e.at])).toEqual([
      ['StartEvent', 0],
      ['Item', 1],
      ['Item', 4],
      ['StopEvent', 7],
    ]);
    expect(outcome).toMatchObject({ frame: 7, value: 'end' });
  });

  it('keeps a step returning an Observable in flight until it completes', () => {
    const { events } = virtual(({ cold, ts }) =>
      workflow('observable-in-flight', { scheduler: ts })
        .step('stream', { accepts: [StartEvent] }, () => cold('-a---|', { a: Item.of({ n: 1 }) }))
        .step('take', { accepts: [Item] }, () => cold('--------(a|)', { a: StopEvent.of({ result: 1 }) }))
        .run(),
    );
    const completed = ofKind(events, 'step_completed');
    expect(completed.map((e) => [e.step, e.at, e.durationMs])).toEqual([
      ['stream', 5, 5],
      ['take', 9, 8],
    ]);
  });

  it('routes a synchronous Observable’s emissions too', async () => {
    const wf = workflow('sync-observable')
      .step('emit', { accepts: [StartEvent] }, () => of(Item.of({ n: 1 }), Item.of({ n: 2 })))
      .step('join', { accepts: [Item], collects: [Item] }, (_ev, ctx) => {
        const both = ctx.collect(Item, 2);
        return both && StopEvent.of({ result: both.map((i) => i.data.n) });
      });
    await expect(wf.run().result).resolves.toEqual([1, 2]);
  });
});

describe('step RunEvents', () => {
  it('carries step, invocationId and the event type on step_started and step_completed, with durationMs', () => {
    const { events } = virtual(({ cold, ts }) =>
      workflow('step-events', { scheduler: ts })
        .step('work', { accepts: [StartEvent] }, () => cold('---(a|)', { a: StopEvent.of({ result: 1 }) }))
        .run(),
    );
    const started = ofKind(events, 'step_started');
    const completed = ofKind(events, 'step_completed');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ kind: 'step_started', step: 'work', type: 'StartEvent', at: 0 });
    expect(typeof started[0]?.invocationId).toBe('string');
    expect(completed).toEqual([
      expect.objectContaining({
        kind: 'step_completed',
        step: 'work',
        type: 'StartEvent',
        invocationId: started[0]?.invocationId,
        durationMs: 3,
        at: 3,
      }),
    ]);
  });

  it('times a synchronous step by the clock, when an earlier step\'s output started it', async () => {
    // A clock only the steps move: `slow` takes 100 ms of it, synchronously, inside the cascade `fast`'s output starts.
    let t = 1_000;
    const scheduler = Object.assign(Object.create(asyncScheduler) as SchedulerLike, { now: () => t });
    const wf = workflow('sync-clock', { scheduler, timeout: null })
      .step('fast', { accepts: [StartEvent] }, async () => Item.of({ n: 1 }))
      .step('slow', { accepts: [Item] }, () => {
        t += 100;
        return Done.of({ n: 1 });
      })
      .step('last', { accepts: [Done] }, () => StopEvent.of({ result: null }));
    const run = wf.run();
    await run.result;
    const events = await historyOf(run);
    const started = (step: string) => ofKind(events, 'step_started').find((e) => e.step === step);
    const completed = ofKind(events, 'step_completed').find((e) => e.step === 'slow');
    expect([started('slow')?.at, completed?.at, completed?.durationMs]).toEqual([1_000, 1_100, 100]);
    expect(started('last')?.at).toBe(1_100);
  });

  it('gives each step receiving one event its own invocationId', async () => {
    const ids: string[] = [];
    const wf = workflow('invocation-ids')
      .step('a', { accepts: [StartEvent] }, (_ev, ctx) => {
        ids.push(ctx.invocationId);
      })
      .step('b', { accepts: [StartEvent] }, (_ev, ctx) => {
        ids.push(ctx.invocationId);
        return [Item.of({ n: 1 }), Item.of({ n: 2 })];
      })
      .step('c', { accepts: [Item] }, (ev, ctx) => {
        ids.push(ctx.invocationId);
        return ev.data.n === 2 ? StopEvent.of({ result: null }) : undefined;
      });
    const run = wf.run();
    await run.result;
    expect(new Set(ids).size).toBe(4);
    const started = ofKind(await historyOf(run), 'step_started');
    expect(started.map((e) => e.invocationId)).toEqual(ids);
  });
});

describe('concurrency', () => {
  it('never runs more invocations of a step at once than its limit', () => {
    let active = 0;
    let most = 0;
    const { events, outcome } = virtual(({ cold, ts }) =>
      workflow('limited', { scheduler: ts })
        .step('emit', { accepts: [StartEvent] }, () => [1, 2, 3, 4, 5].map((n) => Item.of({ n })))
        .step('work', { accepts: [Item], concurrency: 2 }, (ev) => {
          active++;
          most = Math.max(most, active);
          return cold('---(a|)', { a: Done.of({ n: ev.data.n }) }).pipe(finalize(() => active--));
        })
        .step('join', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
          const all = ctx.collect(Done, 5);
          return all && StopEvent.of({ result: all.map((d) => d.data.n) });
        })
        .run(),
    );
    expect(most).toBe(2);
    const started = ofKind(events, 'step_started').filter((e) => e.step === 'work');
    expect(started.map((e) => e.at)).toEqual([0, 0, 3, 3, 6]);
    expect(outcome).toMatchObject({ frame: 9, value: [1, 2, 3, 4, 5] });
  });

  it('starts held-back invocations in arrival order', () => {
    const order: number[] = [];
    virtual(({ cold, ts }) =>
      workflow('fifo', { scheduler: ts })
        .step('emit', { accepts: [StartEvent] }, () => [1, 2, 3, 4].map((n) => Item.of({ n })))
        .step('work', { accepts: [Item], concurrency: 1 }, (ev) => {
          order.push(ev.data.n);
          return cold('-(a|)', { a: Done.of({ n: ev.data.n }) });
        })
        .step('join', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
          const all = ctx.collect(Done, 4);
          return all && StopEvent.of({ result: null });
        })
        .run(),
    );
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it('runs every invocation at once by default', () => {
    let active = 0;
    let most = 0;
    const { events } = virtual(({ cold, ts }) =>
      workflow('unlimited', { scheduler: ts })
        .step('emit', { accepts: [StartEvent] }, () => [1, 2, 3, 4, 5].map((n) => Item.of({ n })))
        .step('work', { accepts: [Item] }, (ev) => {
          active++;
          most = Math.max(most, active);
          return cold('---(a|)', { a: Done.of({ n: ev.data.n }) }).pipe(finalize(() => active--));
        })
        .step('join', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
          const all = ctx.collect(Done, 5);
          return all && StopEvent.of({ result: null });
        })
        .run(),
    );
    expect(most).toBe(5);
    expect(ofKind(events, 'step_started').filter((e) => e.step === 'work').map((e) => e.at)).toEqual([0, 0, 0, 0, 0]);
  });

  it('limits each step separately', () => {
    const startedAt: Record<string, number[]> = { slow: [], fast: [] };
    virtual(({ cold, ts }) =>
      workflow('per-step', { scheduler: ts })
        .step('emit', { accepts: [StartEvent] }, () => [1, 2, 3].map((n) => Item.of({ n })))
        .step('slow', { accepts: [Item], concurrency: 1 }, () => {
          startedAt['slow']?.push(ts.now());
          return cold('--|');
        })
        .step('fast', { accepts: [Item], concurrency: 3 }, (ev) => {
          startedAt['fast']?.push(ts.now());
          return ev.data.n === 3 ? cold('-------(a|)', { a: StopEvent.of({ result: null }) }) : cold('--|');
        })
        .run(),
    );
    expect(startedAt).toEqual({ slow: [0, 2, 4], fast: [0, 0, 0] });
  });

  it('shares one limit across all the types a step accepts', () => {
    const startedAt: [string, number][] = [];
    virtual(({ cold, ts }) =>
      workflow('limit-across-types', { scheduler: ts })
        .step('emit', { accepts: [StartEvent] }, () => [Item.of({ n: 1 }), Done.of({ n: 2 })])
        .step('both', { accepts: [Item, Done], concurrency: 1 }, (ev) => {
          startedAt.push([ev.type, ts.now()]);
          return ev.type === 'Done' ? cold('---(a|)', { a: StopEvent.of({ result: null }) }) : cold('---|');
        })
        .run(),
    );
    expect(startedAt).toEqual([
      ['Item', 0],
      ['Done', 3],
    ]);
  });

  it('honours the limit with handlers returning Promises resolved by hand', async () => {
    const resolvers: (() => void)[] = [];
    let active = 0;
    let most = 0;
    const wf = workflow('limited-promises')
      .step('emit', { accepts: [StartEvent] }, () => [1, 2, 3].map((n) => Item.of({ n })))
      .step('work', { accepts: [Item], concurrency: 1 }, (ev) => {
        active++;
        most = Math.max(most, active);
        return new Promise<WorkflowEvent>((resolve) =>
          resolvers.push(() => {
            active--;
            resolve(Done.of({ n: ev.data.n }));
          }),
        );
      })
      .step('join', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
        const all = ctx.collect(Done, 3);
        return all && StopEvent.of({ result: all.map((d) => d.data.n) });
      });
    const run = wf.run();
    const startedCount = (n: number) =>
      firstValueFrom(
        run.events$.pipe(
          filter((e) => e.kind === 'step_started' && e.step === 'work'),
          take(n),
          toArray(),
        ),
      );
    for (let n = 1; n <= 3; n++) {
      await startedCount(n);
      expect(resolvers).toHaveLength(n);
      resolvers[n - 1]?.();
    }
    await expect(run.result).resolves.toEqual([1, 2, 3]);
    expect(most).toBe(1);
  });
});

describe('retry', () => {
  it('re-runs a failing handler with ctx.attempt 1, 2, 3 and the same invocationId, then succeeds', () => {
    const attempts: [number, string, number][] = [];
    const { events, outcome } = virtual(({ cold, ts }) =>
      workflow('retry', { scheduler: ts })
        .step('flaky', { accepts: [StartEvent], retry: { retries: 3, delay: 10 } }, (_ev, ctx) => {
          attempts.push([ctx.attempt, ctx.invocationId, ts.now()]);
          return ctx.attempt < 3 ? cold('-#', {}, new Error(`attempt ${ctx.attempt}`)) : cold('-(a|)', { a: StopEvent.of({ result: 'third time' }) });
        })
        .run(),
    );
    expect(attempts.map(([a]) => a)).toEqual([1, 2, 3]);
    expect(new Set(attempts.map(([, id]) => id)).size).toBe(1);
    expect(attempts.map(([, , at]) => at)).toEqual([0, 11, 22]);
    expect(outcome).toMatchObject({ frame: 23, value: 'third time' });

    const invocationId = attempts[0]?.[1];
    expect(ofKind(events, 'step_retried')).toEqual([
      expect.objectContaining({ step: 'flaky', invocationId, type: 'StartEvent', attempt: 1, error: expect.objectContaining({ message: expect.stringContaining('attempt 1') }) }),
      expect.objectContaining({ step: 'flaky', invocationId, type: 'StartEvent', attempt: 2, error: expect.objectContaining({ message: expect.stringContaining('attempt 2') }) }),
    ]);
    for (const retried of ofKind(events, 'step_retried')) {
      expect(typeof retried.error.code).toBe('string');
    }
    expect(ofKind(events, 'step_started').map((e) => [e.attempt, e.invocationId])).toEqual([
      [1, invocationId],
      [2, invocationId],
      [3, invocationId],
    ]);
    expect(ofKind(events, 'step_failed')).toEqual([]);
    expect(ofKind(events, 'step_completed').map((e) => e.invocationId)).toEqual([invocationId]);
  });

  it('fails with step_failed once the retries are used up, caused by the last error', () => {
    const errors = [new Error('one'), new Error('two'), new Error('three')];
    const { events, outcome } = virtual(({ cold, ts }) =>
      workflow('retries-exhausted', { scheduler: ts })
        .step('broken', { accepts: [StartEvent], retry: { retries: 2 } }, (_ev, ctx) =>
          cold('-#', {}, errors[ctx.attempt - 1]),
        )
        .run(),
    );
    expect(outcome.frame).toBe(3);
    expect(outcome.error).toBeInstanceOf(WorkflowError);
    expect(outcome.error).toMatchObject({ code: 'step_failed', step: 'broken' });
    expect((outcome.error as WorkflowError).cause).toBe(errors[2]);
    expect(ofKind(events, 'step_retried').map((e) => e.attempt)).toEqual([1, 2]);
    expect(ofKind(events, 'step_failed')).toHaveLength(1);
  });

  it('retries a handler that throws synchronously', async () => {
    const wf = workflow('retry-sync').step('flaky', { accepts: [StartEvent], retry: { retries: 1 } }, (_ev, ctx) => {
      if (ctx.attempt === 1) throw new Error('first');
      return StopEvent.of({ result: ctx.attempt });
    });
    await expect(wf.run().result).resolves.toBe(2);
  });

  it('never retries without a retry policy', async () => {
    let calls = 0;
    const wf = workflow('no-retry').step('once', { accepts: [StartEvent] }, () => {
      calls++;
      throw new Error('x');
    });
    const run = wf.run();
    await expect(run.result).rejects.toMatchObject({ code: 'step_failed' });
    expect(calls).toBe(1);
    expect(ofKind(await historyOf(run), 'step_retried')).toEqual([]);
  });

  it('doubles the delay with exponential backoff', () => {
    const startedAt: number[] = [];
    const { outcome } = virtual(({ cold, ts }) =>
      workflow('exponential', { scheduler: ts })
        .step('broken', { accepts: [StartEvent], retry: { retries: 3, delay: 10, backoff: 'exponential' } }, () => {
          startedAt.push(ts.now());
          return cold('#');
        })
        .run(),
    );
    expect(startedAt).toEqual([0, 10, 30, 70]);
    expect(outcome).toMatchObject({ frame: 70, error: { code: 'step_failed' } });
  });

  it('caps exponential backoff at maxDelay', () => {
    const startedAt: number[] = [];
    virtual(({ cold, ts }) =>
      workflow('capped', { scheduler: ts })
        .step('broken', { accepts: [StartEvent], retry: { retries: 4, delay: 10, backoff: 'exponential', maxDelay: 15 } }, () => {
          startedAt.push(ts.now());
          return cold('#');
        })
        .run(),
    );
    expect(startedAt).toEqual([0, 10, 25, 40, 55]);
  });

  it('applies the step timeout per attempt', () => {
    const { outcome } = virtual(({ cold, ts }) =>
      workflow('timeout-per-attempt', { scheduler: ts })
        .step('slowish', { accepts: [StartEvent], timeout: 5, retry: { retries: 1 } }, (_ev, ctx) =>
          ctx.attempt === 1 ? cold('----#') : cold('----(a|)', { a: StopEvent.of({ result: ctx.attempt }) }),
        )
        .run(),
    );
    expect(outcome).toMatchObject({ frame: 8, value: 2 });
  });

  it('retries a timed-out attempt like a failed one', () => {
    const signals: AbortSignal[] = [];
    const { events, outcome } = virtual(({ cold, ts }) =>
      workflow('timeout-retried', { scheduler: ts })
        .step('hangs', { accepts: [StartEvent], timeout: 5, retry: { retries: 1 } }, (_ev, ctx) => {
          signals.push(ctx.signal);
          return ctx.attempt === 1 ? cold('-') : cold('-(a|)', { a: StopEvent.of({ result: 'second' }) });
        })
        .run(),
    );
    expect(outcome).toMatchObject({ frame: 6, value: 'second' });
    expect(ofKind(events, 'step_retried')).toEqual([
      expect.objectContaining({ step: 'hangs', attempt: 1, error: expect.objectContaining({ code: 'step_timeout' }) }),
    ]);
    expect(signals[0]?.aborted).toBe(true);
  });

  it('fails with step_timeout when the last attempt times out', () => {
    const { outcome } = virtual(({ cold, ts }) =>
      workflow('timeout-exhausted', { scheduler: ts })
        .step('hangs', { accepts: [StartEvent], timeout: 5, retry: { retries: 1 } }, () => cold('-'))
        .run(),
    );
    expect(outcome).toMatchObject({ frame: 10, error: { code: 'step_timeout', step: 'hangs' } });
  });
});

describe('pipe steps', () => {
  it('hands the operator every accepted event of the run as one stream', () => {
    const { outcome } = virtual(({ cold, ts }) =>
      workflow('pipe-stream', { scheduler: ts })
        .step('emit', { accepts: [StartEvent] }, () =>
          cold('-a-b-c|', { a: Item.of({ n: 1 }), b: Item.of({ n: 2 }), c: Item.of({ n: 3 }) }),
        )
        .pipe('sum', { accepts: [Item] }, (items$) =>
          items$.pipe(
            bufferCount(3),
            map((batch) => StopEvent.of({ result: batch.reduce((total, i) => total + i.data.n, 0) })),
          ),
        )
        .run(),
    );
    expect(outcome).toMatchObject({ frame: 5, value: 6 });
  });

  it('fails the run with step_failed naming the pipe step when its operator errors', () => {
    const reason = new Error('pipe broke');
    const { outcome } = virtual(({ ts }) =>
      workflow('pipe-error', { scheduler: ts })
        .step('emit', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
        .pipe('bad', { accepts: [Item] }, (items$) =>
          items$.pipe(
            map(() => {
              throw reason;
            }),
          ),
        )
        .run(),
    );
    expect(outcome.frame).toBe(0);
    expect(outcome.error).toMatchObject({ code: 'step_failed', step: 'bad', cause: reason });
  });

  it('checks a pipe step’s outputs against its emits', async () => {
    const Other = event('Other');
    const wf = workflow('pipe-emits')
      .step('emit', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
      .pipe('p', { accepts: [Item], emits: [Done] }, (items$) => items$.pipe(map(() => Other.of(null))))
      .step('other', { accepts: [Other] }, () => StopEvent.of({}));
    await expect(wf.run().result).rejects.toMatchObject({ code: 'invalid_event', step: 'p' });
  });
});
