import type { Observer, SchedulerLike, Subscriber, Unsubscribable } from 'rxjs';
import { describeThrown, engineError, WorkflowError, type ErrorInfo } from '../errors/WorkflowError.js';
import type { AttemptContext, ContextHost } from '../context/context.js';
import type { Envelope } from '../events/envelope.js';
import type { WorkflowEvent } from '../events/event.js';
import { copyCollected } from '../snapshot/build.js';
import type { InFlightEntry } from '../snapshot/schema.js';
import type { StepErrorInfo } from '../telemetry/runEvent.js';
import type { StepDef } from '../workflow/types.js';
import type { EventLog } from './eventLog.js';
import type { IdleWatch } from './idle.js';
import type { StepOutput, StepSink } from './invokeStep.js';
import type { Gate } from './pause.js';

/** One started invocation of a step (from its first attempt until it settles). */
export interface Invocation {
  readonly id: string;
  readonly step: StepDef;
  readonly envelope: Envelope;
  readonly startedAt: number;
  attempt: number;
  /** Input requests made by the current attempt (the `n` of `<invocationId>:<n>`). */
  requests: number;
  /** Open requests this invocation is parked on; a parked invocation counts as settled for pause. */
  parked: number;
  /** The current attempt's context, whose signal is aborted when the attempt or the run ends. */
  ctx: AttemptContext<Invocation> | undefined;
  settled: boolean;
  /** What it took with `ctx.collect`, by type: handed back on a retry or a re-delivery (see FanIn). */
  collected: Record<string, WorkflowEvent[]> | undefined;
  /** What feeds its outputs into the run: closed when the run ends (see Invocations.stopAll). */
  observer: InvocationObserver | undefined;
  /** Its neighbours while in flight (see {@link InFlight}). */
  prev: Invocation | undefined;
  next: Invocation | undefined;
}

/**
 * The invocations in flight, in start order: a list linked through the invocations themselves. A Set of them
 * hashed each new invocation (V8 makes an object's identity hash on its first insertion, a runtime call, ~5 % of
 * a chain run); linking allocates nothing.
 */
export class InFlight implements Iterable<Invocation> {
  size = 0;
  private first: Invocation | undefined;
  private last: Invocation | undefined;

  add(inv: Invocation): void {
    inv.prev = this.last;
    inv.next = undefined;
    if (this.last === undefined) this.first = inv;
    else this.last.next = inv;
    this.last = inv;
    this.size++;
  }

  /** Unlink an invocation; one that is not in the list (a pipe step's) is left alone. */
  delete(inv: Invocation): void {
    if (inv.prev === undefined && this.first !== inv) return;
    if (inv.prev === undefined) this.first = inv.next;
    else inv.prev.next = inv.next;
    if (inv.next === undefined) this.last = inv.prev;
    else inv.next.prev = inv.prev;
    inv.prev = inv.next = undefined;
    this.size--;
  }

  *[Symbol.iterator](): Iterator<Invocation> {
    for (let inv = this.first; inv !== undefined; inv = inv.next) yield inv;
  }
}

/** What the invocations need from their run. */
export interface LoopHost {
  readonly scheduler: SchedulerLike;
  /** The scheduler's clock (a held reading inside a step's output cascade, see holdClock). */
  readonly now: () => number;
  readonly log: EventLog;
  /** The pause gate: an invocation waits for it to open before it starts. */
  readonly gate: Gate;
  /** What each attempt's context calls. */
  readonly contexts: ContextHost<Invocation>;
  /** Check and queue what `step` produced. */
  enqueue(value: unknown, step: StepDef, from?: string): void;
  /** Dispatch what is queued, then recompute status. */
  pump(): void;
  /** Recompute status (release pause waiters, checkpoint). */
  settle(): void;
  /** Propose a failed outcome. */
  fail(error: WorkflowError): void;
  /** A settled invocation's open input requests are dropped. */
  forget(inv: Invocation): void;
  /** Told when work starts and steps complete, to report an idle run. */
  readonly idle: IdleWatch;
}

