import type { Logger } from 'pino';
import type { Observable, OperatorFunction, SchedulerLike } from 'rxjs';
import type { z } from 'zod';
import type { StepContext } from '../context/types.js';
import type { EventType, WorkflowEvent } from '../events/event.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import type { FlowOptions, StepFlow } from './flowOptions.js';

/** How a failing step (or sub-workflow) is re-run. */
export interface RetryPolicy {
  /** How many times a failed attempt is re-run (0 = never). */
  retries: number;
  /** ms before the first retry (default 0). */
  delay?: number;
  /** `'exponential'` doubles the delay after each attempt (default `'fixed'`). */
  backoff?: 'fixed' | 'exponential';
  /** Upper bound for exponential delays. */
  maxDelay?: number;
}

/** Something a step can accept: an EventType, or a bare type name (data then `unknown`). */
export type Acceptable = EventType<any, string, any> | string;

/** The event a step receives for a list of accepted types. */
export type AcceptedEvent<A extends readonly Acceptable[]> = A[number] extends infer T
  ? T extends EventType<infer D, infer N, any>
    ? WorkflowEvent<D, N>
    : T extends string
      ? WorkflowEvent<unknown, T>
      : never
  : never;

type Outputs = WorkflowEvent | readonly WorkflowEvent[] | void | undefined | null;

/** What a handler may return: an event, an array, nothing, a Promise of those, or an Observable of events. */
export type StepReturn = Outputs | Promise<Outputs> | Observable<WorkflowEvent>;

export type StepHandler<E> = (event: E, ctx: StepContext) => StepReturn;

export interface StepOptions<A extends readonly Acceptable[]> extends FlowOptions<AcceptedEvent<A>> {
  accepts: A;
  /** Declared output types: anything else fails the run with `invalid_event`. */
  emits?: readonly Acceptable[];
  /** ms per attempt before the step fails with `step_timeout`. */
  timeout?: number;
  retry?: RetryPolicy;
}

export interface PipeOptions<A extends readonly Acceptable[]> {
  accepts: A;
  emits?: readonly Acceptable[];
}

export type PipeOperator<E> = (events$: Observable<E>, ctx: StepContext) => Observable<WorkflowEvent>;

export interface WorkflowOptions {
  /** ms of running time (not paused or waiting) before the run fails `timeout`; default 300 000, `null` = none. */
  timeout?: number | null;
  /** Checkpoint after each dispatch, on pause and wait, and at the end. */
  store?: CheckpointStore;
  /** Keep the run's RunEvents for snapshots (default true). */
  history?: boolean;
  /**
   * Keep only the latest `historyLimit` RunEvents in the history (default: unbounded, so a snapshot is a
   * complete audit trail). The oldest are dropped first. A bounded history makes snapshots lossy for audit,
   * but `seq` stays intact: numbering continues after resume and `snapshot.seq` is still the last seq assigned.
   * A non-negative integer, else the workflow is `invalid_workflow`.
   *
   * @example
   * ```ts
   * workflow('poller', { historyLimit: 1_000 }) // long-running: keep the last 1 000 RunEvents
   * ```
   */
  historyLimit?: number;
  /** How many RunEvents `events$` replays to late subscribers (default 10 000). */
  replay?: number;
  /** Time source for every timer (default `asyncScheduler`); pass a TestScheduler for virtual time. */
  scheduler?: SchedulerLike;
  /**
   * A pino logger for the run's lifecycle: routing and steps at debug, run start/end at info, retries and
   * checkpoint failures at warn, failures at error, with `runId`, `workflow`, `step`… as fields. Without
   * one nothing is logged and nothing subscribes.
   *
   * @example
   * ```ts
   * workflow('qa', { logger: pino({ level: 'info' }) })
   * ```
   */
  logger?: Logger;
}

/** Internal description of one step, whatever its kind. */
export interface StepDef {
  readonly name: string;
  readonly kind: 'step' | 'pipe';
  readonly accepts: readonly string[];
  readonly emits: ReadonlySet<string> | undefined;
  readonly concurrency: number;
  /** Per-key concurrency, rate limit and debounce (DESIGN §6.3); absent when the step has none of them. */
  readonly flow?: StepFlow;
  readonly timeout: number | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly schemas: ReadonlyMap<string, z.ZodType>;
  readonly handler?: (event: WorkflowEvent, ctx: StepContext) => unknown;
  readonly operator?: OperatorFunction<WorkflowEvent, WorkflowEvent> | PipeOperator<WorkflowEvent>;
}
