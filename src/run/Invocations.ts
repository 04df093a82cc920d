import { defer, map, mergeMap, Observable, tap, type Subscriber } from 'rxjs';
import { AttemptContext } from '../context/context.js';
import type { StepContext } from '../context/types.js';
import { describeThrown, engineError, isEngineError, WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import { StartEvent, type WorkflowEvent } from '../events/event.js';
import type { InFlightEntry } from '../snapshot/schema.js';
import type { StepDef } from '../workflow/types.js';
import { entryOf, errorInfo, InFlight, invocationId, InvocationObserver, stepErrorInfo, stepFields, withStep, type Invocation, type InvocationHost, type LoopHost } from './invocation.js';
import { invokeStep, runStep, type StepOutput } from './invokeStep.js';
import { deadline } from './operators/deadline.js';
import { retryWithBackoff } from './operators/retryWithBackoff.js';
import { KeptSet } from './keptSet.js';
import { holdClock, releaseClock } from './schedulers.js';

/**
 * The invocation lifecycle: sole owner of what is delivered but not started (`held`, inside a step's
 * `mergeMap` behind its limit or the gate), what is in flight, and how many in-flight invocations are parked
 * (on an open request or a paused child: settled as far as pause is concerned).
 */
export class Invocations implements InvocationHost {
  /** Delivered to a step but not started: held back by its concurrency limit or the pause gate. */
  readonly held = new KeptSet<Envelope>();
  readonly inFlight = new InFlight();
  private parkedCount = 0;
  /** Invocations that failed (and so failed the run): kept in `entries()`, so `wf.retry` re-delivers them. */
  private failed: InFlightEntry[] | undefined;
  /** Re-deliveries (after resume) of invocations parked on an open request: queued, but not work. */
  private dormant: Set<string> | undefined;
  /** What re-delivered invocations had collected before the snapshot, by invocation id, until they start. */
  private carried: Map<string, Record<string, WorkflowEvent[]>> | undefined;

  constructor(private readonly host: LoopHost) {}

  /** In-flight invocations not parked. */
  get active(): number {
    return this.inFlight.size - this.parkedCount;
  }

  /** Queued re-deliveries that are not work (see `dormant`). */
  get dormantCount(): number {
    return this.dormant?.size ?? 0;
  }

  markDormant(id: string): void {
    (this.dormant ??= new Set()).add(id);
  }

  /** A re-delivered invocation gets back what it collected before (DESIGN §6.6: replay-safe fan-in). */
  carry(entry: InFlightEntry): void {
    if (entry.collected !== undefined) (this.carried ??= new Map()).set(entry.invocationId, entry.collected);
  }

  /** The envelope went to a step whose pipeline can hold it back (a limit or flow control): held until it starts. */
  deliver(env: Envelope): void {
    this.held.add(env);
  }

  /** The pipelines were dropped: what they held back is back in the queue (see Pipelines.disconnect). */
  dropHeld(): void {
    this.held.clear();
  }

  park(inv: Invocation): void {
    if (inv.parked++ === 0) this.parkedCount++;
  }

  unpark(inv: Invocation): void {
    if (inv.settled) return;
    if (--inv.parked === 0) this.parkedCount--;
  }

  /**
   * The run ended: every in-flight attempt's signal is aborted with `reason()` (made only if needed), then what
   * the invocations produce from now on is no longer taken.
   */
  stopAll(reason: () => unknown): void {
    for (const inv of this.inFlight) inv.ctx?.abort(reason());
    for (const inv of this.inFlight) inv.observer?.unsubscribe();
  }

  /** In flight for the snapshot: the failed invocations first (see `failed`), then those still running. */
  entries(): InFlightEntry[] {
    const running = [...this.inFlight].map(entryOf);
    return this.failed === undefined ? running : [...this.failed, ...running];
  }

  /**
   * One invocation of a limited step (its `mergeMap` subscribes): waits for the gate, then runs its attempts.
   * Outputs go straight into the queue, so the Observable itself emits nothing; it completes when the
   * invocation has settled, which is what frees its slot in the step's `mergeMap`.
   */
  invocation(step: StepDef, env: Envelope): Observable<never> {
    return new Observable<never>((subscriber) => {
      const gate = this.host.gate;
      if (!gate.open) {
        this.held.add(env); // delivered, not started: part of the snapshot's pending until the gate opens
        return gate.opened$.pipe(mergeMap(() => this.invocation(step, env))).subscribe(subscriber);
      }
      return this.run(step, env, subscriber);
    });
  }

  /**
   * One invocation of an unlimited step, started now: its pipeline calls this for each envelope, with no
   * subscription per invocation (a `mergeMap` with no limit would only subscribe to each). False, and nothing
   * done, while the gate is closed: the caller waits on {@link invocation} instead.
   */
  start(step: StepDef, env: Envelope): boolean {
    if (!this.host.gate.open) return false;
    this.run(step, env, undefined);
    return true;
  }

  /** Run its attempts (with timeout and retry when configured); `subscriber` is completed when it settles. */
  private run(step: StepDef, env: Envelope, subscriber: Subscriber<never> | undefined): InvocationObserver {
    const inv = this.begin(step, env);
    const observer = (inv.observer = new InvocationObserver(this, inv, subscriber));
    releaseClock(); // the step's code may take its time: what it leads to reads the clock afresh
    if (step.timeout !== undefined || (step.retry !== undefined && step.retry.retries > 0)) {
      observer.running = this.attempts(inv).subscribe(observer);
      return observer;
    }
    // The common case, one attempt with no deadline: the handler feeds the observer directly.
    const ctx = this.startAttempt(inv);
    try {
      observer.running = runStep(step.handler as NonNullable<StepDef['handler']>, env.event, ctx, observer);
    } catch (thrown) {
      observer.error(thrown);
    }
    return observer;
  }

  /** A pipe step lives as long as the run: it is never in flight and has no per-event invocations. */
  pipeStep(step: StepDef, group: Observable<Envelope>): Observable<never> {
    const inv = this.newInvocation(step, { id: 'pipe', event: StartEvent.of(null), at: this.host.now(), to: step.name });
    const events$ = group.pipe(
      tap((env) => {
        this.held.delete(env);
        this.host.idle.piped(step.name);
      }),
      map((env) => env.event),
    );
    const operator = step.operator as (events$: Observable<WorkflowEvent>, ctx: StepContext) => Observable<WorkflowEvent>;
    return new Observable<never>((subscriber) =>
      defer(() => operator(events$, (inv.ctx = new AttemptContext<Invocation>(this.host.contexts, inv, 1, false)))).subscribe({
        next: (ev) => {
          this.host.idle.pipes.emitted(step.name);
          this.host.enqueue(ev, step);
          this.host.pump();
        },
        error: (error: unknown) => {
          this.fail(inv, error);
          subscriber.complete();
        },
        complete: () => subscriber.complete(),
      }),
    );
  }

  /** A final batch settles its invocation before its outputs are queued, so no snapshot shows both. */
  outputs(inv: Invocation, { events, last }: StepOutput): void {
    const held = holdClock(this.host.scheduler); // one reading for the completion and all that follows from it
    try {
      if (last) this.complete(inv, events.length > 0);
      else if (events.length > 0) this.host.idle.produced(inv);
      for (const ev of events) this.host.enqueue(ev, inv.step, inv.id);
      this.host.pump();
    } finally {
      if (held) releaseClock();
    }
  }

  settled(inv: Invocation, error?: { thrown: unknown }): void {
    if (error === undefined) this.complete(inv);
    else this.fail(inv, error.thrown);
    this.host.pump();
  }

  /** Attempts with a deadline and/or retries: each attempt is a fresh subscription to `invokeStep`. */
  private attempts(inv: Invocation): Observable<StepOutput> {
    const step = inv.step;
    let attempt$ = defer(() => invokeStep(step.handler as NonNullable<StepDef['handler']>, inv.envelope.event, this.startAttempt(inv)));
    if (step.timeout !== undefined) {
      const ms = step.timeout;
      attempt$ = attempt$.pipe(
        deadline(ms, this.host.scheduler, () => {
          inv.ctx?.abort();
          return engineError(
            new WorkflowError('step_timeout', `step '${step.name}' timed out after ${ms}ms`, { step: step.name, details: { timeout: ms } }),
          );
        }),
      );
    }
    if (step.retry !== undefined && step.retry.retries > 0) {
      attempt$ = attempt$.pipe(
        retryWithBackoff(step.retry, this.host.scheduler, (error, failedAttempt) => {
          inv.ctx?.abort();
          this.host.log.emit({ kind: 'step_retried', ...stepFields(inv), attempt: failedAttempt, error: stepErrorInfo(error, errorInfo(error)) });
        }),
      );
    }
    return attempt$;
  }

  private startAttempt(inv: Invocation): AttemptContext<Invocation> {
    inv.attempt++;
    inv.requests = 0;
    inv.ctx?.abort();
    const ctx = new AttemptContext<Invocation>(this.host.contexts, inv, inv.attempt);
    inv.ctx = ctx;
    if (inv.attempt > 1) this.host.log.emit({ kind: 'step_started', ...stepFields(inv), attempt: inv.attempt });
    return ctx;
  }

  private begin(step: StepDef, env: Envelope): Invocation {
    const inv = this.newInvocation(step, env);
    this.held.delete(env);
    this.dormant?.delete(inv.id);
    this.inFlight.add(inv);
    this.host.idle.started();
    // Literals, not a spread helper: these run for every invocation.
    this.host.log.emit({ kind: 'step_started', step: inv.step.name, invocationId: inv.id, type: inv.envelope.event.type, attempt: 1 }, inv.startedAt);
    return inv;
  }

  private newInvocation(step: StepDef, env: Envelope): Invocation {
    const id = invocationId(env);
    const collected = this.carried?.get(id);
    if (collected !== undefined) this.carried?.delete(id);
    return {
      id,
      step,
      envelope: env,
      startedAt: this.host.now(),
      attempt: 0,
      requests: 0,
      parked: 0,
      ctx: undefined,
      settled: false,
      collected,
      observer: undefined,
      prev: undefined,
      next: undefined,
    };
  }

  private complete(inv: Invocation, output = false): void {
    if (inv.settled) return;
    // Its state writes land with its outputs, in this synchronous step (DESIGN §6.6: transactional state).
    try {
      inv.ctx?.commitState();
    } catch (error) {
      // An update function that throws on the state current at commit fails the step; after the end, state is final.
      if (!(WorkflowError.is(error) && error.code === 'not_running')) return this.fail(inv, error);
    }
    this.release(inv);
    this.host.idle.completed(inv, output);
    const now = this.host.now(); // one reading for the duration and the event (~86 ns each on a VM)
    this.host.log.emit({ kind: 'step_completed', step: inv.step.name, invocationId: inv.id, type: inv.envelope.event.type, durationMs: now - inv.startedAt }, now);
  }

  private fail(inv: Invocation, thrown: unknown): void {
    if (inv.settled) return;
    this.release(inv);
    if (inv.step.kind !== 'pipe') (this.failed ??= []).push(entryOf(inv));
    const error = isEngineError(thrown)
      ? withStep(thrown, inv.step.name)
      : new WorkflowError('step_failed', `step '${inv.step.name}' failed: ${describeThrown(thrown)}`, { step: inv.step.name, cause: thrown });
    inv.ctx?.abort(error); // the failed step's own signal: work it left running can stop
    this.host.fail(error); // before announcing, as for a stop
    const now = this.host.now();
    this.host.log.emit({ kind: 'step_failed', ...stepFields(inv), error: stepErrorInfo(thrown, error.toInfo()), durationMs: now - inv.startedAt }, now);
    this.host.settle();
  }

  private release(inv: Invocation): void {
    inv.settled = true;
    if (inv.parked > 0) this.parkedCount--;
    this.inFlight.delete(inv);
    if (inv.requests > 0) this.host.forget(inv);
  }
}
