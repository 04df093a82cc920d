/**
 * Engine-level faults with the server checkpoint stores: a run checkpointing to PostgreSQL or Redis whose
 * server goes away mid-run, then comes back; and a stored checkpoint damaged by hand.
 *
 * Every suite runs its own server (started here, stopped and restarted by the tests), so an outage disturbs
 * no other test file. When a server cannot be had the suite is skipped and its title says why.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { firstValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  event,
  StartEvent,
  StopEvent,
  workflow,
  WorkflowError,
  type CheckpointStore,
  type RunEvent,
  type RunHandle,
  type Snapshot,
} from 'sluice';
import { PostgresStore } from 'sluice/postgres';
import { RedisStore } from 'sluice/redis';
import { canStartOwn, dedicatedServer, titled } from '../support/servers.js';
import type { ServerKind, Service } from '../support/services.js';

// ── the workflow ──────────────────────────────────────────────────────────────────────────────────

const Count = event('Count', z.object({ n: z.number().int() }));
const LAST = 6;

interface Result {
  n: number;
  seen: number[];
}

/** What every run of `counting` returns, interrupted or not. */
const EXPECTED: Result = { n: LAST, seen: [1, 2, 3, 4, 5, 6] };

/** Where a step may be held: `undefined` to go straight on, or a promise the test settles. */
type Hold = (n: number, signal: AbortSignal) => Promise<void> | undefined;

/**
 * start → Count 1 → Count 2 → … → Stop at Count LAST. Each `count` invocation records its `n` in the run
 * state after its hold, so a checkpoint taken while it is held shows it in flight and not yet counted, and
 * a re-delivery after resume counts it exactly once.
 */
function counting(store: CheckpointStore, hold: Hold = () => undefined) {
  return workflow<Result>('counting', { store })
    .step('start', { accepts: [StartEvent] }, () => Count.of({ n: 1 }))
    .step('count', { accepts: [Count] }, async (ev, ctx) => {
      await hold(ev.data.n, ctx.signal);
      const seen = ctx.state.update<number[]>('seen', (s = []) => [...s, ev.data.n]);
      return ev.data.n >= LAST ? StopEvent.of({ result: { n: ev.data.n, seen } }) : Count.of({ n: ev.data.n + 1 });
    });
}

/** A step holds at a gate until the test opens it (or the run ends and aborts the step). */
interface Gate {
  /** Resolves once a step is held here. */
  readonly reached: Promise<void>;
  open(): void;
}

