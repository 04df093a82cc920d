import { filter, firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/bullmq/index.js';
import type { RunEvent } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { sharedServer, titled } from '../support/servers.js';
import { hang, steps3, steps3Result } from './fixtures/workflows.js';
import { allEvents, dropKeys, isolated, kill, startWorker, stop, type WorkerProcess } from './support.js';

const shared = await sharedServer('redis');
const url = 'url' in shared ? shared.url : '';

/** seq 1, 2, 3… with no hole or repeat, one run_started first and one terminal event last. */
function expectWholeRun(events: RunEvent[], terminal: RunEvent['kind'] = 'run_completed'): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => e.kind === 'run_started')).toHaveLength(1);
  expect(events[0]?.kind).toBe('run_started');
  expect(events.filter((e) => ['run_completed', 'run_failed', 'run_aborted', 'run_timed_out'].includes(e.kind)).map((e) => e.kind)).toEqual([terminal]);
  expect(events.at(-1)?.kind).toBe(terminal);
}

describe.skipIf('skip' in shared)(titled('sluice/bullmq: worker processes killed mid-run', shared), () => {
  let names: { queue: string; prefix: string };
  let dispatcher: Dispatcher;
  let store: RedisStore;
  const workers: WorkerProcess[] = [];

  beforeEach(() => {
    names = isolated();
    dispatcher = new Dispatcher({ connection: url, ...names });
    store = new RedisStore({ url, prefix: names.prefix });
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map(stop));
    await dispatcher.close();
    await store.close();
    await dropKeys(url, names.prefix, names.queue);
  }, 60_000);

  it('continues a run on another worker from its last checkpoint when the worker holding it is SIGKILLed, with no event lost', async () => {
    // Worker a hangs in the `slow` step, so it is sure to die there.
    const a = await startWorker('a', { url, ...names, env: { SLUICE_TEST_HANG: '1' } });
    workers.push(a);
    const run = await dispatcher.start(hang, 4);
    const live: RunEvent[] = [];
    const ended = new Promise<void>((resolve, reject) => run.events$.subscribe({ next: (e) => live.push(e), complete: resolve, error: reject }));
    // Published only once checkpointed: from here on the store has the run inside `slow` on worker a.
    await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'step_started' && e.step === 'slow')));
    await kill(a);
    expect(a.proc.signalCode).toBe('SIGKILL');

    workers.push(await startWorker('b', { url, ...names }));
    expect(await run.result).toBe('done 40');
    await ended;

    // The subscriber that watched across the crash saw one unbroken run, and it is exactly the stored history.
    expectWholeRun(live);
    expect(live).toEqual(await store.events(run.id));
    expect(await allEvents(dispatcher.events$(run.id))).toEqual(live);
    // Worker b resumed it (not a restart): `prepare` ran once; `slow`, in flight at the checkpoint, was re-delivered.
    const starts = (step: string) => live.filter((e) => e.kind === 'step_started' && e.step === step);
    expect(starts('prepare')).toHaveLength(1);
    const slow = starts('slow');
    expect(slow).toHaveLength(2);
    expect(new Set(slow.map((e) => (e.kind === 'step_started' ? e.invocationId : '')))).toHaveLength(1);
    const resumedAt = live.findIndex((e) => e.kind === 'run_resumed');
    expect(resumedAt).toBeGreaterThan(live.indexOf(slow[0] as RunEvent));
    expect(live.indexOf(slow[1] as RunEvent)).toBeGreaterThan(resumedAt);
    expect((await store.load(run.id))?.status).toBe('completed');
  }, 90_000);

  it('completes each of 1 000 runs exactly once with its result on 3 worker processes, one SIGKILLed mid-way', async () => {
    // The victim (w2) takes 300 ms in step `two`, so the runs it holds are mid-way when it dies.
    const procs = await Promise.all(
      ['w1', 'w2', 'w3'].map((name) =>
        startWorker(name, { url, ...names, concurrency: 20, env: name === 'w2' ? { SLUICE_TEST_SLOW_MS: '300' } : {} }),
      ),
    );
    workers.push(...procs);
    const victim = procs[1] as WorkerProcess;
    const N = 1_000;
    const runs = await Promise.all(Array.from({ length: N }, (_, i) => dispatcher.start(steps3, i, { runId: `run-${i}` })));

    // Kill the victim a good way in, once it certainly holds runs mid-way: jobs BullMQ has it processing whose
    // stored checkpoint has step `two` in flight.
    const killed = (async () => {
      for (;;) {
        const [active, completed] = await Promise.all([dispatcher.queue.getActive(), dispatcher.queue.getCompletedCount()]);
        const held = active.filter((job) => job.processedBy === victim.name).map((job) => job.data.runId);
        const stored = await Promise.all(held.map((runId) => store.load(runId)));
        const midway = stored.filter((s) => s?.status === 'running' && s.inFlight.some((f) => f.step === 'two')).length;
        if (completed >= 200 && midway >= 5) return kill(victim);
        if (completed >= N - 100) throw new Error(`the victim never held 5 runs mid-way at once (completed ${completed})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    killed.catch(() => undefined); // awaited below, after the results
    const results = await Promise.all(runs.map((run) => run.result));
    await killed;
    expect(victim.proc.signalCode).toBe('SIGKILL');
    expect(results).toEqual(runs.map((_, i) => steps3Result(i)));

    // Each run's published events are one unbroken run with a single completion, identical to its stored history.
    let resumed = 0;
    for (let i = 0; i < N; i += 100) {
      await Promise.all(
        runs.slice(i, i + 100).map(async (run) => {
          const events = await allEvents(run.events$);
          expectWholeRun(events);
          const stored = await store.load(run.id);
          expect(stored?.status).toBe('completed');
          expect(events).toEqual(await store.events(run.id));
          if (events.some((e) => e.kind === 'run_resumed')) resumed++;
        }),
      );
    }
    // The killed worker held runs mid-way (in its slow step); they were resumed from their checkpoints, not started over.
    expect(resumed).toBeGreaterThan(0);
    const counts = await dispatcher.queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
    expect(counts).toMatchObject({ completed: N, failed: 0, active: 0, waiting: 0, delayed: 0 });
  }, 150_000);
});
