import type { RunStatus } from '../snapshot/status.js';
import type { Snapshot } from '../snapshot/schema.js';

/** One row of `store.list()`. `updatedAt` is epoch ms of the last save. */
export interface RunSummary {
  runId: string;
  workflow: string;
  status: RunStatus;
  updatedAt: number;
}

export interface ListFilter {
  workflow?: string;
  status?: RunStatus;
}

export interface PruneFilter {
  /** Remove runs whose `updatedAt` is before this epoch ms. */
  olderThan?: number;
  status?: RunStatus;
}

/**
 * Where checkpoints live. Every method is asynchronous; failures reject with a `WorkflowError`
 * (`store_failed` for I/O, `invalid_snapshot` for a stored value that is not a snapshot).
 *
 * @example
 * ```ts
 * const store = new FileStore('./.sluice');
 * const wf = workflow('job', { store });
 * const snap = await store.load(runId);   // undefined when missing
 * ```
 */
export interface CheckpointStore {
  save(snapshot: Snapshot): Promise<void>;
  load(runId: string): Promise<Snapshot | undefined>;
  list(filter?: ListFilter): Promise<RunSummary[]>;
  delete(runId: string): Promise<void>;
  /** Remove matching runs; resolves how many were removed. */
  prune(filter?: PruneFilter): Promise<number>;
}
