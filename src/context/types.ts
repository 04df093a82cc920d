import type { EventType, WorkflowEvent } from '../events/event.js';
import type { RunState, StateShape } from './state.js';

export interface InputRequestOptions {
  /** Free-form JSON shown with the request (e.g. to a UI). */
  metadata?: unknown;
  /** ms of unpaused time after which the request fails with `input_timeout`. */
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
}
