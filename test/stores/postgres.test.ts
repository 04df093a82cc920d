import { readSnapshot } from '../../src/snapshot/schema.js';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PostgresStore, migrate } from '../../src/stores/postgres/index.js';
import { canStartOwn, dedicatedServer, sharedServer, titled } from '../support/servers.js';
import type { Service } from '../support/services.js';
import { conflictContract } from './conflictContract.js';
import { storeContract } from './contract.js';
import { journal, makeSnapshot, manualClock } from './fixtures.js';
import type { SnapshotV1 } from '../../src/snapshot/schema.js';
import { readFileSync } from 'node:fs';

/** A row PostgresStore wrote before version 2 (a real version-1 snapshot, no journal rows). */
const v1Row = JSON.parse(readFileSync(new URL('./v1/postgres-row.json', import.meta.url), 'utf8')) as {
  run_id: string; workflow: string; status: string; seq: number; rev: number; writer: string; updated_at: number; snapshot: SnapshotV1;
};

const shared = await sharedServer('postgres');
const own = await canStartOwn('postgres');
const url = 'url' in shared ? shared.url : '';

const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
/** A table of its own for every test, so tests never see each other's runs. */
const freshTable = () => `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;

describe.skipIf('skip' in shared)(titled('PostgresStore', shared), () => {
  let admin: pg.Pool;

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
  });

  afterAll(async () => {
    await admin.end();
  });

  const dropTable = (table: string) => admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_events`);

  storeContract('PostgresStore', async () => {
    const table = freshTable();
    const clock = manualClock();
    const store = new PostgresStore({ connectionString: url, table, now: clock.now });
    return {
      store,
      clock,
      // The save is one statement, so a crash cannot tear it: write the journal rows behind its back instead.
      tornSave: async (runId, entries) => {
        for (const e of entries) {
          await admin.query(`INSERT INTO ${table}_events (run_id, seq, event) VALUES ($1, $2, $3::jsonb)`, [runId, e.seq, JSON.stringify(e)]);
        }
      },
      cleanup: async () => {
        await store.close();
        await dropTable(table);
      },
    };
  });

  conflictContract('PostgresStore', async () => {
    const table = freshTable();
    const pool = new pg.Pool({ connectionString: url, max: 12 });
    return {
      open: () => new PostgresStore({ pool, table }),
      cleanup: async () => {
        await pool.end();
        await dropTable(table);
      },
    };
  });

  describe('PostgresStore', () => {
    let table: string;
    let store: PostgresStore;

    beforeEach(() => {
      table = freshTable();
      store = new PostgresStore({ pool: admin, table, now: () => 1_234 });
    });

    afterEach(async () => {
      await dropTable(table);
    });

    it('creates its table on first use, with the snapshot as jsonb and indexes on workflow, status and updated_at', async () => {
      expect(await store.list()).toEqual([]);
      const columns = await admin.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
        [table],
      );
      expect(columns.rows.map((c) => [c.column_name, c.data_type])).toEqual([
        ['run_id', 'text'],
        ['workflow', 'text'],
        ['status', 'text'],
        ['seq', 'bigint'],
        ['rev', 'bigint'],
        ['writer', 'text'],
        ['updated_at', 'bigint'],
        ['snapshot', 'jsonb'],
      ]);
      const indexes = await admin.query<{ indexdef: string }>(
        `SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`,
        [table],
      );
      expect(indexes.rows.map((i) => i.indexdef.replace(/^.* USING /, ''))).toEqual([
        'btree (run_id)',
        'btree (status, updated_at)',
        'btree (updated_at)',
        'btree (workflow, updated_at)',
      ]);
    });

    it('writes one row per run with the summary columns beside the snapshot', async () => {
      const snapshot = makeSnapshot({ runId: 'orders/7', status: 'paused', seq: 12 });
      await store.save(snapshot);
      const rows = await admin.query(`SELECT * FROM ${table}`);
      expect(rows.rows).toEqual([
        {
          run_id: 'orders/7',
          workflow: 'orders',
          status: 'paused',
          seq: '12',
          rev: '1',
          writer: store.writerId,
          updated_at: '1234',
          snapshot: viaJson(snapshot),
        },
      ]);
    });

    it('writes the journal to <table>_events, one jsonb row per RunEvent keyed (run_id, seq)', async () => {
      await store.save(makeSnapshot({ runId: 'j', seq: 5 }), journal('j', 1, 5));
      const rows = await admin.query<{ run_id: string; seq: string; event: unknown }>(
        `SELECT run_id, seq, event FROM ${table}_events ORDER BY seq`,
      );
      expect(rows.rows).toEqual(journal('j', 1, 5).map((e) => ({ run_id: 'j', seq: String(e.seq), event: viaJson(e) })));
    });

    it('loads a version-1 row written before journals, its history read as the journal', async () => {
      const row = v1Row;
      await migrate(admin, { table });
      await admin.query(
        `INSERT INTO ${table} (run_id, workflow, status, seq, rev, writer, updated_at, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
        [row.run_id, row.workflow, row.status, row.seq, row.rev, row.writer, row.updated_at, JSON.stringify(row.snapshot)],
      );
      expect(await store.load('order-42')).toStrictEqual(readSnapshot(row.snapshot).snapshot);
      expect(await store.list()).toEqual([{ runId: 'order-42', workflow: 'orders', status: 'paused', updatedAt: row.updated_at }]);
      expect(await store.events('order-42', { afterSeq: 17 })).toStrictEqual(row.snapshot.history.slice(17));
      await store.save({ ...row.snapshot, seq: 20, status: 'running' }, journal('order-42', 20, 20));
      expect((await store.events('order-42')).map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('creates the table up front with migrate(), safely when several processes do it at once', async () => {
      await Promise.all(Array.from({ length: 5 }, () => migrate(admin, { table })));
      const manual = new PostgresStore({ pool: admin, table, createTable: false });
      await manual.save(makeSnapshot({ runId: 'm' }));
      expect(await manual.load('m')).toStrictEqual(viaJson(makeSnapshot({ runId: 'm' })));
    });

    it('rejects with store_failed when createTable is false and the table does not exist', async () => {
      const manual = new PostgresStore({ pool: admin, table, createTable: false });
      await expect(manual.load('x')).rejects.toMatchObject({ name: 'WorkflowError', code: 'store_failed' });
    });

    it('accepts a schema-qualified table name', async () => {
      const schema = `s_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      try {
        const qualified = new PostgresStore({ pool: admin, table: `${schema}.runs` });
        await qualified.save(makeSnapshot({ runId: 'q' }));
        const rows = await admin.query(`SELECT run_id FROM ${schema}.runs`);
        expect(rows.rows).toEqual([{ run_id: 'q' }]);
      } finally {
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      }
    });

    it('refuses a table name that is not a plain identifier', () => {
      for (const bad of ['runs; DROP TABLE x', 'a.b.c', '"quoted"', '1runs', '']) {
        expect(() => new PostgresStore({ pool: admin, table: bad }), bad).toThrow(
          expect.objectContaining({ name: 'WorkflowError', code: 'store_failed' }),
        );
      }
    });

    it('leaves a pool it was given open when closed', async () => {
      await store.save(makeSnapshot({ runId: 'p' }));
      await store.close();
      expect((await admin.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });

    it('rejects a snapshot with an unknown status or a non-integer seq with invalid_snapshot', async () => {
      const badStatus = makeSnapshot({ runId: 'b1', status: 'sleeping' as never });
      const badSeq = makeSnapshot({ runId: 'b2', seq: 1.5 });
      await expect(store.save(badStatus)).rejects.toMatchObject({ code: 'invalid_snapshot' });
      await expect(store.save(badSeq)).rejects.toMatchObject({ code: 'invalid_snapshot' });
    });

    it('prunes nothing for olderThan -Infinity or NaN and everything for +Infinity', async () => {
      await store.save(makeSnapshot({ runId: 'a' }));
      expect(await store.prune({ olderThan: Number.NEGATIVE_INFINITY })).toBe(0);
      expect(await store.prune({ olderThan: Number.NaN })).toBe(0);
      expect(await store.prune({ olderThan: Number.POSITIVE_INFINITY })).toBe(1);
    });

    describe('malformed rows', () => {
      /** Write a row by hand, as a bad migration or a manual edit would. */
      async function writeRow(runId: string, snapshot: unknown, status = 'running'): Promise<void> {
        await migrate(admin, { table });
        await admin.query(
          `INSERT INTO ${table} (run_id, workflow, status, seq, rev, writer, updated_at, snapshot)
           VALUES ($1, 'orders', $2, 1, 1, 'someone', 5, $3::jsonb)`,
          [runId, status, JSON.stringify(snapshot)],
        );
      }

      it('rejects loading a row whose jsonb is not a snapshot with invalid_snapshot', async () => {
        await writeRow('junk', { hello: 'world' });
        await expect(store.load('junk')).rejects.toMatchObject({
          name: 'WorkflowError',
          code: 'invalid_snapshot',
          details: { runId: 'junk' },
        });
      });

      it('rejects loading a row whose jsonb is a scalar with invalid_snapshot', async () => {
        await writeRow('scalar', 'just text');
        await expect(store.load('scalar')).rejects.toMatchObject({ code: 'invalid_snapshot' });
      });

      it('rejects loading a snapshot with a missing field with invalid_snapshot', async () => {
        const { pending: _dropped, ...partial } = makeSnapshot({ runId: 'partial' });
        await writeRow('partial', partial);
        await expect(store.load('partial')).rejects.toMatchObject({ code: 'invalid_snapshot' });
      });

      it('rejects loading a row that holds another run with invalid_snapshot', async () => {
        await writeRow('mine', makeSnapshot({ runId: 'theirs' }));
        await expect(store.load('mine')).rejects.toMatchObject({ code: 'invalid_snapshot' });
      });

      it('rejects loading a snapshot of an unknown version with snapshot_version', async () => {
        await writeRow('future', { ...makeSnapshot({ runId: 'future' }), version: 3 });
        await expect(store.load('future')).rejects.toMatchObject({ code: 'snapshot_version' });
      });

      it('rejects listing a row with an unknown status with invalid_snapshot', async () => {
        await writeRow('odd', makeSnapshot({ runId: 'odd' }), 'sleeping');
        await expect(store.list()).rejects.toMatchObject({ code: 'invalid_snapshot', details: { runId: 'odd' } });
      });

      it('overwrites a malformed row with a newer seq from a writer that never loaded it', async () => {
        await writeRow('fixme', { hello: 'world' });
        const fixed = makeSnapshot({ runId: 'fixme', seq: 2 });
        await store.save(fixed);
        expect(await store.load('fixme')).toStrictEqual(viaJson(fixed));
      });
    });
  });
});

