import type { SchedulerLike, Subscription } from 'rxjs';
import { describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';

/** Consecutive failed saves after which the run fails `store_failed`. */
const MAX_FAILED_SAVES = 3;
/** Wait before re-trying a failed save, times the number of failures in a row. */
const RETRY_MS = 50;

/** What the run does about checkpoint outcomes. */
export interface CheckpointHooks {
  /** The snapshot to save now. */
  snapshot(): Snapshot;
  /** A save succeeded (the run emits `checkpoint_saved` while it is live). */
  saved(): void;
  /** A save failed (`checkpoint_failed`); `fatal` when the run must fail with `error`. */
  failed(error: WorkflowError, consecutive: number, fatal: WorkflowError | undefined): void;
}

/**
 * Saves a run's latest snapshot: saves never overlap, a change during a save triggers one more (so the
 * latest state always lands), and a failed save is retried on the scheduler even if nothing changes.
 */
export class Checkpointer {
  private saving: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  private retry: Subscription | undefined;
  private lastError: WorkflowError | undefined;

  constructor(
    private readonly store: CheckpointStore,
    private readonly scheduler: SchedulerLike,
    private readonly hooks: CheckpointHooks,
  ) {}

  /** Save now, or right after the save in progress. */
  request(): void {
    if (this.saving !== undefined) {
      this.again = true;
      return;
    }
    this.retry?.unsubscribe();
    const snapshot = this.hooks.snapshot();
    this.saving = Promise.resolve()
      .then(() => this.store.save(snapshot))
      .then(
        () => {
          this.failures = 0;
          this.lastError = undefined;
          this.hooks.saved();
        },
        (thrown: unknown) => this.failed(thrown),
      )
      .finally(() => {
        this.saving = undefined;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
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
