import pg from 'pg';
import type { PoolConfig } from 'pg';
import { asStoreError } from '../../errors/WorkflowError.js';
import type { AnySnapshot, Snapshot } from '../../snapshot/schema.js';
import type { RunEvent } from '../../telemetry/runEvent.js';
import type { CheckpointStore, EventsOptions, ListFilter, PruneFilter, RunSummary } from '../CheckpointStore.js';
import {
  WriterClaims,
  checkSaveable,
  conflictError,
  eventsWindow,
  invalidStored,
  isRunStatus,
  journalDelta,
  journalWindow,
  olderThanBound,
  rememberSuccess,
  storedSnapshot,
} from '../shared.js';
import { type PgQueryable, type TableName, migrate, tableName, whereClause } from './schema.js';

export interface PostgresStoreOptions {
  /** A `pg.Pool` (or client) to run queries on. The store never ends it; handle its `'error'` events yourself. */
  pool?: PgQueryable;
  /** Or a connection string: the store creates a `pg.Pool`, and `close()` ends it. */
  connectionString?: string;
  /** Extra settings for the pool the store creates from `connectionString`. */
  poolConfig?: PoolConfig;
  /** `table` or `schema.table`; default `sluice_checkpoints`. */
  table?: string;
  /** Create the table on first use (default `true`); `false` when `migrate()` runs separately. */
  createTable?: boolean;
  /** Clock stamping `updatedAt` (epoch ms). Defaults to `Date.now`. */
  now?: () => number;
  /** This instance's writer id for the conflict check; a random UUID by default. */
  writerId?: string;
}

interface SummaryRow {
  run_id: string;
  workflow: string;
  status: string;
  updated_at: string;
}

const NAME = 'PostgresStore';

/**
 * A `CheckpointStore` in PostgreSQL: a row per run with the snapshot as `jsonb` and indexed `workflow`,
 * `status` and `updated_at` (epoch ms) columns, and the journal in `<table>_events`, a `jsonb` row per
 * RunEvent keyed `(run_id, seq)`, written in the same statement as the checkpoint that covers it. The tables
 * are created on first use (or by {@link migrate}). Uses `pg`, an optional peer dependency.
 *
 * Saves are optimistic, so two processes resuming the same run cannot both win. Each stored checkpoint
 * carries a revision and the id of the store instance (the writer) that saved it, and a save is accepted
 * only when the run is not stored yet, or this instance wrote the stored revision, or this instance loaded
 * (or saved) exactly the stored revision, or — for an instance that never saw the run, e.g. resuming a
 * snapshot obtained elsewhere — the snapshot's `seq` is higher than the stored one. Otherwise it rejects
 * with `store_conflict`, and that instance's later saves of the run are refused too until it loads it again:
 * of two processes that loaded the same revision, the first to checkpoint wins and the other is fenced off.
 * Writers are store instances: two runs of one id through one instance are not told apart.
 *
 * Connection and query failures reject with `store_failed`; a row that is not a snapshot with
 * `invalid_snapshot` (`snapshot_version` for an unknown version).
 *
 * @example
 * ```ts
 * import { PostgresStore } from 'sluice/postgres';
 * const store = new PostgresStore('postgres://app@localhost/app');
 * const wf = workflow('orders', { store });
 * const handle = await wf.resumeFrom(store, runId);   // loads, then checkpoints as the run's only writer
 * await store.close();
 * ```
 */
export class PostgresStore implements CheckpointStore {
  readonly table: string;
  readonly #db: PgQueryable;
  #ownedPool: pg.Pool | undefined;
  readonly #table: TableName;
  readonly #createTable: boolean;
  readonly #now: () => number;
  readonly #claims: WriterClaims;
  readonly #ensureTable: () => Promise<void>;

