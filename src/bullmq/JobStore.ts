import { Subject, type Subscription } from 'rxjs';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { RunHandle } from '../run/RunHandle.js';
import { isTerminal, type RunStatus } from '../run/status.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore, EventsOptions, ListFilter, PruneFilter, RunSummary } from '../stores/CheckpointStore.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { Publisher } from './publisher.js';

/**
 * The store one run sees while a job holds it on this worker: saves go to the worker's store, and each save
 * that is in publishes the RunEvents it covers (a transactional outbox). Subscribers therefore only ever see a
 * prefix of the run's stored history: a worker that dies loses nothing they saw, and the worker that resumes
 * the run from that checkpoint continues right after it (seq for seq, with no event told twice).
 *
 * The engine checkpoints after each dispatch; events a step emits between dispatches (`ctx.write`, retries,
 * a sub-workflow's events) would wait for the step to end, so when the engine has no save going, this store
 * saves once more by itself to get them out. A publish that fails fails its save, so the engine retries it
 * like any failed checkpoint.
 */
export class JobStore implements CheckpointStore {
  /** Settles after every save the engine asked for, in or not. */
  readonly attempts$ = new Subject<void>();
  /** What the last save that went in stored. */
  saved: { seq: number; status: RunStatus } | undefined;
  /** The engine's latest save failed (so the store is behind the run until its retry). */
  lastSaveFailed = false;

  #run: RunHandle | undefined;
  #pending: RunEvent[] = [];
  #events: Subscription | undefined;
  #fenced = false;
  /** Saves go in one after another, in the order asked (so the newest snapshot lands last). */
  #chain: Promise<unknown> = Promise.resolve();
  #saving = 0;
  /** The highest seq a save has been asked for, and of an event the run emitted (checkpoint reports aside). */
  #asked = 0;
  #latest = 0;
  #nudged = false;

  constructor(
    private readonly inner: CheckpointStore,
    private readonly publisher: Publisher,
    readonly runId: string,
  ) {}

  /** Collect the run's RunEvents (a resumed run replays its history first: already published ones are skipped). */
  attach(run: RunHandle): void {
    this.#run = run;
    this.#events = run.events$.subscribe((e) => {
      if (e.kind === 'gap') return;
      this.#pending.push(e);
      // A checkpoint's own report waits for the next checkpoint, or saves would never stop.
      if (e.kind === 'checkpoint_saved' || e.kind === 'checkpoint_failed') return;
      this.#latest = e.seq;
      this.#nudge();
    });
  }

  /**
   * Store the first snapshot of a fresh run only if the run is stored nowhere yet, before the run's own saves.
   * Resolves false when another writer stored it first (the job then resumes that instead). Without this, two
   * workers that both found no checkpoint could both start the run, and a later save of either would win.
   */
  async claim(snapshot: Snapshot): Promise<boolean> {
    try {
      await this.#write(snapshot, false);
      return true;
    } catch (error) {
      if (!(WorkflowError.is(error)) || error.code !== 'store_conflict') throw error;
      this.fence();
      return false;
    }
  }

  /** Refuse every later save: the run has left this worker (parked in the store, handed over, or lost). */
  fence(): void {
    this.#fenced = true;
    this.#events?.unsubscribe();
  }

  /** The engine's checkpoint (with the journal delta, passed on to the worker's store). */
  async save(snapshot: Snapshot, journal?: readonly RunEvent[]): Promise<void> {
    try {
      await this.#write(snapshot, true, journal);
      this.lastSaveFailed = false;
    } catch (error) {
      this.lastSaveFailed = true;
      throw error;
    } finally {
      this.attempts$.next();
    }
  }

  /** Store this snapshot (and publish what it covers) now, behind the saves asked before; for a sent event's acknowledgement. */
  checkpoint(snapshot: Snapshot): Promise<void> {
    return this.#write(snapshot, true);
  }

  /** Queue one save (and, with `publish`, the publishing of what it covers) behind those asked before. */
  #write(snapshot: Snapshot, publish: boolean, journal?: readonly RunEvent[]): Promise<void> {
    this.#asked = Math.max(this.#asked, snapshot.seq);
    this.#saving++;
    const done = this.#chain.then(async () => {
      if (this.#fenced) {
        throw new WorkflowError('store_conflict', `run '${this.runId}' is no longer held by this worker`, { details: { runId: this.runId } });
      }
      if (snapshot.status === 'failed' && this.#pending.some(isStoreOutage)) {
        // A store outage is not the run's outcome: the job fails instead and is retried from the last checkpoint.
        throw new WorkflowError('store_failed', `run '${this.runId}' ended on a store failure; not recording that as its outcome`);
      }
      // A save of its own (a nudge, an acknowledgement) journals what it collected: the events not yet
      // published include every one no save has covered (the store skips those it already has).
      await this.inner.save(snapshot, journal ?? this.#pending.filter((e) => e.seq <= snapshot.seq));
      this.saved = { seq: snapshot.seq, status: snapshot.status };
      if (publish) await this.#publish(snapshot.seq);
    });
    this.#chain = done.catch(() => undefined);
    return done.finally(() => {
      this.#saving--;
      this.#nudge();
    });
  }

  /**
   * Save once more when the run emitted events no save covers and none is going (the engine, if it saves
   * again, asks synchronously as a save ends, so by the next macrotask its ask is in). Best effort: a failed
   * extra save is left to the engine's next checkpoint.
   */
  #nudge(): void {
    if (this.#nudged || this.#saving > 0) return;
    this.#nudged = true;
    setImmediate(() => {
      this.#nudged = false;
      const run = this.#run;
      if (run === undefined || this.#fenced || this.#saving > 0 || this.#latest <= this.#asked) return;
      if (isTerminal(run.status)) return; // the engine's final checkpoint covers the end
      this.#write(run.snapshot(), true).catch(() => undefined);
    });
  }

  /** Publish the collected events up to `seq`; they stay collected until that succeeds. */
  async #publish(seq: number): Promise<void> {
    let n = 0;
    while (n < this.#pending.length && (this.#pending[n] as RunEvent).seq <= seq) n++;
    if (n === 0) return;
    await this.publisher.publish(this.runId, this.#pending.slice(0, n));
    this.#pending.splice(0, n);
  }

  load(runId: string): Promise<Snapshot | undefined> {
    return this.inner.load(runId);
  }

  events(runId: string, options?: EventsOptions): Promise<RunEvent[]> {
    return this.inner.events(runId, options);
  }

  list(filter?: ListFilter): Promise<RunSummary[]> {
    return this.inner.list(filter);
  }

  delete(runId: string): Promise<void> {
    return this.inner.delete(runId);
  }

  prune(filter?: PruneFilter): Promise<number> {
    return this.inner.prune(filter);
  }
}

const isStoreOutage = (e: RunEvent): boolean => e.kind === 'run_failed' && e.error.code === 'store_failed';
