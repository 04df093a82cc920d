import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type RunEvent, type RunHandle, type Snapshot } from 'sluice';

// DESIGN §6.4 durable waits; §6.6 Clocks, Wait ids and entries, waitFor. Step bodies are async functions,
// so these run on fake timers (epoch 0) rather than inside a TestScheduler flush.

const Paid = event('Paid', z.object({ order: z.number() }));

const sleeper = workflow('sleeper', { timeout: 300 }).step('nap', { accepts: [StartEvent] }, async (_ev, ctx) => {
  await ctx.sleep(500);
  return StopEvent.of({ result: 'rested' });
});

/** Waits for the payment of order 2, or gives up after `timeout`. */
const checkout = (timeout?: number) =>
  workflow('checkout', { timeout: null }).step('pay', { accepts: [StartEvent] }, async (_ev, ctx) => {
    const paid = await ctx.waitFor(Paid, { match: (ev) => ev.data.order === 2, ...(timeout === undefined ? {} : { timeout }) });
    return StopEvent.of({ result: paid === undefined ? 'gave up' : `paid ${paid.data.order}` });
  });

function record(run: RunHandle): RunEvent[] {
  const seen: RunEvent[] = [];
  run.events$.subscribe((e) => seen.push(e));
  return seen;
}

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
const end = (events: RunEvent[]) => events.at(-1) as RunEvent;
const json = (snap: Snapshot) => JSON.parse(JSON.stringify(snap)) as Snapshot;
/** The resumed run's own events (a snapshot that carries history replays it first). */
const sinceResume = (events: RunEvent[]) => events.slice(events.findIndex((e) => e.kind === 'run_resumed'));

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ctx.sleep', () => {
  it('parks the run as waiting until its absolute due time, spending no workflow-timeout time', async () => {
    const run = sleeper.run();
    const events = record(run);
    await advance(200);
    expect(run.status).toBe('waiting');
    const step = events.find((e) => e.kind === 'step_started');
    expect(run.snapshot().waiting).toEqual([{ kind: 'sleep', requestId: `${step?.kind === 'step_started' ? step.invocationId : ''}:1`, dueAt: 500 }]);
    // The workflow timeout is 300 ms; sleeping 500 is not running time.
    await advance(300);
    expect(end(events)).toMatchObject({ kind: 'run_completed', result: 'rested', at: 500 });
  });

  it('wakes at the stored due time after snapshot → JSON → resume, not `ms` after the resume', async () => {
    const first = sleeper.run();
    await advance(100);
    const snap = json(first.snapshot());
    first.abort();
    await advance(200); // resumed at 300 elsewhere
    const events = record(sleeper.resume(snap));
    await advance(199);
    expect(end(events).kind).not.toBe('run_completed');
    await advance(1);
    expect(end(events)).toMatchObject({ kind: 'run_completed', result: 'rested', at: 500 });
  });

  it('wakes at once after a resume past the due time', async () => {
    const first = sleeper.run();
    await advance(100);
    const snap = json(first.snapshot());
    first.abort();
    await advance(900);
    const events = record(sleeper.resume(snap));
    await advance(0);
    expect(end(events)).toMatchObject({ kind: 'run_completed', result: 'rested', at: 1_000 });
  });

  it('hands a wake-up due while paused over on resume', async () => {
    const run = sleeper.run();
    const events = record(run);
    await advance(100);
    await run.pause();
    await advance(600);
    expect(run.status).toBe('paused');
    expect(events.some((e) => e.kind === 'run_completed')).toBe(false);
    run.resume();
    await advance(0);
    expect(end(events)).toMatchObject({ kind: 'run_completed', at: 700 });
  });
});

describe('ctx.waitFor', () => {
  it('takes the matching sent event, reports the waiter in event_routed, and is not no_handler', async () => {
    const run = checkout().run();
    const events = record(run);
    await advance(10);
    expect(run.status).toBe('waiting');
    run.send(Paid.of({ order: 2 }));
    await advance(0);
    const routed = events.filter((e) => e.kind === 'event_routed' && e.event.type === 'Paid');
    expect(routed).toEqual([expect.objectContaining({ steps: [], waiters: [expect.stringMatching(/:1$/)] })]);
    expect(end(events)).toMatchObject({ kind: 'run_completed', result: 'paid 2' });
  });

  it('fails no_handler for an event no step accepts and no waiter matches', async () => {
    const run = checkout().run();
    const events = record(run);
    await advance(10);
    run.send(Paid.of({ order: 1 }));
    await advance(0);
    expect(end(events)).toMatchObject({ kind: 'run_failed', error: { code: 'no_handler' } });
  });

  it('resolves undefined after its timeout of unpaused time', async () => {
    const run = checkout(400).run();
    const events = record(run);
    await advance(100);
    await run.pause();
    await advance(1_000);
    run.resume();
    await advance(299);
    expect(events.some((e) => e.kind === 'run_completed')).toBe(false);
    await advance(1);
    expect(end(events)).toMatchObject({ kind: 'run_completed', result: 'gave up', at: 1_400 });
  });

  it('keeps its entry through snapshot → JSON → resume and takes an event sent while it is re-delivered', async () => {
    const first = checkout(1_000).run();
    await advance(200);
    const snap = json(first.snapshot());
    first.abort();
    expect(snap.waiting).toEqual([{ kind: 'event', requestId: expect.stringMatching(/:1$/), type: 'Paid', deadline: 1_000, remainingMs: 800 }]);
    const run = checkout(1_000).resume(snap);
    const events = record(run);
    // Sent before the re-delivered step reaches waitFor again: kept, then matched.
    run.send(Paid.of({ order: 2 }));
    await advance(0);
    expect(sinceResume(events).find((e) => e.kind === 'event_routed' && e.event.type === 'Paid')).toMatchObject({
      waiters: [expect.stringMatching(/:1$/)],
    });
    expect(end(events)).toMatchObject({ kind: 'run_completed', result: 'paid 2' });
  });

  it('times out on the time it had left after a resume', async () => {
    const first = checkout(1_000).run();
    await advance(200);
    const snap = json(first.snapshot());
    first.abort();
    await advance(5_000); // resting in the store: its deadline clock stands still
    const events = record(checkout(1_000).resume(snap));
    await advance(799);
    expect(end(events).kind).not.toBe('run_completed');
    await advance(1);
    expect(end(events)).toMatchObject({ kind: 'run_completed', result: 'gave up', at: 6_000 });
  });
});
