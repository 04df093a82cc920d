import { asStoreError } from '../errors/WorkflowError.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore, ListFilter, PruneFilter, RunSummary } from './CheckpointStore.js';
import { checkSaveable } from './checkSaveable.js';

export interface MemoryStoreOptions {
  /** Clock stamping `updatedAt` (epoch ms); tests inject one instead of sleeping. Defaults to `Date.now`. */
  now?: () => number;
}

interface Entry {
  updatedAt: number;
  snapshot: Snapshot;
}

/**
 * A `CheckpointStore` in a `Map`, for tests and single-process runs that need no persistence.
 * It keeps deep copies, so changing a snapshot after `save` or after `load` never changes what is stored.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * await store.save(run.snapshot());
 * const rows = await store.list({ status: 'paused' });   // [{ runId, workflow, status, updatedAt }]
 * ```
 */
export class MemoryStore implements CheckpointStore {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async save(snapshot: Snapshot): Promise<void> {
    checkSaveable(snapshot, 'MemoryStore');
    let copy: Snapshot;
    try {
      copy = structuredClone(snapshot);
    } catch (error) {
      // A function or symbol inside a snapshot cannot be stored by any backend; say so like they would.
      throw asStoreError(error, `MemoryStore: cannot save run '${snapshot.runId}'`);
    }
    this.#entries.set(snapshot.runId, { updatedAt: this.#now(), snapshot: copy });
  }

  async load(runId: string): Promise<Snapshot | undefined> {
    const entry = this.#entries.get(runId);
    return entry === undefined ? undefined : structuredClone(entry.snapshot);
  }

  async list(filter: ListFilter = {}): Promise<RunSummary[]> {
    const rows: RunSummary[] = [];
    for (const [runId, { updatedAt, snapshot }] of this.#entries) {
      if (filter.workflow !== undefined && snapshot.workflow !== filter.workflow) continue;
      if (filter.status !== undefined && snapshot.status !== filter.status) continue;
      rows.push({ runId, workflow: snapshot.workflow, status: snapshot.status, updatedAt });
    }
    // Insertion order would leak save order into callers; sort like every other store does.
    return rows.sort((a, b) => a.updatedAt - b.updatedAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  }

  async delete(runId: string): Promise<void> {
    this.#entries.delete(runId);
  }

  async prune(filter: PruneFilter = {}): Promise<number> {
    let removed = 0;
    for (const [runId, { updatedAt, snapshot }] of this.#entries) {
      if (filter.olderThan !== undefined && !(updatedAt < filter.olderThan)) continue;
      if (filter.status !== undefined && snapshot.status !== filter.status) continue;
      // Deleting the current key while iterating a Map is safe: iteration continues with the next key.
      this.#entries.delete(runId);
      removed += 1;
    }
    return removed;
  }
}
