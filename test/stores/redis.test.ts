import { readSnapshot } from '../../src/snapshot/schema.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/stores/redis/index.js';
import { canStartOwn, dedicatedServer, sharedServer, titled } from '../support/servers.js';
import type { Service } from '../support/services.js';
import { conflictContract } from './conflictContract.js';
import { storeContract } from './contract.js';
import { journal, makeSnapshot, manualClock } from './fixtures.js';
import type { SnapshotV1 } from '../../src/snapshot/schema.js';
import { readFileSync } from 'node:fs';

/** A hash RedisStore wrote before version 2 (a real version-1 snapshot, no journal stream). */
const v1Hash = JSON.parse(readFileSync(new URL('./v1/redis-hash.json', import.meta.url), 'utf8')) as Record<string, string> & {
  snapshot: string;
  updatedAt: string;
};

const shared = await sharedServer('redis');
const own = await canStartOwn('redis');
const url = 'url' in shared ? shared.url : '';

const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
/** A key prefix of its own for every test, so tests never see each other's runs. */
const freshPrefix = () => `test:${randomUUID().slice(0, 8)}:`;

/** Delete every key under `prefix`. */
async function dropPrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

describe.skipIf('skip' in shared)(titled('RedisStore', shared), () => {
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(url);
  });

  afterAll(() => {
    admin.disconnect();
  });

  storeContract('RedisStore', async () => {
    const prefix = freshPrefix();
    const clock = manualClock();
    const store = new RedisStore({ url, prefix, now: clock.now });
    return {
      store,
      clock,
      // The save is one script, so a crash cannot tear it: add the journal entries behind its back instead.
      tornSave: async (runId, entries) => {
        for (const e of entries) await admin.xadd(`${prefix}events:${runId}`, `${e.seq}-0`, 'e', JSON.stringify(e));
      },
      cleanup: async () => {
        await store.close();
        await dropPrefix(admin, prefix);
      },
    };
  });

  conflictContract('RedisStore', async () => {
    const prefix = freshPrefix();
    const client = new Redis(url);
    return {
      open: () => new RedisStore({ redis: client, prefix }),
      cleanup: async () => {
        await dropPrefix(admin, prefix);
        client.disconnect();
      },
    };
  });

  describe('RedisStore', () => {
    let prefix: string;
    let store: RedisStore;

    beforeEach(() => {
      prefix = freshPrefix();
      store = new RedisStore({ redis: admin, prefix, now: () => 1_234 });
    });

    afterEach(async () => {
      await dropPrefix(admin, prefix);
    });

    it('keeps a run in a hash at <prefix>run:<runId>, indexed in the sorted set <prefix>runs by updatedAt', async () => {
      const snapshot = makeSnapshot({ runId: 'orders/7', status: 'paused', seq: 12 });
      await store.save(snapshot);
      expect((await admin.keys(`${prefix}*`)).sort()).toEqual([`${prefix}run:orders/7`, `${prefix}runs`]);
      const hash = await admin.hgetall(`${prefix}run:orders/7`);
      expect({ ...hash, snapshot: JSON.parse(hash['snapshot'] ?? 'null') as unknown }).toEqual({
        snapshot: viaJson(snapshot),
        workflow: 'orders',
        status: 'paused',
        seq: '12',
        rev: '1',
        writer: store.writerId,
        updatedAt: '1234',
        version: '2',
      });
      expect(await admin.zrange(`${prefix}runs`, 0, -1, 'WITHSCORES')).toEqual(['orders/7', '1234']);
    });

    it('keeps the journal in the Stream <prefix>events:<runId>, entry ids <seq>-0, written with the snapshot', async () => {
      await store.save(makeSnapshot({ runId: 'j', seq: 3 }), journal('j', 1, 3));
      const entries = await admin.xrange(`${prefix}events:j`, '-', '+');
      expect(entries).toEqual(journal('j', 1, 3).map((e) => [`${e.seq}-0`, ['e', JSON.stringify(e)]]));
    });

    it('loads a version-1 hash written before journals, its history read as the journal', async () => {
      await admin.hset(`${prefix}run:order-42`, v1Hash);
      await admin.zadd(`${prefix}runs`, Number(v1Hash.updatedAt), 'order-42');
      const snapshot = JSON.parse(v1Hash.snapshot) as SnapshotV1;
      expect(await store.load('order-42')).toStrictEqual(readSnapshot(snapshot).snapshot);
      expect(await store.list()).toEqual([{ runId: 'order-42', workflow: 'orders', status: 'paused', updatedAt: Number(v1Hash.updatedAt) }]);
      expect(await store.events('order-42', { afterSeq: 17 })).toStrictEqual(snapshot.history.slice(17));
      await store.save({ ...snapshot, seq: 20, status: 'running' }, journal('order-42', 20, 20));
      expect((await store.events('order-42')).map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('uses sluice: as the default prefix', () => {
      expect(new RedisStore({ redis: admin }).prefix).toBe('sluice:');
    });

    it('keeps stores with different prefixes apart', async () => {
      const other = new RedisStore({ redis: admin, prefix: freshPrefix() });
      try {
        await store.save(makeSnapshot({ runId: 'mine' }));
        await other.save(makeSnapshot({ runId: 'theirs' }));
        expect((await store.list()).map((r) => r.runId)).toEqual(['mine']);
        expect((await other.list()).map((r) => r.runId)).toEqual(['theirs']);
        expect(await other.load('mine')).toBeUndefined();
        expect(await other.prune()).toBe(1);
        expect((await store.list()).map((r) => r.runId)).toEqual(['mine']);
      } finally {
        await dropPrefix(admin, other.prefix);
      }
    });

    it('leaves a client it was given connected when closed', async () => {
      await store.save(makeSnapshot({ runId: 'c' }));
      await store.close();
      expect(await admin.ping()).toBe('PONG');
    });

    it('loads scripts again after the server forgot them (SCRIPT FLUSH)', async () => {
      await store.save(makeSnapshot({ runId: 's', seq: 1 }));
      await admin.script('FLUSH');
      await store.save(makeSnapshot({ runId: 's', seq: 2 }));
      expect((await store.load('s'))?.seq).toBe(2);
    });

    it('lists no run for an index entry whose hash is gone (deleted or expired by hand)', async () => {
      await store.save(makeSnapshot({ runId: 'kept' }));
      await store.save(makeSnapshot({ runId: 'gone' }));
      await admin.del(`${prefix}run:gone`);
      expect((await store.list()).map((r) => r.runId)).toEqual(['kept']);
      expect(await store.prune()).toBe(1);
      expect(await admin.zrange(`${prefix}runs`, 0, -1)).toEqual([]);
    });

    it('rejects a snapshot with an unknown status or a non-integer seq with invalid_snapshot', async () => {
      await expect(store.save(makeSnapshot({ runId: 'b1', status: 'sleeping' as never }))).rejects.toMatchObject({
        code: 'invalid_snapshot',
      });
      await expect(store.save(makeSnapshot({ runId: 'b2', seq: -1 }))).rejects.toMatchObject({
        code: 'invalid_snapshot',
      });
    });

    it('prunes nothing for olderThan -Infinity or NaN and everything for +Infinity', async () => {
      await store.save(makeSnapshot({ runId: 'a' }));
      expect(await store.prune({ olderThan: Number.NEGATIVE_INFINITY })).toBe(0);
      expect(await store.prune({ olderThan: Number.NaN })).toBe(0);
      expect(await store.prune({ olderThan: Number.POSITIVE_INFINITY })).toBe(1);
    });

    describe('malformed keys', () => {
      const key = (runId: string) => `${prefix}run:${runId}`;
      /** Write a run's hash by hand, as a bad deploy or a manual edit would, and index it. */
      async function writeHash(runId: string, fields: Record<string, string>): Promise<void> {
        await admin.hset(key(runId), fields);
        await admin.zadd(`${prefix}runs`, 5, runId);
      }
      const fields = (snapshot: unknown) => ({
        snapshot: typeof snapshot === 'string' ? snapshot : JSON.stringify(snapshot),
        workflow: 'orders',
        status: 'running',
        seq: '1',
        rev: '1',
        writer: 'someone',
        updatedAt: '5',
      });

      it('rejects loading a key that is not a hash with invalid_snapshot', async () => {
        await admin.set(key('str'), JSON.stringify(makeSnapshot({ runId: 'str' })));
        await expect(store.load('str')).rejects.toMatchObject({
          name: 'WorkflowError',
          code: 'invalid_snapshot',
          details: { runId: 'str' },
        });
      });

      it('rejects loading a hash without a snapshot field with invalid_snapshot', async () => {
        await admin.hset(key('nosnap'), { workflow: 'orders' });
        await expect(store.load('nosnap')).rejects.toMatchObject({ code: 'invalid_snapshot' });
      });

      it('rejects loading a snapshot field that is not JSON with invalid_snapshot', async () => {
        await writeHash('text', fields('{ not json'));
        await expect(store.load('text')).rejects.toMatchObject({ code: 'invalid_snapshot' });
      });

      it('rejects loading JSON that is not a snapshot with invalid_snapshot', async () => {
        await writeHash('junk', fields({ hello: 'world' }));
        await expect(store.load('junk')).rejects.toMatchObject({ code: 'invalid_snapshot' });
      });

      it('rejects loading a hash that holds another run with invalid_snapshot', async () => {
        await writeHash('mine', fields(makeSnapshot({ runId: 'theirs' })));
        await expect(store.load('mine')).rejects.toMatchObject({ code: 'invalid_snapshot' });
      });

      it('rejects loading a snapshot of an unknown version with snapshot_version', async () => {
        await writeHash('future', fields({ ...makeSnapshot({ runId: 'future' }), version: 3 }));
        await expect(store.load('future')).rejects.toMatchObject({ code: 'snapshot_version' });
      });

      it('rejects listing an indexed key that is not a hash with invalid_snapshot', async () => {
        await store.save(makeSnapshot({ runId: 'fine' }));
        await admin.set(key('str'), 'x');
        await admin.zadd(`${prefix}runs`, 5, 'str');
        await expect(store.list()).rejects.toMatchObject({ code: 'invalid_snapshot', details: { runId: 'str' } });
      });

      it('rejects listing a hash with an unknown status with invalid_snapshot', async () => {
        await writeHash('odd', { ...fields(makeSnapshot({ runId: 'odd' })), status: 'sleeping' });
        await expect(store.list()).rejects.toMatchObject({ code: 'invalid_snapshot', details: { runId: 'odd' } });
      });

      it('rejects saving over a key that is not a hash with invalid_snapshot, leaving it as it was', async () => {
        await admin.set(key('str'), 'x');
        await expect(store.save(makeSnapshot({ runId: 'str' }))).rejects.toMatchObject({ code: 'invalid_snapshot' });
        expect(await admin.get(key('str'))).toBe('x');
      });

      it('rejects saving over a hash without numeric seq and rev with invalid_snapshot', async () => {
        await admin.hset(key('noseq'), { snapshot: '{}' });
        await expect(store.save(makeSnapshot({ runId: 'noseq' }))).rejects.toMatchObject({ code: 'invalid_snapshot' });
      });

      it('overwrites a malformed snapshot with a newer seq from a writer that never loaded it', async () => {
        await writeHash('fixme', fields({ hello: 'world' }));
        const fixed = makeSnapshot({ runId: 'fixme', seq: 2 });
        await store.save(fixed);
        expect(await store.load('fixme')).toStrictEqual(viaJson(fixed));
      });
    });
  });
});

describe.skipIf('skip' in own)(titled('RedisStore when the server goes away', own), () => {
  let server: Service;
  let prefix: string;
  const opened: RedisStore[] = [];
  const open = () => {
    const store = new RedisStore({ url: server.url, prefix });
    opened.push(store);
    return store;
  };

  beforeAll(async () => {
    // Append-only and fsynced on every write, so what was saved survives the stop like on a real server.
    server = await dedicatedServer('redis', { persistent: true });
  }, 120_000);

  afterAll(async () => {
    await server?.dispose();
  }, 60_000);

  beforeEach(async () => {
    prefix = freshPrefix();
    await server.start();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('rejects with store_failed while the server is stopped, then loads the last good snapshot once it is back', async () => {
    const store = open();
    const good = makeSnapshot({ runId: 'r', seq: 3, state: { done: 3 } });
    await store.save(makeSnapshot({ runId: 'r', seq: 1 }));
    await store.save(good);

    await server.stop('immediate');
    const failure = { name: 'WorkflowError', code: 'store_failed' };
    const started = Date.now();
    await expect(store.save(makeSnapshot({ runId: 'r', seq: 4 }))).rejects.toMatchObject(failure);
    await expect(store.save(makeSnapshot({ runId: 'r', seq: 5 }))).rejects.toMatchObject(failure);
    await expect(store.load('r')).rejects.toMatchObject(failure);
    await expect(store.list()).rejects.toMatchObject(failure);
    // Failing fast matters: the engine gives up after three failed checkpoints in a row.
    expect(Date.now() - started).toBeLessThan(10_000);

    await server.start();
    expect(await store.load('r')).toStrictEqual(viaJson(good));
    // Another process resumes the last good checkpoint and carries on.
    const resumer = open();
    expect(await resumer.load('r')).toStrictEqual(viaJson(good));
    await resumer.save(makeSnapshot({ runId: 'r', seq: 6 }));
    expect((await open().load('r'))?.seq).toBe(6);
  }, 60_000);

  it('keeps checkpointing through the same store once the server is back', async () => {
    const store = open();
    await store.save(makeSnapshot({ runId: 'k', seq: 1 }));
    await server.stop('fast');
    await expect(store.save(makeSnapshot({ runId: 'k', seq: 2 }))).rejects.toMatchObject({ code: 'store_failed' });
    await server.start();
    await store.save(makeSnapshot({ runId: 'k', seq: 3 }));
    expect((await open().load('k'))?.seq).toBe(3);
  }, 60_000);

  it('rejects with store_failed when the server is down at first use, and works once it is up', async () => {
    await server.stop('fast');
    const store = open();
    await expect(store.save(makeSnapshot({ runId: 'late' }))).rejects.toMatchObject({ code: 'store_failed' });
    await server.start();
    await store.save(makeSnapshot({ runId: 'late' }));
    expect(await store.load('late')).toStrictEqual(viaJson(makeSnapshot({ runId: 'late' })));
  }, 60_000);
});
