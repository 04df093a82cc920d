import { QueueEvents } from 'bullmq';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Dispatcher, worker, type RunWorker } from '../../src/bullmq/index.js';
import { startJobId } from '../../src/bullmq/protocol.js';
import { StartEvent, StopEvent, workflow, WorkflowError, type RunEvent } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { sharedServer, titled } from '../support/servers.js';
import { all, hang, Ping, pingable, tiny } from './fixtures/workflows.js';
import { allEvents, dropKeys, isolated, kill, startWorker as startProcess, stop, type WorkerProcess } from './support.js';

const shared = await sharedServer('redis');
const url = 'url' in shared ? shared.url : '';

/** A step that waits until the test opens the gate, then ends the run; a Ping ends it at once. */
let openGate: () => void = () => undefined;
let gate = Promise.resolve();
const held = workflow<string>('held', { timeout: null })
  .step('wait', { accepts: [StartEvent] }, async () => {
    await gate;
    return StopEvent.of({ result: 'through' });
  })
  .step('ping', { accepts: [Ping] }, async (ev) => StopEvent.of({ result: `pinged ${ev.data}` }));

const kinds = (events: RunEvent[]) => events.map((e) => e.kind).filter((k) => !k.startsWith('checkpoint_'));
const seen = (events$: ReturnType<Dispatcher['events$']>, kind: RunEvent['kind']) =>
  firstValueFrom(events$.pipe(filter((e) => e.kind === kind)));

