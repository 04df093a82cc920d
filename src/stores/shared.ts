import { randomUUID } from 'node:crypto';
import { WorkflowError } from '../errors/WorkflowError.js';
import { isRunStatus } from '../snapshot/status.js';
import { readSnapshot, type AnySnapshot, type Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { EventsOptions, ListFilter, PruneFilter, RunSummary } from './CheckpointStore.js';

/*
 * What every store shares: the checks on what goes in and comes out, list filtering and order, the prune
 * predicate, the journal rules, and the optimistic-concurrency bookkeeping. Each store states the
 * acceptance rule in its own language (SQL, Lua, a lock file) but keeps its claims here.
 */

export { isRunStatus };

/** The fields the key and the index columns come from; without them a save could never be found or listed. */
export function checkSaveable(snapshot: AnySnapshot, store: string): void {
  const value = snapshot as unknown as Record<string, unknown> | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value['runId'] !== 'string' ||
    value['runId'].length === 0 ||
    typeof value['workflow'] !== 'string' ||
    !isRunStatus(value['status']) ||
    !Number.isSafeInteger(value['seq']) ||
    (value['seq'] as number) < 0
  ) {
    throw new WorkflowError(
      'invalid_snapshot',
      `${store}: a snapshot needs a non-empty runId, a workflow, a known status and a non-negative integer seq`,
    );
  }
}

// ---- list and prune -------------------------------------------------------------------------------------

/** Oldest save first, then by runId, so the order never depends on the backend. */
export function byUpdatedAt(a: RunSummary, b: RunSummary): number {
  return a.updatedAt - b.updatedAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);
}

export function listMatches(row: RunSummary, filter: ListFilter): boolean {
  return (
    (filter.workflow === undefined || row.workflow === filter.workflow) &&
    (filter.status === undefined || row.status === filter.status)
  );
}

/** `prune`'s rule: strictly older than `olderThan` (when given) and of `status` (when given). */
export function pruneMatches(row: RunSummary, filter: PruneFilter): boolean {
  return (filter.olderThan === undefined || row.updatedAt < filter.olderThan) && listMatches(row, { ...filter, workflow: undefined });
}

/** The rows matching `filter`, in `byUpdatedAt` order. */
export function listed(rows: readonly RunSummary[], filter: ListFilter = {}): RunSummary[] {
  return rows.filter((row) => listMatches(row, filter)).sort(byUpdatedAt);
}

/**
 * `prune`'s `olderThan` as a bound the servers compare reliably: `undefined` for no bound (also `+Infinity`,
 * which every run is older than), `null` when no run can match (`-Infinity`, `NaN`).
 */
export function olderThanBound(olderThan: number | undefined): number | undefined | null {
  if (olderThan === undefined || olderThan === Number.POSITIVE_INFINITY) return undefined;
  return Number.isFinite(olderThan) ? olderThan : null;
}

// ---- remember only success ------------------------------------------------------------------------------

/**
 * `once()` runs `task` the first time and hands back its promise after; a failure is forgotten, so the next
 * call tries again (a directory that becomes writable, a server that comes back).
 */
export function rememberSuccess<T>(task: () => Promise<T>): () => Promise<T> {
  let memo: Promise<T> | undefined;
  return () =>
    (memo ??= task().catch((error: unknown) => {
      memo = undefined;
      throw error;
    }));
}

// ---- stored snapshots -----------------------------------------------------------------------------------

/**
 * Turn what a backend handed back for `runId` into a snapshot, or reject with `invalid_snapshot`
 * (`snapshot_version` for an unknown version) naming where it came from.
 */
export function storedSnapshot(value: unknown, runId: string, where: string): Snapshot {
  return storedRun(value, runId, where).snapshot;
}

/** `storedSnapshot`, with a version-1 snapshot's history (the start of its journal; `[]` for version 2). */
export function storedRun(value: unknown, runId: string, where: string): { snapshot: Snapshot; history: RunEvent[] } {
  let read: { snapshot: Snapshot; history: RunEvent[] };
  try {
    read = readSnapshot(value);
  } catch (error) {
    if (!WorkflowError.is(error)) throw error;
    throw new WorkflowError(error.code, `${where}: ${error.message}`, {
      cause: error.cause,
      details: { ...error.details, runId },
    });
  }
  if (read.snapshot.runId !== runId) {
    // A row, key or file copied by hand would otherwise hand back another run under this id.
    throw invalidStored(where, runId, `holds run '${read.snapshot.runId}'`);
  }
  return read;
}

