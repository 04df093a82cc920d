import { setImmediate } from 'node:timers/promises';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Dispatcher, worker, type RunWorker } from '../../src/bullmq/index.js';
import { startJobId } from '../../src/bullmq/protocol.js';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, WorkflowError, type CheckpointStore, type RunEvent, type AnySnapshot } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { sharedServer, titled } from '../support/servers.js';
import { all, approval, failing, timedApproval, tiny } from './fixtures/workflows.js';
import { allEvents, dropKeys, isolated } from './support.js';

const shared = await sharedServer('redis');
const url = 'url' in shared ? shared.url : '';

const kinds = (events: RunEvent[]) => events.map((e) => e.kind).filter((k) => !k.startsWith('checkpoint_'));
const requested = (events$: ReturnType<Dispatcher['events$']>) =>
  firstValueFrom(events$.pipe(filter((e): e is Extract<RunEvent, { kind: 'input_requested' }> => e.kind === 'input_requested')));

/** A step that waits until the test opens the gate. */
let openGate: () => void = () => undefined;
let gate = Promise.resolve();
const gated = workflow<string>('gated', { timeout: null })
  .step('wait', { accepts: [StartEvent] }, async () => {
    await gate;
    return StopEvent.of({ result: 'through' });
  });
/** Writes progress once under way (after the checkpoint of its dispatch), then waits for the gate. */
const Progress = event('Progress', z.object({ done: z.number() }));
const reporting = workflow<string>('reporting', { timeout: null })
  .step('work', { accepts: [StartEvent] }, async (_ev, ctx) => {
    await setImmediate();
    ctx.write(Progress.of({ done: 1 }));
    await gate;
    ctx.write(Progress.of({ done: 2 }));
    return StopEvent.of({ result: 'reported' });
  });

