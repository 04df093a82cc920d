import type { RunStatus } from '../snapshot/status.js';
import type { AnySnapshot, Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';

/** One row of `store.list()`. `updatedAt` is epoch ms of the last save. */
export interface RunSummary {
  runId: string;
  workflow: string;
  status: RunStatus;
  updatedAt: number;
}

export interface ListFilter {
  workflow?: string | undefined;
  status?: RunStatus | undefined;
}

export interface PruneFilter {
  /** Remove runs whose `updatedAt` is before this epoch ms. */
  olderThan?: number | undefined;
  status?: RunStatus | undefined;
}

/** Which part of a run's journal `events()` reads. */
export interface EventsOptions {
  /** Only entries with a greater seq (exclusive); default 0, from the start. */
  afterSeq?: number;
  /** At most this many entries (a positive integer); default all. */
  limit?: number;
}

/**
 * Where checkpoints live: each run's latest snapshot, and its journal — the RunEvents it emitted, written
 * with the checkpoint that covers them. Every method is asynchronous; failures reject with a `WorkflowError`
 * (`store_failed` for I/O, `invalid_snapshot` for a stored value that is not a snapshot, `store_conflict`
 * when another writer has taken the run over, DESIGN §6.6).
 *
 * @example
 * ```ts
 * import { FileStore } from 'sluice';
 * const store = new FileStore('./.sluice');
 * const snap = await store.load('order-42');                     // undefined when missing
 * const events = await store.events('order-42', { afterSeq: 10 }); // the journal after seq 10
 * ```
 */
export interface CheckpointStore {
  /**
   * Store the run's snapshot and `journal`, the RunEvents since the last save (entries with a seq above
   * the snapshot's are not kept) — atomically where the backend can. A version-1 snapshot is accepted too:
   * its history is the start of the journal.
   */
  save(snapshot: AnySnapshot, journal?: readonly RunEvent[]): Promise<void>;
  /**
   * The latest snapshot as version 2 (a stored version-1 snapshot is upgraded; its history stays readable
   * through `events`), or `undefined`. Journal entries beyond its `seq` are never returned after this.
   */
  load(runId: string): Promise<Snapshot | undefined>;
  /**
   * The run's journal in seq order, up to its stored snapshot's `seq` (a version-1 snapshot's history
   * included); `[]` for an unknown run.
   */
  events(runId: string, options?: EventsOptions): Promise<RunEvent[]>;
  list(filter?: ListFilter): Promise<RunSummary[]>;
  /** Remove the run's snapshot and journal. */
  delete(runId: string): Promise<void>;
  /** Remove matching runs (snapshot and journal); resolves how many were removed. */
  prune(filter?: PruneFilter): Promise<number>;
}