/** What an invocation reports to its run. */
export interface InvocationHost {
  /** A batch of outputs; a `last` one settles the invocation first. */
  outputs(inv: Invocation, output: StepOutput): void;
  /** The invocation ended: completed, or failed with `thrown`. */
  settled(inv: Invocation, error?: { thrown: unknown }): void;
}

/**
 * Feeds one invocation's outputs and end into the run; a class, so the hot path allocates one object. With a
 * `subscriber` (a limited step's `mergeMap`), its end completes that subscriber, which frees the slot.
 */
export class InvocationObserver implements Observer<StepOutput>, StepSink, Unsubscribable {
  closed = false;
  /** An Observable step result's subscription, stopped with the invocation. */
  running: Unsubscribable | undefined;

  constructor(
    private readonly run: InvocationHost,
    private readonly inv: Invocation,
    private readonly subscriber: Subscriber<never> | undefined,
  ) {}

  next(output: StepOutput): void {
    if (!this.closed) this.run.outputs(this.inv, output);
  }

  error(thrown: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.run.settled(this.inv, { thrown });
    this.subscriber?.complete();
  }

  complete(): void {
    if (this.closed) return;
    this.closed = true;
    this.run.settled(this.inv);
    this.subscriber?.complete();
  }

  /** The invocation's subscription ended (run over, or settled): stop delivering. */
  unsubscribe(): void {
    this.closed = true;
    this.running?.unsubscribe();
  }
}

/** Stable across retries and re-delivery: the envelope's id and the step it is addressed to. */
export function invocationId(env: Envelope): string {
  return `${env.id}/${env.to as string}`;
}

/** The fields every step RunEvent carries. */
export function stepFields(inv: Invocation): { step: string; invocationId: string; type: string } {
  return { step: inv.step.name, invocationId: inv.id, type: inv.envelope.event.type };
}

/** A thrown value as a RunEvent's `error`: a WorkflowError's code, else `step_failed`. */
export function errorInfo(error: unknown): ErrorInfo {
  return WorkflowError.is(error) ? { code: error.code, message: error.message } : { code: 'step_failed', message: describeThrown(error) };
}

const STACK_LIMIT = 4_096;
const CAUSE_LIMIT = 1_000;

/**
 * `info` with, bounded, what the step's own code threw: the first non-WorkflowError `Error` in the cause
 * chain (a WorkflowError wraps it as `step_failed`, `subworkflow_failed`…) gives its stack and its `cause`.
 */
export function stepErrorInfo(thrown: unknown, info: ErrorInfo): StepErrorInfo {
  let error = thrown;
  for (let depth = 0; WorkflowError.is(error) && depth < 8; depth++) error = error.cause;
  if (!(error instanceof Error)) return info;
  const out: StepErrorInfo = { ...info };
  if (typeof error.stack === 'string') out.stack = error.stack.slice(0, STACK_LIMIT);
  const cause: unknown = error.cause;
  if (cause !== undefined) {
    out.cause = { name: cause instanceof Error ? cause.name : typeof cause, message: describeThrown(cause).slice(0, CAUSE_LIMIT) };
  }
  return out;
}

/** An invocation as an in-flight entry of a snapshot (with what it collected, when it did). */
export function entryOf(inv: Invocation): InFlightEntry {
  const entry: InFlightEntry = { step: inv.step.name, invocationId: inv.id, envelope: inv.envelope };
  if (inv.collected !== undefined) entry.collected = copyCollected(inv.collected);
  return entry;
}

/** An engine error raised without a step (an `EventType.of` validation inside a handler) gets the failing step's name. */
export function withStep(error: WorkflowError, step: string): WorkflowError {
  if (error.step !== undefined) return error;
  const named = new WorkflowError(error.code, `step '${step}': ${error.message}`, {
    step,
    cause: error.cause,
    retryable: error.retryable,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
  return engineError(named);
}