describe.skipIf('skip' in own)(titled('PostgresStore when the server goes away', own), () => {
  let server: Service;
  let table: string;
  const opened: PostgresStore[] = [];
  const open = () => {
    const store = new PostgresStore({ connectionString: server.url, table, poolConfig: { connectionTimeoutMillis: 2_000 } });
    opened.push(store);
    return store;
  };

  beforeAll(async () => {
    server = await dedicatedServer('postgres');
  }, 120_000);

  afterAll(async () => {
    await server?.dispose();
  }, 60_000);

  beforeEach(async () => {
    table = freshTable();
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
    await expect(store.save(makeSnapshot({ runId: 'r', seq: 4 }))).rejects.toMatchObject(failure);
    await expect(store.save(makeSnapshot({ runId: 'r', seq: 5 }))).rejects.toMatchObject(failure);
    await expect(store.load('r')).rejects.toMatchObject(failure);
    await expect(store.list()).rejects.toMatchObject(failure);

    await server.start();
    expect(await store.load('r')).toStrictEqual(viaJson(good));
    // Another process resumes the last good checkpoint and carries on; the first one has lost the run.
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

  it('creates its table once the server is back when it was down at first use', async () => {
    await server.stop('fast');
    const store = open();
    await expect(store.save(makeSnapshot({ runId: 'late' }))).rejects.toMatchObject({ code: 'store_failed' });
    await server.start();
    await store.save(makeSnapshot({ runId: 'late' }));
    expect(await store.load('late')).toStrictEqual(viaJson(makeSnapshot({ runId: 'late' })));
  }, 60_000);
});