  constructor(options: string | PostgresStoreOptions) {
    const opts = typeof options === 'string' ? { connectionString: options } : options;
    this.#table = tableName(opts.table);
    this.table = this.#table.name;
    this.#createTable = opts.createTable ?? true;
    this.#now = opts.now ?? Date.now;
    this.#claims = new WriterClaims(opts.writerId);
    // Remember only success, so a server that was down at first use is migrated once it is back.
    const migrateOnce = rememberSuccess(() => this.migrate());
    this.#ensureTable = () => (this.#createTable ? migrateOnce() : Promise.resolve());
    if (opts.pool !== undefined) {
      this.#db = opts.pool;
      this.#ownedPool = undefined;
    } else {
      const pool = new pg.Pool({
        connectionTimeoutMillis: 10_000,
        // A hung server must not block a checkpoint forever; the engine counts the failure and moves on.
        query_timeout: 30_000,
        ...opts.poolConfig,
        ...(opts.connectionString === undefined ? {} : { connectionString: opts.connectionString }),
      });
      // An idle connection dropped by the server emits 'error' on the pool; unhandled, it would crash the
      // process. The next query reconnects or rejects with store_failed, which is where it is reported.
      pool.on('error', () => undefined);
      this.#db = pool;
      this.#ownedPool = pool;
    }
  }

  /** The id this instance writes under (the `writer` column). */
  get writerId(): string {
    return this.#claims.writerId;
  }

  async save(snapshot: AnySnapshot, journal?: readonly RunEvent[]): Promise<void> {
    checkSaveable(snapshot, NAME);
    const delta = journalDelta(snapshot, journal, NAME);
    const { runId } = snapshot;
    const claim = this.#claims.get(runId);
    const t = this.#table.sql;
    const ev = this.#table.events;
    try {
      const text = JSON.stringify(snapshot);
      await this.#ensureTable();
      // One statement, so the check, the snapshot and the journal are written atomically; the upsert's WHERE
      // is the acceptance rule, and the journal is written only when it passed. Journal rows beyond what the
      // new checkpoint covers (an older snapshot saved again by its writer) go. No row is ever beyond the
      // stored seq (both are written here, together), so `seq > $4` finds them all; as a plain parameter it
      // lets the planner use the (run_id, seq) key. A bound read from the snapshot row in the statement made
      // it guess a third of the run's rows and scan the whole table per save: O(journal) per checkpoint.
      const result = await this.#db.query<{ rev: string }>(
        `WITH up AS (
           INSERT INTO ${t} AS cur (run_id, workflow, status, seq, rev, writer, updated_at, snapshot)
           VALUES ($1, $2, $3, $4, 1, $5, $6, $7::jsonb)
           ON CONFLICT (run_id) DO UPDATE SET
             workflow = excluded.workflow, status = excluded.status, seq = excluded.seq, rev = cur.rev + 1,
             writer = excluded.writer, updated_at = excluded.updated_at, snapshot = excluded.snapshot
           WHERE cur.writer = excluded.writer
              OR cur.rev = $8::bigint
              OR ($8::bigint IS NULL AND cur.seq < excluded.seq)
           RETURNING rev),
         cut AS (
           DELETE FROM ${ev} WHERE run_id = $1 AND seq > $4::bigint AND EXISTS (SELECT 1 FROM up)),
         ins AS (
           INSERT INTO ${ev} (run_id, seq, event)
           SELECT $1, (e->>'seq')::bigint, e FROM jsonb_array_elements($9::jsonb) AS e WHERE EXISTS (SELECT 1 FROM up)
           ON CONFLICT (run_id, seq) DO UPDATE SET event = excluded.event)
         SELECT rev FROM up`,
        [
          runId,
          snapshot.workflow,
          snapshot.status,
          snapshot.seq,
          this.writerId,
          Math.round(this.#now()),
          text,
          claim ?? null,
          JSON.stringify(delta),
        ],
      );
      const row = result.rows[0];
      if (row !== undefined) {
        this.#claims.saw(runId, Number(row.rev));
        return;
      }
      this.#claims.lost(runId);
      // Only for the message: the save was refused either way, so a failure here must not hide that.
      const stored = await this.#db
        .query<{ seq: string; rev: string }>(`SELECT seq, rev FROM ${t} WHERE run_id = $1`, [runId])
        .then((r) => r.rows[0])
        .catch(() => undefined);
      throw conflictError(
        NAME,
        snapshot,
        stored === undefined ? undefined : { seq: Number(stored.seq), rev: Number(stored.rev) },
      );
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot save run '${runId}' in ${this.table}`);
    }
  }

  async load(runId: string): Promise<Snapshot | undefined> {
    let row: { snapshot: unknown; rev: string } | undefined;
    try {
      await this.#ensureTable();
      const result = await this.#db.query<{ snapshot: unknown; rev: string }>(
        `SELECT snapshot, rev FROM ${this.#table.sql} WHERE run_id = $1`,
        [runId],
      );
      row = result.rows[0];
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot load run '${runId}' from ${this.table}`);
    }
    if (row === undefined) return undefined;
    const snapshot = storedSnapshot(row.snapshot, runId, `${NAME} ${this.table} row '${runId}'`);
    this.#claims.saw(runId, Number(row.rev));
    return snapshot;
  }

  async events(runId: string, options?: EventsOptions): Promise<RunEvent[]> {
    const window = eventsWindow(options, NAME);
    let rows: { event: RunEvent }[];
    try {
      await this.#ensureTable();
      // A version-1 snapshot's history, then the journal rows; only what the stored checkpoint covers.
      const result = await this.#db.query<{ event: RunEvent }>(
        `SELECT DISTINCT ON (x.seq) x.event FROM ${this.#table.sql} AS c, LATERAL (
           SELECT h AS event, (h->>'seq')::bigint AS seq
             FROM jsonb_array_elements(CASE WHEN c.snapshot->>'version' = '1' THEN c.snapshot->'history' ELSE '[]'::jsonb END) AS h
           UNION ALL
           SELECT e.event, e.seq FROM ${this.#table.events} AS e WHERE e.run_id = c.run_id AND e.seq > $2 AND e.seq <= c.seq
         ) AS x
         WHERE c.run_id = $1 AND x.seq > $2 AND x.seq <= c.seq
         ORDER BY x.seq
         LIMIT $3`,
        [runId, window.afterSeq, Number.isFinite(window.limit) ? window.limit : null],
      );
      rows = result.rows;
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot read the journal of run '${runId}' from ${this.#table.events}`);
    }
    return journalWindow([rows.map((row) => row.event)], Number.MAX_SAFE_INTEGER, window);
  }

