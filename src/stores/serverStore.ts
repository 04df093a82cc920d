import { randomUUID } from 'node:crypto';
import { WorkflowError } from '../errors/WorkflowError.js';
import { parseSnapshot, type Snapshot } from '../snapshot/schema.js';

/*
 * What PostgresStore and RedisStore share: the optimistic concurrency bookkeeping and the checks on
 * what goes in and comes out. Each store states the same acceptance rule in its own language (SQL, Lua).
 */

/** Marks a run this writer lost to another writer: no stored revision ever equals it. */
export const FENCED = -1;

/** How many runs one store instance remembers; the oldest are forgotten first. */
const DEFAULT_LIMIT = 10_000;

/**
 * What one store instance (one writer) knows about the runs it has loaded or saved, for the optimistic
 * concurrency check of the server stores. Every stored checkpoint carries `rev` (bumped on each save) and
 * `writer` (the id of the instance that saved it). A save is accepted when
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
}

export { checkSaveable } from './checkSaveable.js';
export { isRunStatus } from '../snapshot/status.js';

/**
 * Turn what a server handed back for `runId` into a snapshot, or reject with `invalid_snapshot`
 * (`snapshot_version` for an unknown version) naming where it came from.
 */
export function storedSnapshot(value: unknown, runId: string, where: string): Snapshot {
  let snapshot: Snapshot;
  try {
    snapshot = parseSnapshot(value);
  } catch (error) {
    if (!(error instanceof WorkflowError)) throw error;
    throw new WorkflowError(error.code, `${where}: ${error.message}`, {
      cause: error.cause,
      details: { ...error.details, runId },
    });
  }
  if (snapshot.runId !== runId) {
    // A row or key copied by hand would otherwise hand back another run under this id.
    throw invalidStored(where, runId, `holds run '${snapshot.runId}'`);
  }
  return snapshot;
}

export function invalidStored(where: string, runId: string, message: string, cause?: unknown): WorkflowError {
  return new WorkflowError('invalid_snapshot', `${where}: ${message}`, {
    details: { runId },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** What a refused save rejects with; `stored` describes the checkpoint that won. */
export function conflictError(
  store: string,
  snapshot: Snapshot,
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

/**
 * `prune`'s `olderThan` as a bound the servers compare reliably: `undefined` for no bound (also `+Infinity`,
 * which every run is older than), `null` when no run can match (`-Infinity`, `NaN`).
 */
export function olderThanBound(olderThan: number | undefined): number | undefined | null {
  if (olderThan === undefined || olderThan === Number.POSITIVE_INFINITY) return undefined;
  return Number.isFinite(olderThan) ? olderThan : null;
}
