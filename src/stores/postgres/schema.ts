import type { QueryResult, QueryResultRow } from 'pg';
import { WorkflowError, asStoreError } from '../../errors/WorkflowError.js';

/** Anything that runs a query the way `pg.Pool`, `pg.Client` and `pg.PoolClient` do. */
export interface PgQueryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

export const DEFAULT_TABLE = 'sluice_checkpoints';

/** At most 48 characters, so `<table>_events` fits PostgreSQL's 63. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/** A validated, quoted table name and what its indexes are called. */
export interface TableName {
  /** As given, for messages. */
  readonly name: string;
  /** Quoted, optionally schema-qualified, safe to splice into SQL. */
  readonly sql: string;
  /** The unqualified table name, prefix of its index names. */
  readonly base: string;
  /** The journal table beside it (`<table>_events`), quoted. */
  readonly events: string;
}

/**
 * Check a table name (`table` or `schema.table`, letters, digits and `_`) and quote it. Names are spliced
 * into SQL, so anything else is refused rather than escaped.
 */
export function tableName(name: string = DEFAULT_TABLE): TableName {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new WorkflowError(
      'store_failed',
      `PostgresStore: table name '${name}' must be 'table' or 'schema.table', ` +
        'each of letters, digits and _ (at most 48)',
    );
  }
  const quoted = parts.map((part) => `"${part}"`);
  const events = [...quoted.slice(0, -1), `"${parts[parts.length - 1] as string}_events"`].join('.');
  return { name, sql: quoted.join('.'), base: parts[parts.length - 1] as string, events };
}

/** A stable 32-bit key for the advisory lock that serialises concurrent migrations of one table. */
function lockKey(name: string): number {
  let hash = 0;
  for (const char of `sluice.migrate:${name}`) hash = (Math.imul(hash, 31) + (char.codePointAt(0) ?? 0)) | 0;
  return hash;
}

/**
 * The DDL, idempotent. `updated_at` is epoch ms stamped by the store's clock, like the other stores;
 * `rev` and `writer` carry the optimistic concurrency check (see `PostgresStore`); `<table>_events` holds
 * the journal keyed `(run_id, seq)`.
 */
export function migrationSql(table: TableName): string {
  const t = table.sql;
  const index = (suffix: string) => `"${table.base}_${suffix}"`;
  // One simple-protocol query runs as one implicit transaction, so the advisory lock is held to the end
  // and two processes creating the table at once cannot trip over each other.
  return [
    `SELECT pg_advisory_xact_lock(${lockKey(table.name)})`,
    `CREATE TABLE IF NOT EXISTS ${t} (
      run_id text PRIMARY KEY,
      workflow text NOT NULL,
      status text NOT NULL,
      seq bigint NOT NULL,
      rev bigint NOT NULL,
      writer text NOT NULL,
      updated_at bigint NOT NULL,
      snapshot jsonb NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS ${index('workflow_idx')} ON ${t} (workflow, updated_at)`,
    `CREATE INDEX IF NOT EXISTS ${index('status_idx')} ON ${t} (status, updated_at)`,
    `CREATE INDEX IF NOT EXISTS ${index('updated_at_idx')} ON ${t} (updated_at)`,
    // The journal: one row per RunEvent, written in the same statement as the checkpoint that covers it.
    `CREATE TABLE IF NOT EXISTS ${table.events} (
      run_id text NOT NULL,
      seq bigint NOT NULL,
      event jsonb NOT NULL,
      PRIMARY KEY (run_id, seq)
    )`,
  ].join(';\n');
}

export interface MigrateOptions {
  /** `table` or `schema.table`; default `sluice_checkpoints`. */
  table?: string;
}

/**
 * Create the checkpoint table, its indexes and its journal table (`<table>_events`) if they do not exist. `PostgresStore` does this on first use;
 * call it yourself when the application's role may not run DDL (then construct the store with
 * `createTable: false`). Safe to run concurrently and repeatedly.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { migrate } from 'sluice/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool, { table: 'ops.sluice_checkpoints' });
 * ```
 */
export async function migrate(db: PgQueryable, options: MigrateOptions = {}): Promise<void> {
  const table = tableName(options.table);
  try {
    await db.query(migrationSql(table));
  } catch (error) {
    throw asStoreError(error, `PostgresStore: cannot create table ${table.name}`);
  }
}

/** `WHERE` for list/prune filters, with only the conditions given so the indexes apply. */
interface RowFilter {
  workflow?: string | undefined;
  status?: string | undefined;
  olderThan?: number | undefined;
}

export function whereClause(filter: RowFilter): { where: string; values: unknown[] } {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    values.push(value);
    conditions.push(sql.replace('?', `$${values.length}`));
  };
  if (filter.workflow !== undefined) add('workflow = ?', filter.workflow);
  if (filter.status !== undefined) add('status = ?', filter.status);
  if (filter.olderThan !== undefined) add('updated_at < ?::float8', filter.olderThan);
  return { where: conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`, values };
}