describe.skipIf('skip' in shared)(titled('sluice/bullmq operations: schedules, remote control, failed runs', shared), () => {
  let names: { queue: string; prefix: string };
  let dispatcher: Dispatcher;
  let queueEvents: QueueEvents;
  const closers: (() => Promise<unknown>)[] = [];
  const processes: WorkerProcess[] = [];

  function startWorker(concurrency = 5): RunWorker {
    const store = new RedisStore({ url, prefix: names.prefix });
    const w = worker([...all, held], { connection: url, store, ...names, concurrency });
    closers.push(() => store.close(), () => w.close());
    return w;
  }

  function storeOf(): RedisStore {
    const store = new RedisStore({ url, prefix: names.prefix });
    closers.push(() => store.close());
    return store;
  }

  /** Resolves the outcome of a run's start job once it has let go of the run. */
  async function startJobOutcome(runId: string): Promise<unknown> {
    const job = await dispatcher.queue.getJob(startJobId(runId));
    return job?.waitUntilFinished(queueEvents);
  }

  beforeEach(async () => {
    names = isolated();
    dispatcher = new Dispatcher({ connection: url, ...names });
    queueEvents = new QueueEvents(names.queue, { connection: { url } });
    await queueEvents.waitUntilReady();
    gate = new Promise((resolve) => (openGate = resolve));
  });

  afterEach(async () => {
    openGate();
    await Promise.all(processes.splice(0).map(stop));
    for (const close of closers.splice(0).reverse()) await close();
    await queueEvents.close();
    await dispatcher.close();
    await dropKeys(url, names.prefix, names.queue);
  }, 60_000);

  it('starts a run on every firing of a schedule, three in a row, each a run of its own named after its due time', async () => {
    startWorker();
    const fired: { runId: string; status: string }[] = [];
    const third = new Promise<void>((resolve) => {
      queueEvents.on('completed', ({ jobId, returnvalue }) => {
        if (!jobId.startsWith('repeat:beat:')) return;
        fired.push(returnvalue as unknown as { runId: string; status: string });
        if (fired.length === 3) resolve();
      });
    });
    await dispatcher.schedule('beat', tiny, { every: 250, input: 20 });
    const [listed] = await dispatcher.schedules();
    expect(listed).toMatchObject({ id: 'beat', workflow: 'tiny', every: 250, input: 20 });
    expect(typeof listed?.next).toBe('number');

    await third;
    expect(await dispatcher.unschedule('beat')).toBe(true);
    expect(await dispatcher.schedules()).toEqual([]);
    expect(await dispatcher.unschedule('beat')).toBe(false);

    const three = fired.slice(0, 3);
    expect(three.map((f) => f.status)).toEqual(['completed', 'completed', 'completed']);
    const due = three.map((f) => Number(/^beat-(\d+)$/.exec(f.runId)?.[1]));
    // One firing per interval, in order: consecutive due times are `every` apart.
    expect(due[1]! - due[0]!).toBe(250);
    expect(due[2]! - due[1]!).toBe(250);
    expect(await Promise.all(three.map((f) => dispatcher.result(f.runId)))).toEqual([41, 41, 41]);
  }, 20_000);

  it('refuses a schedule with both or neither of every and pattern, or a bad id', async () => {
    await expect(dispatcher.schedule('x', tiny, { every: 10, pattern: '* * * * *' } as never)).rejects.toMatchObject({ code: 'invalid_workflow' });
    await expect(dispatcher.schedule('x', tiny, {} as never)).rejects.toThrow(/exactly one of `every`/);
    await expect(dispatcher.schedule('x', tiny, { every: -5 })).rejects.toThrow(/positive whole number/);
    await expect(dispatcher.schedule('a:b', tiny, { every: 10 })).rejects.toThrow(/without ':'/);
    expect(await dispatcher.schedules()).toEqual([]);
  });

  it('starts a run later with `delay`', async () => {
    startWorker();
    const run = await dispatcher.start(tiny, 3, { delay: 400 });
    expect(await dispatcher.queue.getJobState(startJobId(run.id))).toBe('delayed');
    expect(await run.result).toBe(7);
  });

  it('aborts a run held by a worker, with the reason in its error', async () => {
    startWorker();
    const run = await dispatcher.start(held, null);
    await seen(run.events$, 'step_started');
    await run.abort('operator said so');
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error).toMatchObject({ code: 'aborted', message: expect.stringContaining('operator said so') });
    expect((await allEvents(run.events$)).at(-1)).toMatchObject({ kind: 'run_aborted' });
    expect((await storeOf().load(run.id))?.status).toBe('aborted');
    await expect(run.abort()).rejects.toMatchObject({ code: 'not_running' });
    await expect(dispatcher.pause('no-such-run')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('aborts a run resting in the store (waiting for input, held by no worker)', async () => {
    startWorker();
    const run = await dispatcher.start(pingable, null);
    expect(await startJobOutcome(run.id)).toEqual({ runId: run.id, status: 'waiting' });
    await dispatcher.abort(run.id, 'stale');
    await expect(run.result).rejects.toMatchObject({ code: 'aborted' });
    expect(kinds(await allEvents(run.events$)).slice(-2)).toEqual(['run_resumed', 'run_aborted']);
  });

  it('sends an event to a run held by a worker and to one resting in the store', async () => {
    startWorker();
    const busy = await dispatcher.start(held, null);
    await seen(busy.events$, 'step_started');
    await busy.send(Ping.of('held'));
    expect(await busy.result).toBe('pinged held');

    const resting = await dispatcher.start(pingable, null);
    expect(await startJobOutcome(resting.id)).toEqual({ runId: resting.id, status: 'waiting' });
    await dispatcher.send(resting.id, Ping.of('resting'));
    expect(await resting.result).toBe('pinged resting');
    await expect(dispatcher.send(resting.id, Ping.of('late'))).rejects.toMatchObject({ code: 'not_running' });
  });

  it('refuses to send an event the run cannot take', async () => {
    startWorker();
    const run = await dispatcher.start(pingable, null);
    await startJobOutcome(run.id);
    await expect(dispatcher.send(run.id, { type: 'Ping', data: 42 })).rejects.toMatchObject({ code: 'invalid_event' });
  });

  it('pauses a run held by another worker (over the control channel), which rests paused and resumes on demand', async () => {
    // w1 takes one job at a time: it holds the run, so the pause job goes to w2, which asks w1 to apply it.
    const w1 = startWorker(1);
    const run = await dispatcher.start(held, null);
    await seen(run.events$, 'step_started');
    expect(w1.held).toBe(1);
    const w2 = startWorker();
    await w2.ready();
    await run.pause();
    // Quiescent: w1 keeps the run until its step in flight has settled, and only then lets it rest.
    expect(w1.held).toBe(1);
    openGate();
    expect(await startJobOutcome(run.id)).toEqual({ runId: run.id, status: 'paused' });
    const stored = await storeOf().load(run.id);
    expect(stored?.status).toBe('paused');
    expect(stored?.inFlight).toEqual([]);
    expect(stored?.pending.map((e) => e.event.type)).toEqual(['StopEvent']);
    // The pause job completed with w1's answer (w2 never held the run).
    const pauseJobs = (await dispatcher.queue.getCompleted()).filter((j) => j.data.kind === 'control');
    expect(pauseJobs.map((j) => j.returnvalue)).toEqual([{ runId: run.id, status: 'paused' }]);

    await dispatcher.pause(run.id); // already paused: nothing to do
    await dispatcher.resume(run.id);
    expect(await run.result).toBe('through');
    const events = await allEvents(run.events$);
    expect(kinds(events).filter((k) => k === 'run_paused' || k === 'run_resumed')).toEqual(['run_paused', 'run_resumed']);
    expect(kinds(events).filter((k) => k === 'step_started')).toHaveLength(1); // not cut off and run again
  });

  it('reports a run whose job failed for good instead of leaving it running in silence', async () => {
    startWorker();
    const ok = await dispatcher.start(tiny, 1);
    await ok.result;
    const lost = await dispatcher.start('nobody-knows-this', 1, { runId: 'lost-run' });
    await expect(startJobOutcome(lost.id)).rejects.toThrow(/invalid_workflow/);
    const failed = await dispatcher.failed();
    expect(failed).toEqual([
      {
        runId: 'lost-run', job: 'start', jobId: startJobId('lost-run'), workflow: 'nobody-knows-this', attempts: 1,
        reason: "invalid_workflow: no workflow 'nobody-knows-this' on this worker", failedAt: expect.any(Number),
      },
    ]);
  });

  it('pauses remotely a run whose worker was SIGKILLed while holding it; the worker taking it over pauses it', async () => {
    const a = await startProcess('a', { url, ...names, env: { SLUICE_TEST_HANG: '1' } });
    processes.push(a);
    const run = await dispatcher.start(hang, 4);
    await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'step_started' && e.step === 'slow')));
    await kill(a);
    // b takes 4 s in `slow`: the pause (retried until someone holds the run) reaches it there, whatever the
    // stalled-job check's timing; a run that ended first would refuse it with not_running.
    processes.push(await startProcess('b', { url, ...names, env: { SLUICE_TEST_HANG_MS: '4000' } }));

    await run.pause();
    expect(await startJobOutcome(run.id)).toEqual({ runId: run.id, status: 'paused' });
    const store = storeOf();
    expect((await store.load(run.id))?.status).toBe('paused');
    await dispatcher.resume(run.id);
    expect(await run.result).toBe('done 40');
    const events = await allEvents(run.events$);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // Resumed by b after the crash, paused there, then resumed on demand.
    expect(kinds(events).filter((k) => ['run_resumed', 'run_paused'].includes(k))).toEqual(['run_resumed', 'run_paused', 'run_resumed']);
  }, 60_000);
});
