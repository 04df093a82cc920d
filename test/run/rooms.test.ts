import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, InputRequestEvent, StartEvent, StopEvent, workflow, WorkflowError, type Envelope } from 'sluice';
import { DispatchQueue } from '../../src/run/dispatchQueue.js';
import { Handle } from '../../src/run/handle.js';
import { OutcomeRace } from '../../src/run/outcome.js';
import type { Outcome } from '../../src/run/reducer.js';
import { addressTo, route } from '../../src/run/route.js';
import { macrotaskScheduler, yieldScheduler, zeroDelayScheduler } from '../../src/run/schedulers.js';
import { compile } from '../../src/workflow/spec.js';

// The rooms of the run loop (issue 15), each on its own.

const Ping = event('Ping', z.object({ n: z.number() }));
const wf = workflow('rooms')
  .step('a', { accepts: [StartEvent] }, () => Ping.of({ n: 1 }))
  .step('b', { accepts: [Ping] }, () => undefined)
  .step('c', { accepts: [Ping] }, () => StopEvent.of({ result: 1 }));
const spec = compile(wf.name, wf.options, wf.steps);
const env = (event: Envelope['event'], extra: Partial<Envelope> = {}): Envelope => ({ id: 'e1', event, at: 0, ...extra });

describe('route (pure routing)', () => {
  it('sends an event to every accepting step in registration order, with their names for event_routed', () => {
    const r = route(spec, env(Ping.of({ n: 1 })));
    expect(r.kind).toBe('steps');
    if (r.kind !== 'steps') return;
    expect(r.steps.map((s) => s.name)).toEqual(['b', 'c']);
    expect(r.names).toEqual(['b', 'c']);
  });

  it('answers stop with the StopEvent result, input for an InputRequestEvent, addressed for an envelope with `to`', () => {
    expect(route(spec, env(StopEvent.of({ result: 42 })))).toEqual({ kind: 'stop', result: 42 });
    const ask = InputRequestEvent.of({ requestId: 'r1', prompt: 'ok?' });
    expect(route(spec, env(ask))).toEqual({ kind: 'input', request: ask.data });
    expect(route(spec, env(Ping.of({ n: 1 }), { to: 'b' }))).toEqual({ kind: 'addressed' });
  });

  it('answers no_handler with a coded error naming the type and source', () => {
    const r = route(spec, env({ type: 'Orphan', data: null }, { source: 'a' }));
    expect(r.kind).toBe('no_handler');
    if (r.kind !== 'no_handler') return;
    expect(r.error.code).toBe('no_handler');
    expect(r.error.details).toEqual({ type: 'Orphan', source: 'a' });
  });

  it('addresses a copy with the same id (stable invocation ids), keeping the source', () => {
    const e = env(Ping.of({ n: 1 }), { source: 'a' });
    expect(addressTo(e, 'c')).toEqual({ id: 'e1', event: e.event, source: 'a', at: 0, to: 'c' });
    expect(addressTo(env(Ping.of({ n: 1 })), 'b')).toEqual({ id: 'e1', event: Ping.of({ n: 1 }), at: 0, to: 'b' });
  });
});

