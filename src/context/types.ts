import type { EventType, WorkflowEvent } from '../events/event.js';
import type { RunState, StateShape } from './state.js';

export interface InputRequestOptions {
  /** Free-form JSON shown with the request (e.g. to a UI). */
  metadata?: unknown;
  /** ms of unpaused time after which the request fails with `input_timeout`. */
  timeout?: number;
}

/** Options of `ctx.waitFor`. */
export interface WaitForOptions<E = WorkflowEvent> {
  /** Take only events for which this returns true (default: the first of the type). */
  match?: (event: E) => boolean;
  /** ms of unpaused time after which the wait resolves `undefined`. */
  timeout?: number;
}

/**
 * What a step sees: one context per invocation; `state` is shared by the whole run.
 *
 * @example
 * ```ts
 * .step('collect', { accepts: [Answer] }, (ev, ctx) => {
 *   const all = ctx.collect(Answer, 3);          // undefined until three Answers arrived
 *   return all && StopEvent.of({ result: all.map((a) => a.data.text) });
 * })
 * ```
 */
export interface StepContext<S extends StateShape = StateShape> {
  readonly runId: string;
  readonly workflowName: string;
  /** Aborted when the run ends (stop, failure, timeout, abort) or this attempt timed out. */
  readonly signal: AbortSignal;
  /** Stable across retries and re-delivery after resume: an idempotency key for side effects. */
  readonly invocationId: string;
  /** 1 for the first attempt, 2 for the first retry… */
  readonly attempt: number;
  /** The run's state, typed by the workflow's `state` schema when it has one. */
  readonly state: RunState<S>;
  /** Route an event (any time while the run is active; ignored once it has ended). */
  send(event: WorkflowEvent): void;
  /** Publish an event to `events$` as a `stream` RunEvent, without routing it. */
  write(event: WorkflowEvent): void;
  /** Fan-in: the first `n` buffered events of `type` (removed) once `n` are there, else `undefined`. */
  collect<D, N extends string>(type: EventType<D, N, any>, n: number): WorkflowEvent<D, N>[] | undefined;
  /** Park this invocation until `run.respond(requestId, response)`; request ids are `<invocationId>:<n>`. */
  requestInput<R = unknown>(prompt: string, options?: InputRequestOptions): Promise<R>;
  /**
   * Park this invocation for `ms` (DESIGN §6.4): the due time is absolute and kept in the snapshot, so after
   * a resume anywhere it wakes then (at once if past). Sleeping counts as `waiting`, not against the
   * workflow timeout. Same re-delivery model as `requestInput` (code before the call must be idempotent).
   *
   * @example
   * ```ts
   * await ctx.sleep(24 * 60 * 60_000); // a day later, even across a restart
   * ```
   */
  sleep(ms: number): Promise<void>;
  /**
   * Park this invocation until an event of `type` (matching `match`) is sent to the run (`run.send`, HTTP
   * `POST /api/runs/:id/send`) or emitted by a step; `undefined` after `timeout` ms. The event is still routed
   * to the steps that accept it. Same ids and re-delivery model as `requestInput`.
   *
   * @example
   * ```ts
   * const paid = await ctx.waitFor(Paid, { match: (ev) => ev.data.orderId === order.id, timeout: 3_600_000 });
   * if (paid === undefined) return Cancelled.of({ orderId: order.id });
   * ```
   */
  waitFor<D, N extends string>(type: EventType<D, N, any> | N, options?: WaitForOptions<WorkflowEvent<D, N>>): Promise<WorkflowEvent<D, N> | undefined>;
}
