import type { Logger } from 'pino';
import type { Observable, OperatorFunction, SchedulerLike } from 'rxjs';
import type { z } from 'zod';
import type { StateShape } from '../context/state.js';
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
  /**
   * Whether a failed attempt is worth another one (default: every error is). The attempt's thrown value is
   * passed as it was thrown. Errors marked non-retryable (`NonRetryableError`, an `EventType.of` validation
   * failure) are never retried, whatever `retryIf` says; a `retryIf` that throws counts as `false`.
   *
   * @example
   * ```ts
   * const policy = { retries: 3, retryIf: (e: unknown) => !(e instanceof TypeError) };
   * ```
   */
  retryIf?: (error: unknown) => boolean;
}

/** Something a step can accept: an EventType, or a bare type name (data then `unknown`). */
export type Acceptable = EventType<any, string, any> | string;

/**
 * The event a step receives for a list of accepted types. `I` is the workflow's input type (from its `input`
 * schema): it types `StartEvent`'s data.
 */
export type AcceptedEvent<A extends readonly Acceptable[], I = unknown> = A[number] extends infer T
  ? T extends EventType<infer D, infer N, any>
    ? [N] extends ['StartEvent']
      ? WorkflowEvent<I, N>
      : WorkflowEvent<D, N>
    : T extends string
      ? [T] extends ['StartEvent']
        ? WorkflowEvent<I, T>
        : WorkflowEvent<unknown, T>
      : never
  : never;

type Outputs = WorkflowEvent | readonly WorkflowEvent[] | void | undefined | null;

/** What a handler may return: an event, an array, nothing, a Promise of those, or an Observable of events. */
export type StepReturn = Outputs | Promise<Outputs> | Observable<WorkflowEvent>;

export type StepHandler<E, S extends StateShape = StateShape> = (event: E, ctx: StepContext<S>) => StepReturn;

/** A step's options. `I` is the workflow's input type: flow-control keys see `StartEvent`'s data typed as the handler does. */
export interface StepOptions<A extends readonly Acceptable[], I = unknown> extends FlowOptions<AcceptedEvent<A, I>> {
  accepts: A;
  /** Declared output types: anything else fails the run with `invalid_event`. */
  emits?: readonly Acceptable[];
  /**
   * Fan-in types this step collects with `ctx.collect` (DESIGN §6.1): only declared types are buffered as
   * they are routed, and collecting a type the step did not declare fails the run with `invalid_workflow`.
   *
   * @example
   * ```ts
   * .step('join', { accepts: [Answer], collects: [Answer] }, (ev, ctx) => {
   *   const all = ctx.collect(Answer, 3);            // undefined until three Answers have arrived
   *   return all && StopEvent.of({ result: all.map((a) => a.data) });
   * })
   * ```
   */
  collects?: readonly Acceptable[];
  /** ms per attempt before the step fails with `step_timeout`. */
  timeout?: number;
  retry?: RetryPolicy;
}

export interface PipeOptions<A extends readonly Acceptable[]> {
  accepts: A;
  emits?: readonly Acceptable[];
  /** Fan-in types the operator collects with `ctx.collect` (see `StepOptions.collects`). */
  collects?: readonly Acceptable[];
}

export type PipeOperator<E, S extends StateShape = StateShape> = (
  events$: Observable<E>,
  ctx: StepContext<S>,
) => Observable<WorkflowEvent>;

/** A zod object schema for a workflow's `state` option. */
export type StateSchema = z.ZodObject<any, any>;

export interface WorkflowOptions {
  /**
   * zod schema of the run input: it types `StartEvent`'s data in handlers and `run()`'s argument, and `run()`
   * throws `invalid_event` for an input that does not fit (handlers see the parsed value).
   *
   * @example
   * ```ts
   * import { z } from 'zod';
   * import { StartEvent, StopEvent, workflow } from 'sluice';
   * const greet = workflow('greet', { input: z.object({ name: z.string() }), result: z.string() })
   *   .step('hello', { accepts: [StartEvent] }, (ev) => StopEvent.of({ result: `hello ${ev.data.name}` }));
   * const text: string = await greet.run({ name: 'Ada' }).result;
   * ```
   */
  input?: z.ZodType;
  /** zod schema of the result: it types `run.result`; a StopEvent whose result does not fit fails the run `invalid_event`. */
  result?: z.ZodType;
  /**
   * zod object schema of `ctx.state`: it types `get`/`set`/`update` and `run()`'s `state` seed; a value that does
   * not fit its key's schema (or a key it does not name) is refused with `invalid_state`, which fails the run.
   */
  state?: StateSchema;
  /** ms of running time (not paused or waiting) before the run fails `timeout`; default 300 000, `null` = none. */
  timeout?: number | null;
  /**
   * What a run does once it is idle: nothing queued, running, waiting or sleeping, no pipe step busy, and no
   * StopEvent yet (usually a step that forgot to return one). It emits a `run_idle` RunEvent (`lastStep`: the
   * step that completed last) either way; `'wait'` (the default) keeps it open, as `run.send()` may still
   * revive it, and `'fail'` fails it with `stalled`. Any other value makes the workflow `invalid_workflow`.
   *
   * @example
   * ```ts
   * workflow('etl', { onIdle: 'fail' }) // a forgotten StopEvent fails the run at once instead of at its timeout
   * ```
   */
  onIdle?: 'wait' | 'fail';
  /** Checkpoint after each dispatch, on pause and wait, and at the end. */
  store?: CheckpointStore;
  /**
   * Write the run's RunEvents to the store's journal with each checkpoint (default true); `false` writes
   * none. Snapshots never hold history (DESIGN §6.1): read it with `store.events(runId)`.
   */
  history?: boolean;
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
  /** Fan-in types the step may `ctx.collect`; undefined when it declares none. */
  readonly collects?: ReadonlySet<string> | undefined;
  readonly concurrency: number;
  /** Per-key concurrency, rate limit and debounce (DESIGN §6.3); absent when the step has none of them. */
  readonly flow?: StepFlow;
  readonly timeout: number | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly schemas: ReadonlyMap<string, z.ZodType>;
  readonly handler?: (event: WorkflowEvent, ctx: StepContext) => unknown;
  readonly operator?: OperatorFunction<WorkflowEvent, WorkflowEvent> | PipeOperator<WorkflowEvent>;
}
