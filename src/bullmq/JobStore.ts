import { Subject, type Subscription } from 'rxjs';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { RunHandle } from '../run/RunHandle.js';
import type { RunStatus } from '../run/status.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore, ListFilter, PruneFilter, RunSummary } from '../stores/CheckpointStore.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { Publisher } from './publisher.js';

/**
 * The store one run sees while a job holds it on this worker: saves go to the worker's store, and each save
 * that is in publishes the RunEvents it covers (a transactional outbox). Subscribers therefore only ever see a
 * prefix of the run's stored history: a worker that dies loses nothing they saw, and the worker that resumes
 * the run from that checkpoint continues right after it (seq for seq, with no event told twice).
 *
 * A publish that fails fails the save, so the engine retries it like any failed checkpoint.
 */
export class JobStore implements CheckpointStore {
  /** Settles after every save attempt, in or not. */
  readonly attempts$ = new Subject<void>();
  /** What the last successful save stored. */
  saved: { seq: number; status: RunStatus } | undefined;
  lastSaveFailed = false;
  /** This job wrote the run's result. */
  recorded = false;

  #pending: RunEvent[] = [];
  #events: Subscription | undefined;
  #fenced: WorkflowError | undefined;
  /** The claim a fresh run must win before its own saves go in. */
  #claim: Promise<void> | undefined;

  constructor(
    private readonly inner: CheckpointStore,
    private readonly publisher: Publisher,
    readonly runId: string,
  ) {}

  /** Collect the run's RunEvents (a resumed run replays its history first: already published ones are skipped). */
  attach(run: RunHandle): void {
    this.#events = run.events$.subscribe((e) => {
      if (e.kind !== 'gap') this.#pending.push(e);
    });
  }

  /**
   * Store the first snapshot of a fresh run only if the run is stored nowhere yet, before the run's own saves.
   * Resolves false when another writer stored it first (the job then resumes that instead). Without this, two
   * workers that both found no checkpoint could both start the run, and a later save of either would win.
   */
  async claim(snapshot: Snapshot): Promise<boolean> {
    this.#claim = this.inner.save(snapshot);
    try {
      await this.#claim;
      this.saved = { seq: snapshot.seq, status: snapshot.status };
      return true;
    } catch (error) {
      if (!(error instanceof WorkflowError) || error.code !== 'store_conflict') throw error;
      this.fence();
      return false;
    }
  }

  /** Refuse every later save: the run has left this worker (parked in the store, handed over, or lost). */
  fence(): void {
    this.#fenced ??= new WorkflowError('store_conflict', `run '${this.runId}' is no longer held by this worker`, {
      details: { runId: this.runId },
    });
    this.#events?.unsubscribe();
  }

  async save(snapshot: Snapshot): Promise<void> {
    try {
      await this.#claim;
      if (this.#fenced !== undefined) throw this.#fenced;
      if (snapshot.status === 'failed' && this.#pending.some(isStoreOutage)) {
        // A store outage is not the run's outcome: the job fails instead and is retried from the last checkpoint.
        throw new WorkflowError('store_failed', `run '${this.runId}' ended on a store failure; not recording that as its outcome`);
      }
      await this.inner.save(snapshot);
      await this.#publish(snapshot.seq);
      this.saved = { seq: snapshot.seq, status: snapshot.status };
      this.lastSaveFailed = false;
    } catch (error) {
      this.lastSaveFailed = true;
      throw error;
    } finally {
      this.attempts$.next();
    }
  }

  /** Publish the collected events up to `seq`; they stay collected until that succeeds. */
  async #publish(seq: number): Promise<void> {
    let n = 0;
    while (n < this.#pending.length && (this.#pending[n] as RunEvent).seq <= seq) n++;
    if (n === 0) return;
    const { recorded } = await this.publisher.publish(this.runId, this.#pending.slice(0, n));
    this.#pending.splice(0, n);
    if (recorded) this.recorded = true;
  }

  load(runId: string): Promise<Snapshot | undefined> {
    return this.inner.load(runId);
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
