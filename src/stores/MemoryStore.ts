import { asStoreError } from '../errors/WorkflowError.js';
import { clonePlain } from '../events/clone.js';
import { freezePlain } from '../events/freeze.js';
import { upgrade } from '../snapshot/migrate.js';
import type { AnySnapshot, Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { CheckpointStore, EventsOptions, ListFilter, PruneFilter, RunSummary } from './CheckpointStore.js';
import {
  WriterClaims,
  checkSaveable,
  conflictError,
  eventsWindow,
  journalDelta,
  journalWindow,
  listed,
  pruneMatches,
} from './shared.js';

export interface MemoryStoreOptions {
  /** Clock stamping `updatedAt` (epoch ms); tests inject one instead of sleeping. Defaults to `Date.now`. */
  now?: () => number;
  /** This instance's writer id for the conflict check; a random UUID by default. */
  writerId?: string;
}

interface Entry {
  updatedAt: number;
  rev: number;
  writer: string;
  /** As saved: a version-1 snapshot keeps its history, the start of the journal. */
  snapshot: AnySnapshot;
  /** The journal, in seq order, never beyond `snapshot.seq`. */
  journal: RunEvent[];
}

const NAME = 'MemoryStore';

/**
 * A `CheckpointStore` in a `Map`, for tests and single-process runs that need no persistence: the snapshot
 * and an array per run for the journal. Nothing the caller holds can change what is stored: it keeps a deep
 * copy of the snapshot, and the journal's RunEvents themselves, deep-frozen by `save` (copying them was a fifth
 * of a long run's time; one that is not plain data is copied instead); `load` and `events` hand out copies.
 * `openWriter()` gives another writer over the same data (to stand for a second process in tests): saves follow
 * the conflict rule of every store (DESIGN §6.6).
 *
 * @example
 * ```ts
 * import { MemoryStore } from 'sluice';
 * const store = new MemoryStore();
 * const rows = await store.list({ status: 'paused' });   // [{ runId, workflow, status, updatedAt }]
 * const events = await store.events('run-1');            // the run's journal
 * ```
 */
export class MemoryStore implements CheckpointStore {
  readonly #entries: Map<string, Entry>;
  readonly #now: () => number;
  readonly #claims: WriterClaims;

  constructor(options: MemoryStoreOptions = {}, entries: Map<string, Entry> = new Map()) {
    this.#now = options.now ?? Date.now;
    this.#claims = new WriterClaims(options.writerId);
    this.#entries = entries;
  }

  /** Another store instance (another writer, as if in another process) over this store's data. */
  openWriter(options: MemoryStoreOptions = {}): MemoryStore {
    return new MemoryStore({ now: this.#now, ...options }, this.#entries);
  }

  async save(snapshot: AnySnapshot, journal?: readonly RunEvent[]): Promise<void> {
    checkSaveable(snapshot, NAME);
    const { runId } = snapshot;
    let copy: AnySnapshot;
    let delta: RunEvent[];
    try {
      copy = clonePlain(snapshot);
      delta = journalDelta(snapshot, journal, NAME).map((ev) => (freezePlain(ev) ? ev : clonePlain(ev)));
    } catch (error) {
      // A function or symbol inside a snapshot cannot be stored by any backend; say so like they would.
      throw asStoreError(error, `${NAME}: cannot save run '${runId}'`);
    }
    const stored = this.#entries.get(runId);
    const current = stored === undefined ? undefined : { rev: stored.rev, seq: stored.snapshot.seq, writer: stored.writer };
    if (!this.#claims.accepts(snapshot, current)) {
      this.#claims.lost(runId);
      throw conflictError(NAME, snapshot, stored === undefined ? undefined : { seq: stored.snapshot.seq, rev: stored.rev });
    }
    const rev = (stored?.rev ?? 0) + 1;
    // What the stored journal holds beyond the new snapshot's seq is not covered by it any more. The array
    // is this store's own, so it is trimmed and extended in place: a save costs O(its delta), not O(journal).
    const kept = stored?.journal ?? [];
    while (kept.length > 0 && (kept[kept.length - 1] as RunEvent).seq > snapshot.seq) kept.pop();
    const last = kept.at(-1)?.seq ?? 0;
    for (const ev of delta) if (ev.seq > last) kept.push(ev);
    this.#entries.set(runId, { updatedAt: this.#now(), rev, writer: this.#claims.writerId, snapshot: copy, journal: kept });
    this.#claims.saw(runId, rev);
  }

  async load(runId: string): Promise<Snapshot | undefined> {
    const entry = this.#entries.get(runId);
    if (entry === undefined) return undefined;
    this.#claims.saw(runId, entry.rev);
    const copy = clonePlain(entry.snapshot);
    return copy.version === 1 ? upgrade(copy).snapshot : copy;
  }

  async events(runId: string, options?: EventsOptions): Promise<RunEvent[]> {
    const window = eventsWindow(options, NAME);
    const entry = this.#entries.get(runId);
    if (entry === undefined) return [];
    return clonePlain(journalWindow([entry.snapshot.version === 1 ? entry.snapshot.history : [], entry.journal], entry.snapshot.seq, window));
  }

  async list(filter: ListFilter = {}): Promise<RunSummary[]> {
    return listed([...this.#entries.values()].map(summary), filter);
  }

  async delete(runId: string): Promise<void> {
    this.#entries.delete(runId);
    this.#claims.forget(runId);
  }

  async prune(filter: PruneFilter = {}): Promise<number> {
    let removed = 0;
    for (const entry of this.#entries.values()) {
      if (!pruneMatches(summary(entry), filter)) continue;
      // Deleting the current key while iterating a Map is safe: iteration continues with the next key.
      this.#entries.delete(entry.snapshot.runId);
      this.#claims.forget(entry.snapshot.runId);
      removed += 1;
    }
    return removed;
  }
}

function summary({ snapshot, updatedAt }: Entry): RunSummary {
  return { runId: snapshot.runId, workflow: snapshot.workflow, status: snapshot.status, updatedAt };
}