  async list(filter: ListFilter = {}): Promise<RunSummary[]> {
    const { where, values } = whereClause(filter);
    let rows: SummaryRow[];
    try {
      await this.#ensureTable();
      const result = await this.#db.query<SummaryRow>(
        `SELECT run_id, workflow, status, updated_at FROM ${this.#table.sql}${where}
         ORDER BY updated_at, run_id COLLATE "C"`,
        values,
      );
      rows = result.rows;
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot list ${this.table}`);
    }
    return rows.map((row) => {
      if (!isRunStatus(row.status)) {
        throw invalidStored(`${NAME} ${this.table} row '${row.run_id}'`, row.run_id, `unknown status '${row.status}'`);
      }
      return { runId: row.run_id, workflow: row.workflow, status: row.status, updatedAt: Number(row.updated_at) };
    });
  }

  async delete(runId: string): Promise<void> {
    try {
      await this.#ensureTable();
      await this.#db.query(
        `WITH run AS (DELETE FROM ${this.#table.sql} WHERE run_id = $1) DELETE FROM ${this.#table.events} WHERE run_id = $1`,
        [runId],
      );
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot delete run '${runId}' from ${this.table}`);
    }
    this.#claims.forget(runId);
  }

  async prune(filter: PruneFilter = {}): Promise<number> {
    const olderThan = olderThanBound(filter.olderThan);
    if (olderThan === null) return 0;
    const { where, values } = whereClause(olderThan === undefined ? { ...filter, olderThan: undefined } : filter);
    let removed: string[];
    try {
      await this.#ensureTable();
      const result = await this.#db.query<{ run_id: string }>(
        `WITH gone AS (DELETE FROM ${this.#table.sql}${where} RETURNING run_id),
         journal AS (DELETE FROM ${this.#table.events} WHERE run_id IN (SELECT run_id FROM gone))
         SELECT run_id FROM gone`,
        values,
      );
      removed = result.rows.map((row) => row.run_id);
    } catch (error) {
      throw asStoreError(error, `${NAME}: cannot prune ${this.table}`);
    }
    for (const runId of removed) this.#claims.forget(runId);
    return removed.length;
  }

  /** Create the table now rather than on first use. */
  async migrate(): Promise<void> {
    await migrate(this.#db, { table: this.table });
  }

  /** End the pool this store created (a pool you passed in stays yours). Safe to call more than once. */
  async close(): Promise<void> {
    const pool = this.#ownedPool;
    this.#ownedPool = undefined;
    await pool?.end();
  }
}