export function invalidStored(where: string, runId: string, message: string, cause?: unknown): WorkflowError {
  return new WorkflowError('invalid_snapshot', `${where}: ${message}`, {
    details: { runId },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** JSON text a backend stored, parsed, or `invalid_snapshot` naming where it came from. */
export function parseStoredJson(text: string, where: string, runId: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidStored(where, runId, 'not valid JSON', error);
  }
}

// ---- the journal ----------------------------------------------------------------------------------------

/**
 * The part of a save's journal the store keeps: entries with seq ≤ the snapshot's (later ones are not
 * covered by it), in seq order, each a plain RunEvent of this run.
 */
export function journalDelta(snapshot: AnySnapshot, journal: readonly RunEvent[] | undefined, store: string): RunEvent[] {
  if (journal === undefined || journal.length === 0) return [];
  const out: RunEvent[] = [];
  let last = 0;
  for (const ev of journal) {
    const seq = (ev as { seq?: unknown } | null)?.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || seq <= last) {
      throw new WorkflowError('invalid_snapshot', `${store}: journal entries need increasing positive integer seq (run '${snapshot.runId}')`, {
        details: { runId: snapshot.runId, seq },
      });
    }
    last = seq;
    if (seq <= snapshot.seq) out.push(ev);
  }
  return out;
}

/** `events()` options checked: `afterSeq` (exclusive) a non-negative integer, `limit` a positive integer. */
export function eventsWindow(options: EventsOptions = {}, store: string): { afterSeq: number; limit: number } {
  const afterSeq = options.afterSeq ?? 0;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0 || !(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit > 0))) {
    throw new WorkflowError('invalid_event', `${store}: events() takes afterSeq ≥ 0 and limit ≥ 1, both integers`, {
      details: { afterSeq: options.afterSeq, limit: options.limit },
    });
  }
  return { afterSeq, limit };
}

/**
 * A run's journal as `events()` returns it: a version-1 snapshot's history first, then the journal, in seq
 * order with no seq twice, only what the stored snapshot covers (seq ≤ `upTo`), after `afterSeq`, at most
 * `limit`.
 */
export function journalWindow(
  parts: readonly (readonly RunEvent[])[],
  upTo: number,
  window: { afterSeq: number; limit: number },
): RunEvent[] {
  const out: RunEvent[] = [];
  let last = window.afterSeq;
  for (const part of parts) {
    for (const ev of part) {
      if (ev.seq <= last) continue;
      if (ev.seq > upTo || out.length >= window.limit) return out;
      out.push(ev);
      last = ev.seq;
    }
  }
  return out;
}

// ---- optimistic concurrency -----------------------------------------------------------------------------

/** Marks a run this writer lost to another writer: no stored revision ever equals it. */
export const FENCED = -1;

/** How many runs one store instance remembers; the oldest are forgotten first. */
const DEFAULT_LIMIT = 10_000;

/**
 * What one store instance (one writer) knows about the runs it has loaded or saved, for the optimistic
 * concurrency check every store makes (DESIGN §6.6). Every stored checkpoint carries `rev` (bumped on each
 * save) and `writer` (the id of the instance that saved it). A save is accepted when
 *
 * 1. the run is not stored yet, or
 * 2. this writer saved the stored revision itself, or
 * 3. this writer's claim equals the stored `rev`: it loaded (or saved) exactly that revision, so nobody else
 *    has written since — how a process that resumed a run from the store takes it over, or
 * 4. this writer has no claim at all (it never loaded nor saved the run, e.g. `wf.resume(snapshot)` of a
 *    snapshot from elsewhere) and the snapshot's `seq` is greater than the stored one.
 *
 * Anything else is a `store_conflict`, and the run is then fenced for this writer: its later saves are
 * refused too, until it loads the run again. Two processes resuming the same stored revision therefore
 * cannot both win: the first save moves `rev` on, and the other process's claim no longer matches.
 *
 * The check tells writers (store instances) apart, not runs: two runs of one id inside one process,
 * through one store instance, are the engine's to prevent.
 */
export class WriterClaims {
  readonly writerId: string;
  readonly #limit: number;
  /** runId → the stored revision this writer last saw, or FENCED. Insertion order is recency. */
  readonly #revs = new Map<string, number>();

  constructor(writerId: string = randomUUID(), limit = DEFAULT_LIMIT) {
    this.writerId = writerId;
    this.#limit = limit;
  }

  /** The revision this writer last saw for the run, `FENCED`, or `undefined` when it never saw the run. */
  get(runId: string): number | undefined {
    return this.#revs.get(runId);
  }

  /** Remember that this writer loaded or saved revision `rev` of the run. */
  saw(runId: string, rev: number): void {
    this.#revs.delete(runId);
    this.#revs.set(runId, rev);
    if (this.#revs.size > this.#limit) {
      const oldest = this.#revs.keys().next();
      if (oldest.done !== true) this.#revs.delete(oldest.value);
    }
  }

  /** Another writer owns the run now: refuse this writer's saves until it loads the run again. */
  lost(runId: string): void {
    this.saw(runId, FENCED);
  }

  forget(runId: string): void {
    this.#revs.delete(runId);
  }

  /** The acceptance rule over what is stored now (`undefined`: the run is new). */
  accepts(snapshot: AnySnapshot, stored: { rev: number; seq: number; writer: string } | undefined): boolean {
    if (stored === undefined) return true;
    const claim = this.get(snapshot.runId);
    return (
      stored.writer === this.writerId || (claim !== undefined && claim === stored.rev) || (claim === undefined && stored.seq < snapshot.seq)
    );
  }
}

/** What a refused save rejects with; `stored` describes the checkpoint that won. */
export function conflictError(
  store: string,
  snapshot: AnySnapshot,
  stored: { seq: number; rev: number } | undefined,
): WorkflowError {
  const now = stored === undefined ? '' : ` (stored seq ${stored.seq}, revision ${stored.rev})`;
  return new WorkflowError(
    'store_conflict',
    `${store}: run '${snapshot.runId}' was checkpointed by another writer${now}; ` +
      `this save of seq ${snapshot.seq} is refused`,
    { details: { runId: snapshot.runId, seq: snapshot.seq, ...(stored === undefined ? {} : { stored }) } },
  );
}