describe('DispatchQueue (the trampoline)', () => {
  /** A scheduler that only records what is scheduled, to run it by hand. */
  const manual = () => {
    const work: (() => void)[] = [];
    const scheduler = { now: () => 0, schedule: (w: () => void) => (work.push(w), { unsubscribe: () => work.splice(work.indexOf(w), 1) }) };
    return { scheduler: scheduler as unknown as SchedulerLike, work };
  };

  it('holds everything until start, then dispatches in order without growing the stack', () => {
    const { scheduler } = manual();
    const seen: number[] = [];
    let depth = 0;
    let maxDepth = 0;
    const q: DispatchQueue<number> = new DispatchQueue<number>(
      {
        canDispatch: () => true,
        dispatch: (n) => {
          maxDepth = Math.max(maxDepth, ++depth);
          seen.push(n);
          if (n < 5_000) {
            q.push(n + 1);
            q.drain(); // re-entrant: returns at once
          }
          depth--;
        },
        wake: () => q.drain(),
      },
      scheduler,
      { budget: Number.POSITIVE_INFINITY },
    );
    q.push(1);
    q.drain();
    expect(seen).toEqual([]);
    q.start();
    q.drain();
    expect(seen.length).toBe(5_000);
    expect(seen.slice(0, 3)).toEqual([1, 2, 3]);
    expect(maxDepth).toBe(1);
  });

  it('yields through its scheduler after `budget` dispatches, counted across drains, and continues on wake', () => {
    const { scheduler, work } = manual();
    const seen: number[] = [];
    const q: DispatchQueue<number> = new DispatchQueue<number>({ canDispatch: () => true, dispatch: (n) => seen.push(n), wake: () => q.drain() }, scheduler, { budget: 2 });
    q.start();
    // One envelope per drain, as when steps resolve in microtasks: the budget still runs out.
    q.push(1);
    q.drain();
    q.push(2);
    q.drain();
    q.push(3);
    q.drain();
    expect(seen).toEqual([1, 2]);
    expect(work.length).toBe(1);
    q.push(4);
    q.push(5);
    q.drain(); // while a yield is pending nothing is dispatched, and no second yield is scheduled
    expect(seen).toEqual([1, 2]);
    expect(work.length).toBe(1);
    work.shift()?.();
    expect(seen).toEqual([1, 2, 3, 4]);
    work.shift()?.();
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('yields once its time slice is spent, before the budget', () => {
    const { scheduler, work } = manual();
    let now = 0;
    const seen: number[] = [];
    const q: DispatchQueue<number> = new DispatchQueue<number>(
      { canDispatch: () => true, dispatch: (n) => (seen.push(n), (now += 2)), wake: () => q.drain() },
      scheduler,
      { budget: 1_000, clock: () => now, sliceMs: 5 },
    );
    q.start();
    for (let i = 1; i <= 6; i++) q.push(i);
    q.drain();
    expect(seen).toEqual([1, 2, 3]); // 6 ms spent after three dispatches of 2 ms
    expect(work.length).toBe(1);
    work.shift()?.();
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('stops dispatching while the target says no, and stop() cancels a pending yield', () => {
    const { scheduler, work } = manual();
    let open = false;
    const seen: number[] = [];
    const q: DispatchQueue<number> = new DispatchQueue<number>({ canDispatch: () => open, dispatch: (n) => seen.push(n), wake: () => q.drain() }, scheduler, { budget: 1 });
    q.start();
    q.push(1);
    q.push(2);
    q.drain();
    expect(seen).toEqual([]);
    open = true;
    q.drain();
    expect(seen).toEqual([1]);
    expect(work.length).toBe(1);
    q.stop();
    expect(work.length).toBe(0);
  });
});

describe('schedulers', () => {
  it('are the given scheduler itself under anything but the default one', () => {
    const ts = new TestScheduler(() => {});
    expect(zeroDelayScheduler(ts)).toBe(ts);
    expect(yieldScheduler(ts)).toBe(ts);
    expect(yieldScheduler(asyncScheduler)).toBe(macrotaskScheduler);
  });

  it('yield to the macrotask queue: a timer due now runs before the yielded work', async () => {
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      setTimeout(() => order.push('timer'), 0);
      // Let the timer become due, then schedule: setImmediate runs after the timers phase.
      setTimeout(() => {
        setTimeout(() => order.push('timer2'), 0);
        macrotaskScheduler.schedule(() => {
          order.push('yielded');
          resolve();
        });
        Promise.resolve().then(() => order.push('microtask'));
      }, 0);
    });
    expect(order.slice(0, 3)).toEqual(['timer', 'microtask', 'yielded']);
  });
});

describe('OutcomeRace (the one way a run ends)', () => {
  const failed = (code: 'step_failed' | 'store_failed' = 'step_failed'): Outcome => ({ status: 'failed', error: new WorkflowError(code, code) });
  const timedOut: Outcome = { status: 'timed_out', error: new WorkflowError('timeout', 't') };
  const aborted: Outcome = { status: 'aborted', error: new WorkflowError('aborted', 'a') };
  const stop: Outcome = { status: 'completed', result: 1 };

  it('decides the highest outcome proposed within one frame: error > stop > timeout', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    ts.run(({ flush }) => {
      const order: string[] = [];
      const race = new OutcomeRace(ts, { halt: (o) => order.push(`decided ${o.status}`), announce: (o) => order.push(`ended ${o.status}`) });
      race.decided$.subscribe((o) => order.push(`decided$ ${o.status}`));
      race.propose(timedOut);
      race.propose(stop);
      race.propose(failed());
      race.propose(stop);
      expect(order).toEqual([]);
      flush();
      expect(order).toEqual(['decided failed', 'decided$ failed', 'ended failed']);
      race.propose(stop);
      expect(race.decided?.status).toBe('failed');
    });
  });

  it('decides abort synchronously, and nothing proposed later changes it', () => {
    const ts = new TestScheduler(() => {});
    const decided: string[] = [];
    const race = new OutcomeRace(ts, { halt: (o) => decided.push(o.status), announce: () => {} });
    race.propose(stop);
    race.propose(aborted);
    expect(decided).toEqual(['aborted']);
    ts.flush();
    expect(decided).toEqual(['aborted']);
  });

  it('a failed store proposes like any other error and beats a timeout due in the same frame', () => {
    const ts = new TestScheduler(() => {});
    let winner: Outcome | undefined;
    const race = new OutcomeRace(ts, { halt: (o) => (winner = o), announce: () => {} });
    race.propose(timedOut);
    race.propose(failed('store_failed'));
    ts.flush();
    expect(winner?.status === 'failed' && winner.error.code).toBe('store_failed');
  });
});

describe('the bus', () => {
  it('an error on the bus fails the run with a coded WorkflowError instead of stalling it', async () => {
    const snapshot = wf.run(undefined, { runId: 'r' }).snapshot();
    // An envelope addressed to a step the workflow does not have: the bus's groupBy throws on it.
    const bad = { ...snapshot, pending: [{ id: 'x', event: Ping.of({ n: 1 }), at: 0, to: 'ghost' }] };
    const run = new Handle(spec, { kind: 'resume', snapshot: bad });
    const error = await run.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowError);
    expect((error as WorkflowError).code).toBe('invalid_snapshot');
    expect((error as WorkflowError).message).toContain("'ghost'");
    expect(run.status).toBe('failed');
  });
});

describe('WorkflowError.fromInfo', () => {
  it('gives back the error of a plain JSON view, with its code, message and step', () => {
    const original = new WorkflowError('step_timeout', 'too slow', { step: 's' });
    const back = WorkflowError.fromInfo(JSON.parse(JSON.stringify(original.toInfo())) as ReturnType<WorkflowError['toInfo']>);
    expect(back).toBeInstanceOf(WorkflowError);
    expect([back.code, back.message, back.step]).toEqual(['step_timeout', 'too slow', 's']);
    expect(WorkflowError.fromInfo({ code: 'not_found', message: 'gone' }).toInfo()).toEqual({ code: 'not_found', message: 'gone' });
  });
});
