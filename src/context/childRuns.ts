import type { Observable, SchedulerLike } from 'rxjs';
import type { RunStatus } from '../snapshot/status.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';

/**
 * Internal hook on a step's context through which sub-workflow steps start child runs, so the parent can
 * pause them with itself, include their snapshots in its own, and continue them after resume.
 */
export const CHILD_RUNS = Symbol('sluice.childRuns');

/** What a parent needs of a child run (a `RunHandle` is one; declared here so context sits below run/). */
export interface ChildHandle {
  readonly id: string;
  readonly events$: Observable<RunEvent>;
  readonly result$: Observable<unknown>;
  readonly status: RunStatus;
  snapshot(): Snapshot;
  /** Throws `not_running` once the child has ended. */
  resume(): void;
  abort(reason?: unknown): void;
}

/** Starts a child on the parent's scheduler, or continues it from the snapshot the parent carried. */
export type ChildStarter = (scheduler: SchedulerLike, snapshot: Snapshot | undefined) => ChildHandle;

export interface ChildRuns {
  /** The parent's scheduler, for the child's timers. */
  readonly scheduler: SchedulerLike;
  start(branch: string, starter: ChildStarter): ChildHandle;
  /** A child attempt failed and will be retried: the parent reports `step_retried` for its step. */
  retried(failedAttempt: number, error: unknown): void;
}

/** The hook of a context (every step context the run loop builds has one). */
export const childRunsOf = (ctx: object): ChildRuns => (ctx as { [CHILD_RUNS]: ChildRuns })[CHILD_RUNS];
