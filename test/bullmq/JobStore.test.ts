import { Redis } from 'ioredis';
import { firstValueFrom, filter } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStore } from '../../src/bullmq/JobStore.js';
import { runKeys } from '../../src/bullmq/protocol.js';
import { Publisher } from '../../src/bullmq/publisher.js';
import { WorkflowError, type CheckpointStore, type RunEvent } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { sharedServer, titled } from '../support/servers.js';
import { approval, tiny } from './fixtures/workflows.js';
import { allEvents, dropKeys, isolated } from './support.js';

const shared = await sharedServer('redis');
const url = 'url' in shared ? shared.url : '';

const event = (seq: number, kind: 'run_started' | 'step_started' = 'step_started'): RunEvent =>
  kind === 'run_started'
    ? { kind, workflow: 'w', input: null, runId: 'r', seq, at: 1 }
    : { kind, step: 's', invocationId: 'i', type: 't', attempt: 1, runId: 'r', seq, at: 1 };
const completed = (seq: number): RunEvent => ({ kind: 'run_completed', result: 42, runId: 'r', seq, at: 1 });

describe.skipIf('skip' in shared)(titled('sluice/bullmq publishing and the job store', shared), () => {
  let names: { queue: string; prefix: string };
  let redis: Redis;
  let publisher: Publisher;
  const stores: RedisStore[] = [];
  const storeOf = () => {
    const store = new RedisStore({ url, prefix: names.prefix });
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    names = isolated();
    redis = new Redis(url);
    publisher = new Publisher(redis, names.prefix, 60_000);
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    redis.disconnect();
    await dropKeys(url, names.prefix, names.queue);
  });

  it('appends each seq once, so a batch published again (a retried job) adds only what is new, and records the result once', async () => {
    const keys = runKeys(names.prefix, 'r');
    expect(await publisher.publish('r', [event(1, 'run_started'), event(2), event(3)])).toEqual({ appended: 3, recorded: false });
    expect(await publisher.publish('r', [event(1, 'run_started'), event(2), event(3), event(4), completed(5)])).toEqual({
      appended: 2,
      recorded: true,
    });
    expect(await publisher.publish('r', [event(4), completed(5)])).toEqual({ appended: 0, recorded: false });
    const entries = await redis.xrange(keys.events, '-', '+');
    expect(entries.map(([id]) => id)).toEqual(['0-1', '0-2', '0-3', '0-4', '0-5']);
    expect(JSON.parse(await redis.get(keys.result) ?? 'null')).toEqual({ status: 'completed', result: 42, seq: 5 });
    // A finished run's keys expire after the retention.
    expect(await redis.pttl(keys.events)).toBeGreaterThan(0);
    expect(await redis.pttl(keys.result)).toBeGreaterThan(0);
  });

  it('claims a fresh run only where no other worker stored it first, and then refuses every save', async () => {
    const run = tiny.run(1, { runId: 'claimed' });
    const snapshot = run.snapshot();
    run.abort();
    const mine = new JobStore(storeOf(), publisher, 'claimed');
    const theirs = new JobStore(storeOf(), publisher, 'claimed');
    expect(await mine.claim(snapshot)).toBe(true);
    expect(await theirs.claim(snapshot)).toBe(false);
    await expect(theirs.save(snapshot)).rejects.toMatchObject({ code: 'store_conflict' });
    await expect(mine.save({ ...snapshot, seq: 2 })).resolves.toBeUndefined();
  });

  it('publishes the events a save covers once it is in, and nothing for a save that failed', async () => {
    const inner = storeOf();
    // The first save fails; the later ones wait until the test lets them through.
    let failFirst = true;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const flaky: CheckpointStore = {
      save: async (s, journal) => {
        if (failFirst) {
          failFirst = false;
          throw new WorkflowError('store_failed', 'down');
        }
        await released;
        await inner.save(s, journal);
      },
      load: (id) => inner.load(id),
      events: (id, o) => inner.events(id, o),
      list: (f) => inner.list(f),
      delete: (id) => inner.delete(id),
      prune: (f) => inner.prune(f),
    };
    const store = new JobStore(flaky, publisher, 'out');
    const run = approval.withOptions({ store }).run('x', { runId: 'out' });
    store.attach(run);
    await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'checkpoint_failed')));
    expect(await redis.exists(runKeys(names.prefix, 'out').events)).toBe(0);

    release();
    await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'checkpoint_saved')));
    await run.flush();
    // What is out is exactly the stored history (the checkpoint's report itself goes out with the next one).
    const published = (await redis.xrange(runKeys(names.prefix, 'out').events, '-', '+')).map(([, f]) => JSON.parse(f[1] as string) as RunEvent);
    expect(published.length).toBeGreaterThan(0);
    expect(published).toEqual(await inner.events('out'));
    run.abort();
  });

  it('does not record a run that failed because the store was down as the run’s outcome', async () => {
    const down: CheckpointStore = {
      save: () => Promise.reject(new Error('connection refused')),
      load: () => Promise.resolve(undefined),
      events: () => Promise.resolve([]),
      list: () => Promise.resolve([]),
      delete: () => Promise.resolve(),
      prune: () => Promise.resolve(0),
    };
    const store = new JobStore(down, publisher, 'outage');
    const run = approval.withOptions({ store }).run('x', { runId: 'outage' });
    store.attach(run);
    const events = await allEvents(run.events$);
    expect(events.at(-1)).toMatchObject({ kind: 'run_failed', error: { code: 'store_failed' } });
    await expect(run.flush()).rejects.toMatchObject({ code: 'store_failed' });
    await expect(store.save(run.snapshot())).rejects.toMatchObject({ code: 'store_failed', message: expect.stringContaining('not recording') });
    expect(await redis.exists(runKeys(names.prefix, 'outage').result)).toBe(0);
  });
});