function gates(...at: number[]): { hold: Hold; gate: (n: number) => Gate } {
  const made = new Map<number, Gate & { wait(signal: AbortSignal): Promise<void> }>();
  for (const n of at) {
    let arrive!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    const opened = new Promise<void>((resolve) => (release = resolve));
    made.set(n, {
      reached,
      open: () => release(),
      wait(signal) {
        arrive();
        return new Promise<void>((resolve, reject) => {
          void opened.then(resolve);
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      },
    });
  }
  return {
    hold: (n, signal) => made.get(n)?.wait(signal),
    gate: (n) => {
      const g = made.get(n);
      if (g === undefined) throw new Error(`no gate at ${n}`);
      return g;
    },
  };
}

function record(run: RunHandle): RunEvent[] {
  const events: RunEvent[] = [];
  run.events$.subscribe((e) => events.push(e));
  return events;
}

// ── the servers, seen around the stores ───────────────────────────────────────────────────────────

interface Harness {
  readonly kind: ServerKind;
  readonly storeName: string;
  /** A fresh table / key prefix for the next test. */
  fresh(): void;
  /** A new store instance: one writer, as one process would have. */
  open(url: string): CheckpointStore & { close(): Promise<void> };
  /** Everything the server holds for a run (row / hash), read around the store; `undefined` when absent. */
  row(url: string, runId: string): Promise<Record<string, unknown> | undefined>;
  /** The snapshot inside what `row` returned. */
  snapshotOf(row: Record<string, unknown>): Snapshot;
  /** Put back exactly what `row` returned. */
  restore(url: string, runId: string, row: Record<string, unknown>): Promise<void>;
  /** Ways a bad migration or a manual edit could damage the stored checkpoint. */
  readonly damage: Record<string, (url: string, runId: string, row: Record<string, unknown>) => Promise<void>>;
}

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

async function redis<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

function postgresHarness(): Harness {
  let table = '';
  const update = (set: string) => (url: string, runId: string) =>
    sql(url, `UPDATE ${table} SET snapshot = ${set} WHERE run_id = $1`, [runId]).then(() => undefined);
  return {
    kind: 'postgres',
    storeName: 'PostgresStore',
    fresh() {
      table = `faults_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    },
    open: (url) => new PostgresStore({ connectionString: url, table, poolConfig: { connectionTimeoutMillis: 2_000 } }),
    row: async (url, runId) => {
      const result = await sql(url, `SELECT * FROM ${table} WHERE run_id = $1`, [runId]);
      return result.rows[0] as Record<string, unknown> | undefined;
    },
    snapshotOf: (row) => row['snapshot'] as Snapshot,
    restore: async (url, runId, row) => {
      await sql(url, `UPDATE ${table} SET snapshot = $2::jsonb WHERE run_id = $1`, [runId, JSON.stringify(row['snapshot'])]);
    },
    damage: {
      'an object that is not a snapshot': update(`'{"hello":"world"}'::jsonb`),
      'a JSON string': update(`'"just text"'::jsonb`),
      'a snapshot without its pending events': update(`snapshot - 'pending'`),
      'a snapshot whose seq is not a number': update(`jsonb_set(snapshot, '{seq}', '"seven"')`),
      'a snapshot of another run': update(`jsonb_set(snapshot, '{runId}', '"someone-else"')`),
    },
  };
}

function redisHarness(): Harness {
  let prefix = '';
  const key = (runId: string) => `${prefix}run:${runId}`;
  type Row = Record<string, unknown>;
  const setSnapshot = (text: (row: Row) => string) => async (url: string, runId: string, row: Row) => {
    await redis(url, (c) => c.hset(key(runId), 'snapshot', text(row)));
  };
  return {
    kind: 'redis',
    storeName: 'RedisStore',
    fresh() {
      prefix = `faults:${randomUUID().slice(0, 8)}:`;
    },
    open: (url) => new RedisStore({ url, prefix }),
    row: async (url, runId) => {
      const hash = await redis(url, (c) => c.hgetall(key(runId)));
      return Object.keys(hash).length === 0 ? undefined : hash;
    },
    snapshotOf: (row) => JSON.parse(row['snapshot'] as string) as Snapshot,
    restore: (url, runId, row) =>
      redis(url, async (c) => {
        await c.del(key(runId));
        await c.hset(key(runId), row as Record<string, string>);
      }),
    damage: {
      'a snapshot field that is not JSON': setSnapshot(() => '{ not json'),
      'JSON that is not a snapshot': setSnapshot(() => '{"hello":"world"}'),
      'a snapshot without its pending events': setSnapshot((row) => {
        const { pending: _dropped, ...rest } = JSON.parse(row['snapshot'] as string) as Snapshot;
        return JSON.stringify(rest);
      }),
      'a hash without a snapshot field': async (url, runId) => {
        await redis(url, (c) => c.hdel(key(runId), 'snapshot'));
      },
      'a string where the hash should be': (url, runId) =>
        redis(url, async (c) => {
          await c.del(key(runId));
          await c.set(key(runId), 'garbage');
        }),
    },
  };
}

// ── the suites ────────────────────────────────────────────────────────────────────────────────────

const harnesses: [Harness, Awaited<ReturnType<typeof canStartOwn>>][] = [
  [postgresHarness(), await canStartOwn('postgres')],
  [redisHarness(), await canStartOwn('redis')],
];

for (const [h, own] of harnesses) {
  describe.skipIf('skip' in own)(titled(`a run checkpointing to ${h.storeName} (engine-level faults)`, own), () => {
    let server: Service;
    const opened: { close(): Promise<void> }[] = [];
    const open = () => {
      const store = h.open(server.url);
      opened.push(store);
      return store;
    };

    beforeAll(async () => {
      // Redis append-only and fsynced on every write, so a checkpoint survives the stop as on a real server.
      server = await dedicatedServer(h.kind, { persistent: true });
    }, 120_000);

    afterAll(async () => {
      await server?.dispose();
    }, 60_000);

    beforeEach(async () => {
      h.fresh();
      await server.start();
    }, 60_000);

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    it('completes with the expected result when nothing goes wrong', async () => {
      const store = open();
      const run = counting(store).run(null);
      expect(await run.result).toEqual(EXPECTED);
      await run.flush();
      const row = await h.row(server.url, run.id);
      expect(row && h.snapshotOf(row)).toMatchObject({ status: 'completed', state: { seen: EXPECTED.seen } });
    });

    it(
      'fails store_failed after checkpoint_failed 1, 2, 3 while the server is down, and resumeFrom continues ' +
        'from the last good checkpoint once it is back, with the result of an uninterrupted run',
      async () => {
        // An uninterrupted run, for the result to compare with.
        const uninterrupted = await counting(open()).run(null).result;

        const store = open();
        const { hold, gate } = gates(3, 4);
        const run = counting(store, hold).run(null);
        const events = record(run);
        run.result.catch(() => undefined); // asserted below

        // Count 3 is in flight and held; everything up to here is checkpointed.
        await gate(3).reached;
        await run.flush();
        const good = await h.row(server.url, run.id);
        if (good === undefined) throw new Error('no checkpoint was saved before the outage');
        const goodSnapshot = h.snapshotOf(good);
        expect(goodSnapshot).toMatchObject({
          runId: run.id,
          status: 'running',
          state: { seen: [1, 2] },
          pending: [],
          inFlight: [{ step: 'count', envelope: { event: { type: 'Count', data: { n: 3 } } } }],
        });
        expect(events.filter((e) => e.kind === 'checkpoint_saved').length).toBeGreaterThan(0);
        expect(events.filter((e) => e.kind === 'checkpoint_failed')).toEqual([]);
        const beforeOutage = events.length;

        // The server goes away; Count 3 finishes and Count 4 starts (and is held): that checkpoint cannot be saved.
        await server.stop('immediate');
        gate(3).open();
        const error = await run.result.then(
          () => {
            throw new Error('the run completed although its checkpoints failed');
          },
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(WorkflowError);
        expect(error).toMatchObject({
          code: 'store_failed',
          message: expect.stringContaining('3 checkpoints in a row failed'),
        });
        expect(run.status).toBe('failed');
        // The final checkpoint (status failed) is attempted too, and fails: flush() waits for it and says so,
        // and nothing can land after the restart.
        await expect(run.flush()).rejects.toMatchObject({ name: 'WorkflowError', code: 'store_failed' });

        const outage = events.slice(beforeOutage);
        expect(outage.map((e) => e.kind)).toEqual([
          'step_completed',
          'event_routed',
          'step_started',
          'checkpoint_failed',
          'checkpoint_failed',
          'checkpoint_failed',
          'run_failed',
        ]);
        const failure = { code: 'store_failed', message: expect.stringContaining(h.storeName) };
        expect(outage.slice(3)).toEqual([
          expect.objectContaining({ kind: 'checkpoint_failed', consecutive: 1, error: failure }),
          expect.objectContaining({ kind: 'checkpoint_failed', consecutive: 2, error: failure }),
          expect.objectContaining({ kind: 'checkpoint_failed', consecutive: 3, error: failure }),
          expect.objectContaining({ kind: 'run_failed', error: expect.objectContaining({ code: 'store_failed' }) }),
        ]);
        expect(outage[2]).toMatchObject({ kind: 'step_started', step: 'count' });
        // seq goes on without holes across the outage.
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

        // The server is back with the last good checkpoint, untouched by the failed saves.
        await server.start();
        expect(await h.row(server.url, run.id)).toEqual(good);

        // Another process (a new store instance) resumes it: Count 3 is re-delivered, counted once.
        const resumer = open();
        const resumed = await counting(resumer).resumeFrom(resumer, run.id);
        const after = record(resumed);
        const result = await resumed.result;
        await resumed.flush();
        expect(result).toEqual(uninterrupted);
        expect(result).toEqual(EXPECTED);

        const fresh = after.filter((e) => e.seq > goodSnapshot.seq);
        expect(fresh[0]).toMatchObject({ kind: 'run_resumed', seq: goodSnapshot.seq + 1 });
        expect(fresh.map((e) => e.seq)).toEqual(fresh.map((_, i) => goodSnapshot.seq + 1 + i));
        expect(fresh.some((e) => e.kind === 'checkpoint_failed')).toBe(false);
        // At-least-once with the same invocationId: the one held when the last good checkpoint was taken.
        const heldId = goodSnapshot.inFlight[0]?.invocationId;
        expect(events.filter((e) => e.kind === 'step_started').at(-2)).toMatchObject({ invocationId: heldId });
        expect(fresh.find((e) => e.kind === 'step_started')).toMatchObject({ step: 'count', invocationId: heldId });
        expect(fresh.at(-1)).toMatchObject({ kind: 'run_completed', result: EXPECTED });

        const final = await h.row(server.url, run.id);
        expect(final && h.snapshotOf(final)).toMatchObject({ status: 'completed', state: { seen: EXPECTED.seen } });
      },
      60_000,
    );

    /** A run paused after Count 2 and checkpointed, whose process is gone: only its stored checkpoint is left. */
    async function parkedRun(): Promise<{ runId: string; good: Record<string, unknown> }> {
      const store = h.open(server.url); // closed here, not by afterEach
      const { hold, gate } = gates(2);
      const run = counting(store, hold).run(null);
      await gate(2).reached;
      const pausing = run.pause();
      gate(2).open();
      await pausing;
      await run.flush();
      await store.close();
      const good = await h.row(server.url, run.id);
      if (good === undefined) throw new Error('the paused run was not checkpointed');
      expect(h.snapshotOf(good)).toMatchObject({
        status: 'paused',
        state: { seen: [1, 2] },
        inFlight: [],
        pending: [{ event: { type: 'Count', data: { n: 3 } } }],
      });
      return { runId: run.id, good };
    }

    it('rejects resumeFrom of a damaged checkpoint with invalid_snapshot, and resumes it once repaired', async () => {
      const { runId, good } = await parkedRun();
      for (const [what, damage] of Object.entries(h.damage)) {
        await damage(server.url, runId, good);
        const reader = open();
        const attempt = counting(reader).resumeFrom(reader, runId);
        await expect(attempt, what).rejects.toBeInstanceOf(WorkflowError);
        await expect(attempt, what).rejects.toMatchObject({ code: 'invalid_snapshot', details: { runId } });
        await h.restore(server.url, runId, good);
      }

      const resumer = open();
      const resumed = await counting(resumer).resumeFrom(resumer, runId);
      expect(await resumed.result).toEqual(EXPECTED);
      await resumed.flush();
    }, 60_000);

    it('lets one of two processes resuming the same checkpoint win: the other run fails store_conflict at once', async () => {
      const { runId } = await parkedRun();
      // Process B loads the checkpoint (what resumeFrom does first), then process A resumes it and checkpoints.
      const second = open();
      const loaded = await second.load(runId);
      if (loaded === undefined) throw new Error('the checkpoint is gone');
      const first = open();
      const a = await counting(first).resumeFrom(first, runId);
      expect(await a.result).toEqual(EXPECTED);
      await a.flush();

      // B goes on from the revision it loaded; Count 3 is held, so only the conflict can end its run.
      const { hold } = gates(3);
      const b = counting(second, hold).resume(loaded);
      // All of its events: the journal (read from the server) comes first, so it can arrive after the result.
      const followed = firstValueFrom(b.events$.pipe(toArray()));
      const error = await b.result.then(
        () => {
          throw new Error('the second resumer completed although its checkpoint was refused');
        },
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(WorkflowError);
      expect(error).toMatchObject({ code: 'store_conflict' });
      const fresh = (await followed).filter((e) => e.seq > loaded.seq);
      const conflict = expect.objectContaining({ code: 'store_conflict' });
      const outcomes = ['checkpoint_saved', 'checkpoint_failed', 'run_failed'];
      expect(fresh.filter((e) => outcomes.includes(e.kind))).toEqual([
        expect.objectContaining({ kind: 'checkpoint_failed', consecutive: 1, error: conflict }),
        expect.objectContaining({ kind: 'run_failed', error: conflict }),
      ]);
      expect(fresh.at(-1)?.kind).toBe('run_failed');
      // Its final checkpoint is refused too; A's completed run stays what the store holds.
      await expect(b.flush()).rejects.toMatchObject({ code: 'store_conflict' });
      const row = await h.row(server.url, runId);
      expect(row && h.snapshotOf(row)).toMatchObject({ status: 'completed', state: { seen: EXPECTED.seen } });
    }, 60_000);
  });
}

