import type { SchedulerLike, Subscription } from 'rxjs';
import { describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import type { RunEvent } from '../telemetry/runEvent.js';

/** Consecutive failed saves after which the run fails `store_failed`. */
const MAX_FAILED_SAVES = 3;
/** Wait before re-trying a failed save, times the number of failures in a row. */
const RETRY_MS = 50;

/** What the run does about checkpoint outcomes. */
export interface CheckpointHooks {
  /** The snapshot to save now. */
  snapshot(): Snapshot;
  /** The RunEvents since the previous call (up to the snapshot's seq), for the store's journal. */
  journal(): RunEvent[];
  /** A save succeeded (the run emits `checkpoint_saved` while it is live). */
  saved(): void;
  /** A save failed (`checkpoint_failed`); `fatal` when the run must fail with `error`. */
  failed(error: WorkflowError, consecutive: number, fatal: WorkflowError | undefined): void;
  /** The save the run was waiting for (see `behind`) has ended and the next one has started. */
  caughtUp(): void;
  /** Every save asked for has landed: nothing is on its way to the store, nothing failed. */
  idle(): void;
}

/**
 * Saves a run's latest snapshot with the RunEvents since the last save (the journal delta): saves never
 * overlap, a change during a save triggers one more (so the latest state always lands), and a failed save is
 * retried on the scheduler even if nothing changes, its journal delta going with the next attempt.
 */
export class Checkpointer {
  private saving: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  private retry: Subscription | undefined;
  private lastError: WorkflowError | undefined;
  /** The journal delta of a save that failed: it goes in front of the next one, so no RunEvent is lost. */
  private unsaved: RunEvent[] = [];

  constructor(
    private readonly store: CheckpointStore,
    private readonly scheduler: SchedulerLike,
    private readonly hooks: CheckpointHooks,
    /** RunEvents the first save writes before the run's own (a version-1 snapshot's history, for the journal). */
    carried: readonly RunEvent[] = [],
  ) {
    this.unsaved = [...carried];
  }

  /**
   * A save is in progress and the run has changed since it started: what changed is not on its way to the
   * store yet. The run holds dispatch meanwhile (under real time), so the durable point is never more than
   * one save behind, whatever the run's length (DESIGN §3.8).
   */
  get behind(): boolean {
    return this.again;
  }

  /** Nothing is being saved or waiting to be, and the latest save succeeded. */
  get settled(): boolean {
    return this.saving === undefined && this.failures === 0 && this.unsaved.length === 0;
  }

  /** Save now, or right after the save in progress. */
  request(): void {
    if (this.saving !== undefined) {
      this.again = true;
      return;
    }
    this.retry?.unsubscribe();
    const snapshot = this.hooks.snapshot();
    const delta = this.hooks.journal();
    const journal = this.unsaved.length === 0 ? delta : this.unsaved.concat(delta);
    this.unsaved = [];
    this.saving = this.save(snapshot, journal);
  }

  /** One save, called from a microtask (never inside the run's own call stack); then the next, if asked for. */
  private async save(snapshot: Snapshot, journal: RunEvent[]): Promise<void> {
    try {
      await undefined;
      try {
        await this.store.save(snapshot, journal);
      } catch (thrown) {
        this.unsaved = journal;
        this.failed(thrown);
        return;
      }
      this.failures = 0;
      this.lastError = undefined;
      this.hooks.saved(); // outside the catch: a throwing hook is not a failed save
    } finally {
      this.saving = undefined;
      if (this.again) {
        this.again = false;
        this.request();
        this.hooks.caughtUp();
      } else if (this.failures === 0) {
        this.hooks.idle();
      }
    }
  }

  /** Resolves once every requested save has finished; rejects if the latest one failed. */
  async flush(): Promise<void> {
    while (this.saving !== undefined) await this.saving;
    if (this.lastError !== undefined) throw this.lastError;
  }

  dispose(): void {
    this.retry?.unsubscribe();
  }

  private failed(thrown: unknown): void {
    this.failures++;
    const error =
      WorkflowError.is(thrown)
        ? thrown
        : new WorkflowError('store_failed', `checkpoint failed: ${describeThrown(thrown)}`, { cause: thrown });
    this.lastError = error;
    let fatal: WorkflowError | undefined;
    if (error.code === 'store_conflict') {
      fatal = error; // another process owns this run now: continuing here would fork it
    } else if (this.failures >= MAX_FAILED_SAVES) {
      fatal = new WorkflowError('store_failed', `${this.failures} checkpoints in a row failed: ${error.message}`, {
        cause: thrown,
      });
    } else {
      this.retry = this.scheduler.schedule(() => this.request(), RETRY_MS * this.failures);
    }
    this.hooks.failed(error, this.failures, fatal);
  }
}
