import { timer, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { event, MemoryStore, StartEvent, StopEvent, workflow, WorkflowError, type RunEvent, type RunHandle, type RunStatus, type Snapshot, type StepContext } from 'sluice';
import type { Handle } from '../../src/run/handle.js';

// DESIGN §6.1: "pause() of a quiescent run and parking it cost O(live state); a parked run holds its plain
// snapshot data, not live subscriptions." A parked run must behave exactly as one that was never parked.

const Mid = event('Mid');
const Extra = event('Extra');
const newScheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

/** start → a (10 frames) → Mid → b (5 frames) → Stop(result = 'done'). */
function twoSteps(scheduler: TestScheduler) {
  return workflow('two', { scheduler })
    .step('a', { accepts: [StartEvent] }, () => timer(10, scheduler).pipe(map(() => Mid.of(null))))
    .step('b', { accepts: [Mid] }, () => timer(5, scheduler).pipe(map(() => StopEvent.of({ result: 'done' }))));
}

const parkedSnapshot = (run: RunHandle) => (run as unknown as Handle).parkedSnapshot;
const shape = (events: RunEvent[]) => events.map((e) => `${e.seq}:${e.kind}${'step' in e ? `:${e.step}` : ''}`);

describe('a parked run', () => {
  it('is held as its frozen snapshot once paused and quiescent, and finishes after resume exactly as if never parked', async () => {
    const scheduler = newScheduler();
    const events: RunEvent[] = [];
    let paused: Snapshot | undefined;
    let run!: RunHandle;
    scheduler.run(({ flush }) => {
      run = twoSteps(scheduler).run(null);
      run.events$.subscribe((e) => events.push(e));
      scheduler.schedule(() => void run.pause().then((s) => (paused = s)), 5);
      scheduler.schedule(() => {
        expect(parkedSnapshot(run)).toBeDefined(); // a settled at frame 10: nothing live is left
        expect(run.status).toBe('paused');
        run.resume();
        expect(parkedSnapshot(run)).toBeUndefined();
      }, 50);
      flush();
    });
    await expect(run.result).resolves.toBe('done');
    expect(paused?.pending.map((e) => e.event.type)).toEqual(['Mid']);
    expect(Object.isFrozen(paused) && Object.isFrozen(paused?.pending) && Object.isFrozen(paused?.pending[0])).toBe(true);
    expect(shape(events)).toEqual([
      '1:run_started',
      '2:event_routed',
      '3:step_started:a',
      '4:run_paused',
      '5:step_completed:a',
      '6:run_resumed',
      '7:event_routed',
      '8:step_started:b',
      '9:event_routed', // an Observable step's output is routed before the step completes
      '10:step_completed:b',
      '11:run_completed',
    ]);
    // The queued output still names the invocation that produced it.
    const a = events.find((e) => e.kind === 'step_started') as Extract<RunEvent, { kind: 'step_started' }>;
    expect(events[6]).toMatchObject({ kind: 'event_routed', invocationId: a.invocationId, steps: ['b'] });
    expect(events.map((e) => e.at)).toEqual([0, 0, 0, 5, 10, 50, 50, 50, 55, 55, 55]);
  });

  it('keeps its status$ and result$ followers, and tells a follower arriving while parked the same', async () => {
    const scheduler = newScheduler();
    const early: RunStatus[] = [];
    const late: RunStatus[] = [];
    const results: unknown[] = [];
    scheduler.run(({ flush }) => {
      const run = twoSteps(scheduler).run(null);
      run.status$.subscribe((s) => early.push(s));
      run.result$.subscribe((r) => results.push(r));
      scheduler.schedule(() => void run.pause(), 5);
      scheduler.schedule(() => {
        run.status$.subscribe((s) => late.push(s));
        run.resume();
      }, 50);
      flush();
    });
    expect(early).toEqual(['running', 'paused', 'running', 'completed']);
    expect(late).toEqual(['paused', 'running', 'completed']);
    expect(results).toEqual(['done']);
  });

  it('replays its events to a follower that subscribes while it is parked', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const run = twoSteps(scheduler).run(null);
      scheduler.schedule(() => void run.pause(), 5);
      flush();
      expect(parkedSnapshot(run)).toBeDefined();
      const seen: string[] = [];
      run.events$.subscribe((e) => seen.push(e.kind));
      expect(seen).toEqual(['run_started', 'event_routed', 'step_started', 'run_paused', 'step_completed']);
      run.resume();
      flush();
      expect(seen.slice(5)).toEqual(['run_resumed', 'event_routed', 'step_started', 'event_routed', 'step_completed', 'run_completed']);
    });
  });

  it('answers pause() again with the snapshot it holds, and run.snapshot() with it too', async () => {
    const scheduler = newScheduler();
    let run!: RunHandle;
    scheduler.run(({ flush }) => {
      run = twoSteps(scheduler).run(null);
      scheduler.schedule(() => void run.pause(), 5);
      flush();
    });
    const held = parkedSnapshot(run);
    expect(held?.status).toBe('paused');
    await expect(run.pause()).resolves.toBe(held);
    expect(run.snapshot()).toBe(held);
  });

  it('takes a sent event while parked: queued in its snapshot, parked again, routed after resume', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const run = workflow('sent', { scheduler })
        .step('a', { accepts: [StartEvent] }, () => timer(10, scheduler).pipe(map(() => Mid.of(null))))
        .step('b', { accepts: [Mid] }, () => undefined)
        .step('c', { accepts: [Extra] }, (ev) => StopEvent.of({ result: ev.data }))
        .run(null);
      const done: unknown[] = [];
      run.result$.subscribe((r) => done.push(r));
      scheduler.schedule(() => void run.pause(), 5);
      flush();
      run.send(Extra.of('sent while parked'));
      expect(parkedSnapshot(run)?.pending.map((e) => e.event.type)).toEqual(['Mid', 'Extra']);
      run.resume();
      flush();
      expect(done).toEqual(['sent while parked']);
    });
  });

  it('ends as aborted when aborted while parked, with its outcome in the snapshot', async () => {
    const scheduler = newScheduler();
    let run!: RunHandle;
    const kinds: string[] = [];
    scheduler.run(({ flush }) => {
      run = twoSteps(scheduler).run(null);
      run.events$.subscribe((e) => kinds.push(e.kind));
      scheduler.schedule(() => void run.pause(), 5);
      flush();
      run.abort('no longer needed');
    });
    expect(run.status).toBe('aborted');
    const error = await run.result.catch((e: unknown) => e);
    expect(WorkflowError.is(error) && error.code).toBe('aborted');
    expect(kinds.at(-1)).toBe('run_aborted');
    expect(run.snapshot().outcome).toMatchObject({ error: { code: 'aborted' } });
    expect(() => run.resume()).toThrow(expect.objectContaining({ code: 'not_running' }));
  });

  it('keeps metadata set while parked, parked again with it, and after resume', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const run = twoSteps(scheduler).run(null);
      scheduler.schedule(() => void run.pause(), 5);
      flush();
      run.setMetadata('owner', { team: 'ops' });
      expect(run.metadata).toEqual({ owner: { team: 'ops' } });
      expect(parkedSnapshot(run)?.metadata).toEqual({ owner: { team: 'ops' } });
      expect(() => run.respond('nope', 1)).toThrow(expect.objectContaining({ code: 'unknown_request' }));
      expect(parkedSnapshot(run)).toBeDefined();
      run.resume();
      flush();
      expect(run.snapshot().metadata).toEqual({ owner: { team: 'ops' } });
    });
  });

  it('keeps its workflow timeout: paused time does not count, the time already spent does', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      // 100 ms budget: 30 spent before the pause at 30 (a settles at 10, b would need 200 more).
      const run = workflow('slow', { scheduler, timeout: 100 })
        .step('a', { accepts: [StartEvent] }, () => timer(30, scheduler).pipe(map(() => Mid.of(null))))
        .step('b', { accepts: [Mid] }, () => timer(200, scheduler).pipe(map(() => StopEvent.of({ result: 'late' }))))
        .run(null);
      let endedAt = -1;
      run.status$.subscribe((s) => {
        if (s === 'timed_out') endedAt = scheduler.now();
      });
      scheduler.schedule(() => void run.pause(), 29);
      scheduler.schedule(() => run.resume(), 1_000);
      flush();
      expect(run.status).toBe('timed_out');
      expect(endedAt).toBe(1_000 + (100 - 29));
    });
  });

  it("delivers a settled step's late ctx.send made while parked, naming its invocation", () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      let later: StepContext | undefined;
      const run = workflow('late', { scheduler })
        .step('a', { accepts: [StartEvent] }, (_ev, ctx) => {
          later = ctx;
          return timer(10, scheduler).pipe(map(() => Mid.of(null)));
        })
        .step('b', { accepts: [Mid] }, () => undefined)
        .step('c', { accepts: [Extra] }, (ev) => StopEvent.of({ result: ev.data }))
        .run(null);
      const events: RunEvent[] = [];
      run.events$.subscribe((e) => events.push(e));
      scheduler.schedule(() => void run.pause(), 5);
      scheduler.schedule(() => later?.send(Extra.of('late')), 40);
      scheduler.schedule(() => run.resume(), 50);
      flush();
      expect(run.status).toBe('completed');
      const a = events.find((e) => e.kind === 'step_started' && e.step === 'a') as Extract<RunEvent, { kind: 'step_started' }>;
      const extra = events.find((e) => e.kind === 'event_routed' && e.event.type === 'Extra');
      expect(extra).toMatchObject({ invocationId: a.invocationId, steps: ['c'], at: 50 });
    });
  });

  it('reports idleness once per stretch, parked or not', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const run = workflow('idle', { scheduler, timeout: null })
        .step('a', { accepts: [StartEvent] }, () => undefined)
        .step('c', { accepts: [Extra] }, (ev) => StopEvent.of({ result: ev.data }))
        .run(null);
      const idle: number[] = [];
      run.events$.subscribe((e) => e.kind === 'run_idle' && idle.push(scheduler.now()));
      scheduler.schedule(() => void run.pause(), 5);
      scheduler.schedule(() => run.resume(), 10);
      flush();
      expect(idle).toEqual([0]); // idle since frame 0; resuming changes nothing
      expect(parkedSnapshot(run)).toBeUndefined();
      run.send(Extra.of('x'));
      flush();
      expect(run.status).toBe('completed');
    });
  });

  it('with a store, parks once the paused state is saved, and journals every event once after waking', async () => {
    const store = new MemoryStore();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const run = workflow('durable', { store })
      .step('a', { accepts: [StartEvent] }, async () => {
        await gate;
        return Mid.of(null);
      })
      .step('b', { accepts: [Mid] }, async () => StopEvent.of({ result: 'saved' }))
      .run(null);
    await run.flush(); // the first dispatch has happened: a is waiting at the gate
    const pausing = run.pause();
    open();
    await pausing;
    expect(parkedSnapshot(run)).toBeUndefined(); // the paused state is on its way to the store
    await run.flush();
    expect(parkedSnapshot(run)?.pending.map((e) => e.event.type)).toEqual(['Mid']);
    expect((await store.load(run.id))?.status).toBe('paused');
    run.resume();
    await expect(run.result).resolves.toBe('saved');
    await run.flush();
    const journal = await store.events(run.id);
    expect(journal.map((e) => e.seq)).toEqual(journal.map((_e, i) => i + 1));
    expect(journal.filter((e) => e.kind === 'run_resumed')).toHaveLength(1);
    expect(journal.at(-1)?.kind).toBe('run_completed');
    expect((await store.load(run.id))?.status).toBe('completed');
  });
});