describe.skipIf('skip' in shared)(titled('sluice/bullmq Dispatcher and workers', shared), () => {
  let names: { queue: string; prefix: string };
  let dispatcher: Dispatcher;
  const closers: (() => Promise<unknown>)[] = [];

  /** A worker in this process with a store instance of its own, as a separate worker process would have. */
  function startWorker(store: CheckpointStore = new RedisStore({ url, prefix: names.prefix })): RunWorker {
    const w = worker([...all, gated, reporting], { connection: url, store, ...names, concurrency: 5 });
    closers.push(() => w.close());
    if (store instanceof RedisStore) closers.push(() => store.close());
    return w;
  }

  function storeOf(): RedisStore {
    const store = new RedisStore({ url, prefix: names.prefix });
    closers.push(() => store.close());
    return store;
  }

  beforeEach(() => {
    names = isolated();
    dispatcher = new Dispatcher({ connection: url, ...names });
    gate = new Promise((resolve) => (openGate = resolve));
  });

  afterEach(async () => {
    openGate();
    for (const close of closers.splice(0).reverse()) await close();
    await dispatcher.close();
    await dropKeys(url, names.prefix, names.queue);
  }, 30_000);

  it('runs a workflow on a worker and replays its RunEvents from seq 1 to early and late subscribers alike', async () => {
    startWorker();
    const run = await dispatcher.start(tiny, 5);
    const early = allEvents(run.events$);
    expect(await run.result).toBe(11);
    const events = await early;
    expect(kinds(events)).toEqual(kinds(await allEvents(tiny.run$(5))));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 11, runId: run.id });
    expect(await allEvents(dispatcher.events$(run.id))).toEqual(events);
    expect(await dispatcher.result(run.id)).toBe(11);
    expect(await storeOf().events(run.id)).toEqual(events);
  });

  it('replays only the events after `afterSeq`', async () => {
    startWorker();
    const run = await dispatcher.start(tiny, 1);
    const events = await allEvents(run.events$);
    expect(await allEvents(dispatcher.events$(run.id, { afterSeq: 5 }))).toEqual(events.slice(5));
  });

  it('rejects the result with the run’s WorkflowError and ends events$ with run_failed', async () => {
    startWorker();
    const run = await dispatcher.start(failing);
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error).toMatchObject({ code: 'step_failed', step: 'boom' });
    expect((error as Error).message).toContain('boom');
    expect((await allEvents(run.events$)).at(-1)).toMatchObject({ kind: 'run_failed', error: { code: 'step_failed', step: 'boom' } });
  });

  it('enqueues a run id started twice once, and runs it once', async () => {
    startWorker();
    const first = await dispatcher.start(tiny, 1, { runId: 'twice' });
    const second = await dispatcher.start(tiny, 1, { runId: 'twice' });
    expect([await first.result, await second.result]).toEqual([3, 3]);
    const events = await allEvents(first.events$);
    expect(events.filter((e) => e.kind === 'run_started')).toHaveLength(1);
    expect(await dispatcher.queue.getJobCounts('completed')).toEqual({ completed: 1 });
  });

  it('lets a run that waits for input go, then continues it on another worker when another process answers', async () => {
    const first = startWorker();
    const run = await dispatcher.start(approval, 'deploy');
    const request = await requested(run.events$);
    expect(request.requestId).toMatch(/\/ask:1$/);

    // The start job is done: the run rests in the store, held by no worker.
    const queueEvents = new QueueEvents(names.queue, { connection: { url } });
    closers.push(() => queueEvents.close());
    const job = await dispatcher.queue.getJob(startJobId(run.id));
    expect(await job?.waitUntilFinished(queueEvents)).toEqual({ runId: run.id, status: 'waiting' });
    expect((await storeOf().load(run.id))?.status).toBe('waiting');
    await first.close();

    startWorker();
    const elsewhere = new Dispatcher({ connection: url, ...names });
    closers.push(() => elsewhere.close());
    await elsewhere.respond(run.id, request.requestId, 'yes');
    expect(await run.result).toBe('deploy: yes');

    const events = await allEvents(run.events$);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(kinds(events)).toEqual([
      'run_started', 'event_routed', 'step_started', 'input_requested',
      'run_resumed', 'input_received', 'step_started', 'step_completed', 'event_routed', 'run_completed',
    ]);
    expect(events.find((e) => e.kind === 'input_received')).toMatchObject({ requestId: request.requestId });
  });

  it('lets an input request expire at its deadline while the run rests in the store, held by no worker', async () => {
    startWorker();
    const started = Date.now();
    const run = await dispatcher.start(timedApproval, 300);
    await requested(run.events$);
    expect(await run.result).toBe('no answer in time');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const events = await allEvents(run.events$);
    // Parked once it asked; a scheduled resume let the request expire, and the step caught the input_timeout.
    expect(kinds(events)).toEqual([
      'run_started', 'event_routed', 'step_started', 'input_requested',
      'run_resumed', 'step_started', 'step_completed', 'event_routed', 'run_completed',
    ]);
    await expect(run.respond((events[3] as { requestId: string }).requestId, 'late')).rejects.toMatchObject({ code: 'not_running' });
  });

  it('refuses to answer an unknown request, a run that has ended and a run that does not exist', async () => {
    startWorker();
    const run = await dispatcher.start(approval, 'x');
    const request = await requested(run.events$);
    await expect(dispatcher.respond(run.id, 'no-such-request', 1)).rejects.toMatchObject({ code: 'unknown_request' });
    await run.respond(request.requestId, 'ok');
    expect(await run.result).toBe('x: ok');
    await expect(run.respond(request.requestId, 'again')).rejects.toMatchObject({ code: 'not_running' });
    await expect(dispatcher.respond('no-such-run', 'r:1', 1)).rejects.toMatchObject({ code: 'not_found' });
    await expect(dispatcher.resume(run.id)).rejects.toMatchObject({ code: 'not_running' });
  });

  it('resumes on a worker a run that another process paused in the shared store', async () => {
    const local = approval.withOptions({ store: storeOf() }).run('local', { runId: 'paused-here' });
    const request = await firstValueFrom(local.events$.pipe(filter((e) => e.kind === 'input_requested')));
    await local.pause();
    await local.flush();
    expect((await storeOf().load(local.id))?.status).toBe('paused');

    startWorker();
    // An answer to a paused run is kept, and the run stays paused until resumed.
    await dispatcher.respond(local.id, (request as { requestId: string }).requestId, 'later');
    const stored = await storeOf().load(local.id);
    expect(stored?.status).toBe('paused');
    expect(stored?.answered).toEqual({ [(request as { requestId: string }).requestId]: 'later' });

    await dispatcher.resume(local.id);
    expect(await dispatcher.result(local.id)).toBe('local: later');
    const events = await allEvents(dispatcher.events$(local.id));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.kind === 'run_paused')).toHaveLength(2);
  });

  it('hands the runs it holds to another worker when closed, which resumes them from their checkpoints', async () => {
    const first = startWorker();
    const run = await dispatcher.start(gated, null);
    await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'step_started')));
    expect(first.held).toBe(1);
    const closed = first.close();
    startWorker();
    await closed;
    const resumed = await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'run_resumed')));
    openGate();
    expect(await run.result).toBe('through');
    const events = await allEvents(run.events$);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const starts = events.filter((e) => e.kind === 'step_started');
    expect(starts).toHaveLength(2);
    expect((starts[1] as RunEvent).seq).toBeGreaterThan(resumed.seq);
    expect(await dispatcher.queue.getJobCounts('completed', 'failed')).toEqual({ completed: 1, failed: 0 });
  });

  it('delivers what a step writes to a remote subscriber while the step is still running', async () => {
    startWorker();
    const run = await dispatcher.start(reporting, null);
    const first = await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'stream')));
    expect(first).toMatchObject({ kind: 'stream', step: 'work', event: { type: 'Progress', data: { done: 1 } } });
    openGate();
    expect(await run.result).toBe('reported');
    const written = (await allEvents(run.events$)).flatMap((e) => (e.kind === 'stream' ? [e.event.data] : []));
    expect(written).toEqual([{ done: 1 }, { done: 2 }]);
  });

  it('publishes a run’s events only once the checkpoint covering them is stored', async () => {
    const inner = storeOf();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstSave: (snapshot: AnySnapshot) => void = () => undefined;
    const saving = new Promise<AnySnapshot>((resolve) => (firstSave = resolve));
    const slowStore: CheckpointStore = {
      save: async (snapshot, journal) => {
        firstSave(snapshot);
        await held;
        await inner.save(snapshot, journal);
      },
      load: (id) => inner.load(id),
      events: (id, o) => inner.events(id, o),
      list: (f) => inner.list(f),
      delete: (id) => inner.delete(id),
      prune: (f) => inner.prune(f),
    };
    startWorker(slowStore);
    const run = await dispatcher.start(tiny, 2);
    await saving;
    const redis = new Redis(url);
    closers.push(async () => redis.disconnect());
    expect(await redis.exists(`${names.prefix}{${run.id}}:events`)).toBe(0);
    release();
    expect(await run.result).toBe(5);
    expect((await allEvents(run.events$)).at(-1)?.kind).toBe('run_completed');
  });

  it('fails the start job of a workflow no worker knows, for good', async () => {
    startWorker();
    const queueEvents = new QueueEvents(names.queue, { connection: { url } });
    closers.push(() => queueEvents.close());
    const run = await dispatcher.start('nonexistent', 1);
    const job = await dispatcher.queue.getJob(startJobId(run.id));
    await expect(job?.waitUntilFinished(queueEvents)).rejects.toThrow("invalid_workflow: no workflow 'nonexistent' on this worker");
    expect((await dispatcher.queue.getJob(startJobId(run.id)))?.attemptsMade).toBe(1);
  });

  it('refuses workflows it could not run safely: two of one name, or one without history', () => {
    const store = storeOf();
    expect(() => worker([tiny, tiny], { connection: url, store })).toThrow(expect.objectContaining({ code: 'invalid_workflow' }));
    expect(() => worker([tiny.withOptions({ history: false })], { connection: url, store })).toThrow(
      expect.objectContaining({ code: 'invalid_workflow' }),
    );
  });
});
