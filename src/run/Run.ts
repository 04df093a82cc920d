import {
  AsyncSubject,
  asapScheduler,
  asyncScheduler,
  BehaviorSubject,
  defer,
  EMPTY,
  filter,
  first,
  groupBy,
  map,
  mergeMap,
  Observable,
  of,
  Subject,
  Subscription,
  tap,
  type SchedulerLike,
} from 'rxjs';
import { AttemptContext } from '../context/context.js';
import { StateStore } from '../context/state.js';
import type { InputRequestOptions, StepContext } from '../context/types.js';
import { describeThrown, engineError, isEngineError, WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import { uuid } from '../events/ids.js';
import { checkEvent, InputRequestEvent, InputResponseEvent, isEvent, StartEvent, StopEvent, type WorkflowEvent } from '../events/event.js';
import { deepFreeze, findNonJson } from '../events/freeze.js';
import type { Snapshot, WaitingEntry } from '../snapshot/schema.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import { attachLogger } from '../telemetry/logger.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { StepDef } from '../workflow/types.js';
import type { WorkflowSpec } from '../workflow/spec.js';
import { EventLog } from './eventLog.js';
import { invocationId, InvocationObserver, stepFields, type Invocation, type InvocationHost } from './invocation.js';
import { invokeStep, runStep, type StepOutput } from './invokeStep.js';
import { budgetTimer, Stopwatch } from './operators/budgetTimer.js';
import { deadline } from './operators/deadline.js';
import { highestInFrame } from './operators/highestInFrame.js';
import { retryWithBackoff } from './operators/retryWithBackoff.js';
import { Checkpointer } from './Checkpointer.js';
import { InputRequests, type InputHost } from './InputRequests.js';
import { Queue } from './queue.js';
import { initialControl, OUTCOME_RANK, reduce, type Control, type ControlAction, type Outcome } from './reducer.js';
import type { ChildStarter } from './childRuns.js';
import type { RunHandle } from './RunHandle.js';
import { isTerminal, type RunStatus } from './status.js';

interface ChildRun {
  readonly invocation: Invocation;
  readonly run: RunHandle;
  /** The child paused with its parent and counts as settled for the parent's pause. */
  parked: boolean;
}


/** Where a run starts from: a fresh input, or a snapshot being resumed. */
export type RunStart =
  | { kind: 'new'; input: unknown; runId?: string; state?: Record<string, unknown>; replay?: number }
  | { kind: 'resume'; snapshot: Snapshot };

/**
 * The run loop. Envelopes wait in `queue` behind the pause gate; `pump` dispatches them one at a time
 * (a trampoline, so a synchronous chain of any length never grows the stack) onto the `bus`, which
 * `groupBy`s them by addressed step into one `mergeMap` per step whose `concurrent` argument is the step's
 * limit. Step errors, the StopEvent and the workflow timeout race through `highestInFrame`; abort ends at once.
 */
export class Run implements RunHandle, InvocationHost {
  readonly id: string;
  private readonly spec: WorkflowSpec;
  readonly scheduler: SchedulerLike;
  /** Zero-delay work: a microtask instead of a macrotask under the default scheduler. */
  private readonly soon: SchedulerLike;
  private readonly log: EventLog;
  readonly state: StateStore;
  private readonly input: unknown;
  private readonly createdAt: number;
  private readonly meta: Record<string, unknown>;

  private readonly bus = new Subject<Envelope>();
  private readonly gate = new BehaviorSubject<boolean>(true);
  /** Outcomes proposed in the current frame; the race starts with the first proposal. */
  private outcomes: Subject<Outcome> | undefined;
  private readonly queue = new Queue<Envelope>();
  /** Delivered to a step but not started: held back by its concurrency limit or the pause gate. */
  private readonly held = new Set<Envelope>();
  private readonly inFlight = new Set<Invocation>();
  /** Created on first use: most runs never ask for input. */
  private requests: InputRequests | undefined;
  private readonly collected: Record<string, WorkflowEvent[]>;
  private readonly clock: Stopwatch;
  private readonly subscription = new Subscription();
  private readonly statusSubject: BehaviorSubject<RunStatus>;
  private readonly resultSubject = new AsyncSubject<unknown>();
  private control: Control = initialControl;
  private parked = 0;
  /** Sub-workflow runs in flight, keyed `<invocationId>#<branch>`; snapshots of them restored on resume. */
  private children: Map<string, ChildRun> | undefined;
  private restoredChildren: Map<string, Snapshot> | undefined;
  /** Re-deliveries (after resume) of invocations parked on an open request: queued, but not work. */
  private dormant: Set<string> | undefined;
  private pumping = true;
  private shard = 0;
  private yielding: Subscription | undefined;
  /** The loop's pipelines (bus, outcome, timeout); undefined while hibernating. */
  private wiring: Subscription | undefined;
  private pauseWaiters: { resolve: (s: Snapshot) => void; reject: (e: unknown) => void }[] = [];
  private finalSnapshot: Snapshot | undefined;
  private resultPromise: Promise<unknown> | undefined;
  private readonly checkpoints: Checkpointer | undefined;

  constructor(spec: WorkflowSpec, start: RunStart) {
    this.spec = spec;
    this.scheduler = spec.options.scheduler ?? asyncScheduler;
    this.soon = this.scheduler === asyncScheduler ? asapScheduler : this.scheduler;
    const now = () => this.scheduler.now();
    const replay = (start.kind === 'new' ? start.replay : undefined) ?? spec.options.replay ?? 10_000;
    const history = spec.options.history ?? true;
    this.checkpoints = spec.options.store === undefined ? undefined : this.checkpointer(spec.options.store);

    if (start.kind === 'new') {
      this.id = start.runId ?? uuid();
      this.input = start.input;
      this.createdAt = now();
      this.meta = {};
      this.state = new StateStore(start.state);
      this.collected = {};
      this.clock = new Stopwatch(now);
      this.log = new EventLog({ runId: this.id, now, replay, history });
      this.statusSubject = new BehaviorSubject<RunStatus>('running');
      this.log.emit({ kind: 'run_started', workflow: spec.name, input: start.input });
      this.queue.push(this.envelope(StartEvent.of(start.input)));
    } else {
      const snap = start.snapshot;
      this.id = snap.runId;
      this.input = snap.input;
      this.createdAt = snap.createdAt;
      this.meta = { ...snap.metadata };
      this.state = new StateStore(snap.state);
      this.collected = Object.fromEntries(Object.entries(snap.collected).map(([t, evs]) => [t, evs.map(freeze)]));
      this.clock = new Stopwatch(now, snap.elapsedMs);
      this.log = new EventLog({ runId: this.id, now, replay, history, carried: snap.history, seq: snap.seq });
      this.statusSubject = new BehaviorSubject<RunStatus>('running');
      // In-flight invocations are re-delivered to their step first (at-least-once), then pending in order.
      for (const entry of snap.inFlight) this.queue.push(freeze({ ...entry.envelope, to: entry.step }));
      for (const env of snap.pending) this.queue.push(freeze(env));
      this.log.emit({ kind: 'run_resumed' });
      if (snap.waiting.length > 0 || Object.keys(snap.answered).length > 0) {
        this.requests = new InputRequests(this.inputHost(), snap);
      }
      if (Object.keys(snap.children).length > 0) this.restoredChildren = new Map(Object.entries(snap.children));
      for (const entry of snap.inFlight) {
        if (this.requests?.isWaiting(entry.invocationId) === true) (this.dormant ??= new Set()).add(entry.invocationId);
      }
      this.settle();
    }

    this.connect();
    if (spec.options.historyLimit !== undefined) this.log.limitHistory(spec.options.historyLimit);
    // Telemetry only consumes the RunEvent stream: without a logger nothing subscribes.
    if (spec.options.logger !== undefined) attachLogger(spec.options.logger, this.log.events$, { runId: this.id, workflow: spec.name });
    // Never dispatch synchronously: a subscriber attached right after run() sees every event. Until the
    // first scheduled pump, pumping is held (events sent meanwhile, even by a pipe step, just queue up).
    // Held in `subscription` (to cancel it) only until it has run, so a parked run does not keep it.
    let first: Subscription | undefined;
    let started = false;
    first = this.soon.schedule(() => {
      started = true;
      if (first !== undefined) this.subscription.remove(first);
      this.pumping = false;
      this.pump();
    });
    if (!started) this.subscription.add(first);
  }

  // ── the loop ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Subscribe the loop's pipelines. A paused, quiescent run drops them (`hibernate`) and keeps only plain
   * data, so thousands of parked runs cost little memory; `resume()` connects again.
   */
  private connect(): void {
    const wiring = new Subscription();
    this.wiring = wiring;
    wiring.add(
      this.bus
        .pipe(
          groupBy((env) => this.groupKey(env)),
          mergeMap((group) => {
            const step = this.spec.stepsByGroup.get(group.key) as StepDef;
            return step.kind === 'pipe' ? EMPTY : group.pipe(mergeMap((env) => this.invocation(step, env), step.concurrency));
          }),
        )
        .subscribe(),
    );

    const timeout = this.spec.options.timeout === undefined ? 300_000 : this.spec.options.timeout;
    if (timeout !== null) {
      wiring.add(
        this.statusSubject
          .pipe(
            map((s) => s === 'running'),
            budgetTimer(timeout, this.scheduler, this.clock),
          )
          .subscribe(() =>
            this.propose({
              status: 'timed_out',
              error: new WorkflowError('timeout', `workflow '${this.spec.name}' timed out after ${timeout}ms`, {
                details: { timeout },
              }),
            }),
          ),
      );
    }
    // Pipe steps are subscribed from the start, so their timers (bufferTime, debounce…) start with the run.
    for (const step of this.spec.steps) {
      if (step.kind === 'pipe') wiring.add(this.pipeStep(step, this.bus.pipe(filter((env) => env.to === step.name))).subscribe());
    }
  }

  /**
   * The group of an addressed envelope: its step, or for a step without a concurrency limit one of its
   * shards. mergeMap keeps its live inner subscriptions in one array and removes each finished one with a
   * splice, quadratic with thousands in flight (notes/rxjs-performance.md); spreading an unlimited step over
   * several mergeMaps keeps every array short, and without a limit nothing else changes.
   */
  private groupKey(env: Envelope): string {
    const keys = this.spec.groupKeys.get(env.to as string) as readonly string[];
    return keys.length === 1 ? (keys[0] as string) : (keys[this.shard++ % keys.length] as string);
  }

  private hibernate(): void {
    if (this.wiring === undefined) return;
    this.wiring.unsubscribe();
    this.wiring = undefined;
    // Envelopes held back inside a step's mergeMap went with it: they go first in the queue, still addressed.
    this.queue.unshiftAll([...this.held]);
    this.held.clear();
  }

  /**
   * Dispatch queued envelopes while the gate is open; re-entrant calls just return (trampoline). After
   * `DISPATCH_BATCH` dispatches it yields to the event loop, so pause/abort/snapshot are never starved.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    let budget = DISPATCH_BATCH;
    try {
      while (this.gate.value && !this.control.closing && this.queue.length > 0) {
        if (budget-- === 0) {
          this.yielding ??= this.yieldThen(() => {
            this.yielding = undefined;
            this.pump();
          });
          break;
        }
        this.dispatch(this.queue.shift() as Envelope);
      }
    } finally {
      this.pumping = false;
    }
    this.settle();
  }

  /** Continue after other macrotasks (I/O, timers, callers' abort) had their turn. */
  private yieldThen(work: () => void): Subscription {
    if (this.scheduler !== asyncScheduler) return this.scheduler.schedule(work);
    const handle = setImmediate(work);
    return new Subscription(() => clearImmediate(handle));
  }

  private dispatch(env: Envelope): void {
    if (env.to !== undefined) return this.deliver(env);
    const ev = env.event;
    if (ev.type === StopEvent.type) {
      // Decide before announcing, so an observer calling abort() on this event_routed cannot override it.
      this.propose({ status: 'completed', result: (ev.data as { result?: unknown } | undefined)?.result });
      return this.routed(env, []);
    }
    if (ev.type === InputRequestEvent.type) {
      this.routed(env, []);
      return this.inputs().openRouted(ev.data as WaitingEntry & { timeout?: number });
    }
    const steps = this.spec.routes.get(ev.type);
    if (steps === undefined) {
      return this.propose({
        status: 'failed',
        error: new WorkflowError('no_handler', `no step accepts events of type '${ev.type}'`, {
          details: { type: ev.type, ...(env.source === undefined ? {} : { source: env.source }) },
        }),
      });
    }
    (this.collected[ev.type] ??= []).push(ev);
    this.routed(env, this.spec.routeNames.get(ev.type) as string[]);
    for (const step of steps) {
      this.deliver(
        env.source === undefined
          ? { id: env.id, event: env.event, at: env.at, to: step.name }
          : { id: env.id, event: env.event, source: env.source, at: env.at, to: step.name },
      );
    }
  }

  private routed(env: Envelope, steps: string[]): void {
    this.log.emit(
      env.source === undefined
        ? { kind: 'event_routed', event: env.event, steps }
        : { kind: 'event_routed', event: env.event, source: env.source, steps },
    );
  }

  private deliver(env: Envelope): void {
    this.held.add(env);
    this.bus.next(env);
  }

  /**
   * One invocation: waits for the gate, then runs its attempts (with timeout and retry when configured).
   * Outputs go straight into the queue, so the Observable itself emits nothing; it completes when the
   * invocation has settled, which is what frees its slot in the step's `mergeMap`.
   */
  private invocation(step: StepDef, env: Envelope): Observable<never> {
    return new Observable<never>((subscriber) => {
      if (!this.gate.value) {
        return this.gate.pipe(first(Boolean), mergeMap(() => this.invocation(step, env))).subscribe(subscriber);
      }
      const inv = this.begin(step, env);
      const observer = new InvocationObserver(this, inv, subscriber);
      if (step.timeout !== undefined || (step.retry !== undefined && step.retry.retries > 0)) {
        return this.attempts(inv).subscribe(observer);
      }
      // The common case, one attempt with no deadline: the handler feeds the observer directly.
      const ctx = this.startAttempt(inv);
      try {
        observer.running = runStep(step.handler as NonNullable<StepDef['handler']>, env.event, ctx, observer);
      } catch (thrown) {
        observer.error(thrown);
      }
      return observer;
    });
  }

  /** @internal A final batch settles its invocation before its outputs are queued, so no snapshot shows both. */
  outputs(inv: Invocation, { events, last }: StepOutput): void {
    if (last) this.complete(inv);
    for (const ev of events) this.enqueue(ev, inv.step);
    this.pump();
  }

  /** @internal */
  settled(inv: Invocation, error?: { thrown: unknown }): void {
    if (error === undefined) this.complete(inv);
    else this.fail(inv, error.thrown);
    this.pump();
  }

  /** Attempts with a deadline and/or retries: each attempt is a fresh subscription to `invokeStep`. */
  private attempts(inv: Invocation): Observable<StepOutput> {
    const step = inv.step;
    let attempt$ = defer(() => {
      return invokeStep(step.handler as NonNullable<StepDef['handler']>, inv.envelope.event, this.startAttempt(inv));
    });
    if (step.timeout !== undefined) {
      const ms = step.timeout;
      attempt$ = attempt$.pipe(
        deadline(ms, this.scheduler, () => {
          inv.ctx?.abort();
          return engineError(
            new WorkflowError('step_timeout', `step '${step.name}' timed out after ${ms}ms`, {
              step: step.name,
              details: { timeout: ms },
            }),
          );
        }),
      );
    }
    if (step.retry !== undefined && step.retry.retries > 0) {
      attempt$ = attempt$.pipe(
        retryWithBackoff(step.retry, this.scheduler, (error, failedAttempt) => {
          inv.ctx?.abort();
          this.log.emit({ kind: 'step_retried', ...stepFields(inv), attempt: failedAttempt, error: errorInfo(error) });
        }),
      );
    }
    return attempt$;
  }

  private startAttempt(inv: Invocation): AttemptContext<Invocation> {
    inv.attempt++;
    inv.requests = 0;
    inv.ctx?.abort();
    const ctx = new AttemptContext<Invocation>(this, inv, inv.attempt);
    inv.ctx = ctx;
    if (inv.attempt > 1) this.log.emit({ kind: 'step_started', ...stepFields(inv), attempt: inv.attempt });
    return ctx;
  }

  private pipeStep(step: StepDef, group: Observable<Envelope>): Observable<never> {
    // A pipe step lives as long as the run: it is never "in flight" and has no per-event invocations.
    const inv = this.newInvocation(step, { id: 'pipe', event: StartEvent.of(null), at: this.scheduler.now(), to: step.name });
    const events$ = group.pipe(
      tap((env) => this.held.delete(env)),
      map((env) => env.event),
    );
    const operator = step.operator as (events$: Observable<WorkflowEvent>, ctx: StepContext) => Observable<WorkflowEvent>;
    return new Observable<never>((subscriber) =>
      defer(() => operator(events$, (inv.ctx = new AttemptContext<Invocation>(this, inv, 1)))).subscribe({
        next: (ev) => {
          this.enqueue(ev, step);
          this.pump();
        },
        error: (error: unknown) => {
          this.fail(inv, error);
          subscriber.complete();
        },
        complete: () => subscriber.complete(),
      }),
    );
  }

  private begin(step: StepDef, env: Envelope): Invocation {
    const inv = this.newInvocation(step, env);
    this.held.delete(env);
    this.dormant?.delete(inv.id);
    this.inFlight.add(inv);
    // Literals, not a spread helper: these run for every invocation.
    this.log.emit({ kind: 'step_started', step: inv.step.name, invocationId: inv.id, type: inv.envelope.event.type, attempt: 1 });
    return inv;
  }

  private newInvocation(step: StepDef, env: Envelope): Invocation {
    return {
      id: invocationId(env),
      step,
      envelope: env,
      startedAt: this.scheduler.now(),
      attempt: 0,
      requests: 0,
      parked: 0,
      ctx: undefined,
      settled: false,
    };
  }

  private complete(inv: Invocation): void {
    if (inv.settled) return;
    this.release(inv);
    this.log.emit({
      kind: 'step_completed',
      step: inv.step.name,
      invocationId: inv.id,
      type: inv.envelope.event.type,
      durationMs: this.scheduler.now() - inv.startedAt,
    });
  }

  private fail(inv: Invocation, thrown: unknown): void {
    if (inv.settled) return;
    this.release(inv);
    const error =
      isEngineError(thrown)
        ? thrown
        : new WorkflowError('step_failed', `step '${inv.step.name}' failed: ${describeThrown(thrown)}`, {
            step: inv.step.name,
            cause: thrown,
          });
    this.propose({ status: 'failed', error }); // before announcing, as for a stop
    this.log.emit({ kind: 'step_failed', ...stepFields(inv), error: error.toInfo(), durationMs: this.scheduler.now() - inv.startedAt });
    this.settle();
  }

  private release(inv: Invocation): void {
    inv.settled = true;
    if (inv.parked > 0) this.parked--;
    this.inFlight.delete(inv);
    if (inv.requests > 0) this.requests?.forget(inv);
  }

  /** Route an event a step produced (returned or `ctx.send`), checking it first. */
  private enqueue(value: unknown, step: StepDef | undefined): void {
    if (isTerminal(this.control.status)) return;
    try {
      this.queue.push(this.envelope(this.check(value, step), step?.name));
    } catch (error) {
      this.propose({ status: 'failed', error: error as WorkflowError });
    }
  }

  private check(value: unknown, step: StepDef | undefined): WorkflowEvent {
    const where = step === undefined ? 'run.send()' : `step '${step.name}'`;
    const stepInfo = step === undefined ? {} : { step: step.name };
    if (!isEvent(value)) {
      throw new WorkflowError('invalid_event', `${where} produced ${describeThrown(value)}, which is not an event`, stepInfo);
    }
    if (step?.emits !== undefined && !step.emits.has(value.type)) {
      throw new WorkflowError(
        'invalid_event',
        `${where} emitted '${value.type}', which is not in its emits [${[...step.emits].join(', ')}]`,
        { ...stepInfo, details: { type: value.type } },
      );
    }
    try {
      return checkEvent(value, this.spec.schemas.get(value.type));
    } catch (error) {
      const e = error as WorkflowError;
      throw new WorkflowError('invalid_event', `${where}: ${e.message}`, { ...stepInfo, cause: e.cause });
    }
  }

  private envelope(event: WorkflowEvent, source?: string): Envelope {
    return source === undefined
      ? { id: uuid(), event: freeze(event), at: this.scheduler.now() }
      : { id: uuid(), event: freeze(event), source, at: this.scheduler.now() };
  }

  // ── status, pause, outcomes ─────────────────────────────────────────────────────────────────────

  private apply(action: ControlAction): void {
    const before = this.control.status;
    this.control = reduce(this.control, action);
    if (this.control.status !== before) this.statusSubject.next(this.control.status);
  }

  /** After any change of work: recompute status, release pause waiters, checkpoint. */
  private settle(): void {
    if (isTerminal(this.control.status)) return;
    const active = this.inFlight.size - this.parked;
    this.apply({
      type: 'activity',
      busy: active > 0 || this.queue.length + this.held.size > (this.dormant?.size ?? 0),
      waiting: (this.requests?.open ?? 0) > 0,
    });
    if (this.control.paused && !this.control.due && active === 0) {
      if (this.pauseWaiters.length > 0) this.releasePauseWaiters();
      // Nothing is running or parked: the pipelines hold no state worth keeping (pipe steps do, so they stay).
      if (this.inFlight.size === 0 && (this.children?.size ?? 0) === 0 && !this.spec.hasPipes) this.hibernate();
    }
    this.checkpoints?.request();
  }

  private propose(outcome: Outcome): void {
    if (isTerminal(this.control.status)) return;
    // A timeout is the weakest outcome: dispatch goes on for the rest of its frame, so a stop routed in the
    // same instant still wins. Stops and errors end dispatch at once.
    this.apply({ type: outcome.status === 'timed_out' ? 'due' : 'closing' });
    if (this.outcomes === undefined) {
      this.outcomes = new Subject<Outcome>();
      this.subscription.add(
        this.outcomes
          .pipe(highestInFrame((o) => OUTCOME_RANK[o.status], this.soon))
          .subscribe((decided) => this.finish(decided)),
      );
    }
    this.outcomes.next(outcome);
  }

  private finish(outcome: Outcome): void {
    if (isTerminal(this.control.status)) return;
    this.clock.set(false);
    this.apply({ type: 'end', outcome });
    for (const inv of this.inFlight) inv.ctx?.abort(outcomeError(outcome));
    this.requests?.stop();
    this.subscription.unsubscribe();
    this.state.seal();
    this.checkpoints?.dispose();
    this.hibernate();
    this.gate.complete();
    if (outcome.status === 'completed') this.log.emit({ kind: 'run_completed', result: outcome.result });
    else this.log.emit({ kind: `run_${outcome.status}`, error: outcome.error.toInfo() });
    this.log.close();
    this.statusSubject.complete();
    const waiters = this.pauseWaiters;
    this.pauseWaiters = [];
    for (const w of waiters) w.reject(outcomeError(outcome));
    if (outcome.status === 'completed') {
      this.resultSubject.next(outcome.result);
      this.resultSubject.complete();
    } else {
      this.resultSubject.error(outcome.error);
    }
    this.checkpoints?.request();
  }

  private releasePauseWaiters(): void {
    const snapshot = this.snapshot();
    const waiters = this.pauseWaiters;
    this.pauseWaiters = [];
    for (const w of waiters) w.resolve(snapshot);
  }

  // ── checkpoints ─────────────────────────────────────────────────────────────────────────────────

  private checkpointer(store: CheckpointStore): Checkpointer {
    return new Checkpointer(store, this.scheduler, {
      snapshot: () => this.snapshot(),
      saved: () => {
        if (!isTerminal(this.control.status)) this.log.emit({ kind: 'checkpoint_saved' });
      },
      failed: (error, consecutive, fatal) => {
        if (isTerminal(this.control.status)) return; // flush() reports a failed final save
        this.log.emit({ kind: 'checkpoint_failed', error: { code: error.code, message: error.message }, consecutive });
        if (fatal !== undefined) this.finish({ status: 'failed', error: fatal });
      },
    });
  }

  async flush(): Promise<void> {
    await this.checkpoints?.flush();
  }

  // ── input requests ──────────────────────────────────────────────────────────────────────────────

  private inputs(): InputRequests {
    this.requests ??= new InputRequests(this.inputHost());
    return this.requests;
  }

  private inputHost(): InputHost {
    return {
      scheduler: this.scheduler,
      status$: this.statusSubject,
      emit: (body) => this.log.emit(body),
      park: (inv) => {
        if (inv.parked++ === 0) this.parked++;
      },
      unpark: (inv) => {
        if (--inv.parked === 0) this.parked--;
      },
      route: (requestId, response) => this.queue.push(this.envelope(InputResponseEvent.of({ requestId, response }), 'input')),
      fail: (error) => this.propose({ status: 'failed', error }),
      changed: () => this.settle(),
    };
  }

  /** @internal */
  requestInput(inv: Invocation, prompt: string, options?: InputRequestOptions): Promise<unknown> {
    if (isTerminal(this.control.status)) return Promise.reject(outcomeError(this.control.outcome as Outcome));
    return this.inputs().ask(inv, prompt, options);
  }

  respond(requestId: string, response: unknown): void {
    if (isTerminal(this.control.status)) {
      throw new WorkflowError('not_running', `run ${this.id} has ended (${this.control.status}); nothing to respond to`);
    }
    this.inputs().respond(this.id, requestId, response, this.control.paused);
    this.pump();
  }

  // ── the step context ────────────────────────────────────────────────────────────────────────────


  // ── what contexts call (ContextHost) ────────────────────────────────────────────────────────────

  get workflowName(): string {
    return this.spec.name;
  }

  /** @internal */
  sendFrom(inv: Invocation, event: WorkflowEvent): void {
    this.enqueue(event, inv.step);
    this.pump();
  }

  /** @internal */
  writeFrom(inv: Invocation, event: WorkflowEvent): void {
    if (!isTerminal(this.control.status)) this.log.emit({ kind: 'stream', event: freeze(event), step: inv.step.name });
  }

  /** @internal Fan-in: the first `n` buffered events of `type`, removed, once there are `n`. */
  collect(type: string, n: number): WorkflowEvent[] | undefined {
    const buffer = this.collected[type];
    if (buffer === undefined || buffer.length < n) return undefined;
    return buffer.splice(0, n);
  }

  // ── sub-workflow runs ───────────────────────────────────────────────────────────────────────────

  /** Start (or, after resume, continue from its snapshot) a child run owned by `inv`. */
  /** @internal A sub-workflow step's child attempt failed and is retried. */
  childRetried(inv: Invocation, failedAttempt: number, error: unknown): void {
    if (!isTerminal(this.control.status)) {
      this.log.emit({ kind: 'step_retried', ...stepFields(inv), attempt: failedAttempt, error: errorInfo(error) });
    }
  }

  /** @internal */
  startChild(inv: Invocation, branch: string, start: ChildStarter): RunHandle {
    const key = `${inv.id}#${branch}`;
    const snapshot = this.restoredChildren?.get(key);
    this.restoredChildren?.delete(key);
    const child = start(this.scheduler, snapshot);
    const entry: ChildRun = { invocation: inv, run: child, parked: false };
    (this.children ??= new Map()).set(key, entry);
    const replayed = snapshot?.seq ?? 0;
    child.events$.subscribe({
      next: (event) => {
        if (event.seq > replayed && !isTerminal(this.control.status)) {
          this.log.emit({ kind: 'child', step: inv.step.name, invocationId: inv.id, childRunId: child.id, event });
        }
      },
      complete: () => {
        if (this.children?.get(key) === entry) this.children.delete(key);
        this.unparkChild(entry);
      },
    });
    if (this.control.paused) this.pauseChild(entry);
    return child;
  }

  private pauseChild(entry: ChildRun): void {
    (entry.run as Run).pauseThen(
      () => {
        if (!this.control.paused || entry.parked || entry.invocation.settled) return;
        entry.parked = true;
        if (entry.invocation.parked++ === 0) this.parked++;
        this.settle();
      },
      () => {}, // the child ended: its result reaches the step, which settles the invocation
    );
  }

  private unparkChild(entry: ChildRun): void {
    if (!entry.parked) return;
    entry.parked = false;
    const inv = entry.invocation;
    if (!inv.settled && --inv.parked === 0) this.parked--;
  }

  // ── the public handle ───────────────────────────────────────────────────────────────────────────

  get metadata(): Readonly<Record<string, unknown>> {
    return this.meta;
  }

  setMetadata(key: string, value: unknown): void {
    const bad = findNonJson(value);
    if (bad !== undefined) {
      throw new WorkflowError('invalid_snapshot', `run.setMetadata('${key}'): ${bad} is not plain JSON`, { details: { key } });
    }
    this.meta[key] = deepFreeze(structuredClone(value));
  }

  get status(): RunStatus {
    return this.control.status;
  }

  get events$(): Observable<RunEvent> {
    return this.log.events$;
  }

  get status$(): Observable<RunStatus> {
    // A completed BehaviorSubject replays nothing; late subscribers still get the final status.
    return isTerminal(this.control.status) ? of(this.control.status) : this.statusSubject.asObservable();
  }

  get result$(): Observable<unknown> {
    return this.resultSubject.asObservable();
  }

  get result(): Promise<unknown> {
    this.resultPromise ??= new Promise((resolve, reject) => this.resultSubject.subscribe({ next: resolve, error: reject }));
    return this.resultPromise;
  }

  pause(): Promise<Snapshot> {
    return new Promise((resolve, reject) => this.pauseThen(resolve, reject));
  }

  /**
   * Pause, calling `onQuiet` synchronously once in-flight steps have settled (or `onEnd` if the run ends
   * first), so a parent run can pause its children within the same virtual-time frame.
   */
  pauseThen(onQuiet: (snapshot: Snapshot) => void, onEnd: (error: unknown) => void): void {
    if (isTerminal(this.control.status)) {
      onEnd(new WorkflowError('not_running', `run ${this.id} has ended (${this.control.status})`));
      return;
    }
    if (!this.control.paused) {
      this.apply({ type: 'pause' });
      this.gate.next(false);
      this.log.emit({ kind: 'run_paused' });
      for (const child of this.children?.values() ?? []) this.pauseChild(child);
    }
    this.pauseWaiters.push({ resolve: onQuiet, reject: onEnd });
    this.settle();
  }

  resume(): void {
    if (!this.control.paused || isTerminal(this.control.status)) return;
    this.apply({ type: 'resume' });
    if (this.wiring === undefined) this.connect();
    if (this.pauseWaiters.length > 0) this.releasePauseWaiters();
    for (const child of this.children?.values() ?? []) {
      this.unparkChild(child);
      child.run.resume();
    }
    this.requests?.resumed();
    this.log.emit({ kind: 'run_resumed' });
    this.gate.next(true);
    this.pump();
  }

  abort(reason?: unknown): void {
    if (isTerminal(this.control.status) || this.control.due) return;
    const details = reason === undefined ? {} : { details: { reason } };
    this.finish({
      status: 'aborted',
      error: new WorkflowError('aborted', `run ${this.id} was aborted${reason === undefined ? '' : `: ${describeThrown(reason)}`}`, details),
    });
  }

  send(event: WorkflowEvent): void {
    if (isTerminal(this.control.status)) {
      throw new WorkflowError('not_running', `run ${this.id} has ended (${this.control.status}); cannot send`);
    }
    this.queue.push(this.envelope(this.check(event, undefined)));
    this.pump();
  }

  snapshot(): Snapshot {
    if (this.finalSnapshot !== undefined) return this.finalSnapshot;
    // Nothing changes after the end, so the final snapshot is built once, when first asked for.
    if (isTerminal(this.control.status)) return (this.finalSnapshot = this.buildSnapshot());
    return this.buildSnapshot();
  }

  private buildSnapshot(): Snapshot {
    return {
      version: 1,
      workflow: this.spec.name,
      workflowVersion: this.spec.version,
      runId: this.id,
      status: this.control.status,
      createdAt: this.createdAt,
      input: this.input,
      state: this.state.toJSON(),
      pending: [...this.held, ...this.queue.toArray()],
      inFlight: [...this.inFlight].map((inv) => ({
        step: inv.step.name,
        invocationId: inv.id,
        envelope: inv.envelope,
      })),
      collected: Object.fromEntries(Object.entries(this.collected).map(([type, evs]) => [type, [...evs]])),
      ...(this.requests?.snapshot() ?? { waiting: [], answered: {} }),
      seq: this.log.seq,
      elapsedMs: this.clock.elapsed(),
      history: [...this.log.history],
      metadata: { ...this.meta },
      children: Object.fromEntries(
        [...(this.children ?? [])]
          .map(([key, child]) => [key, child.run.snapshot()] as const)
          .concat([...(this.restoredChildren ?? [])]),
      ),
    };
  }
}

/** Dispatches per pump before yielding to the event loop. */
const DISPATCH_BATCH = 1_000;

function outcomeError(outcome: Outcome): WorkflowError {
  return outcome.status === 'completed' ? new WorkflowError('not_running', 'the run completed') : outcome.error;
}

function errorInfo(error: unknown): { code: WorkflowError['code']; message: string } {
  return error instanceof WorkflowError
    ? { code: error.code, message: error.message }
    : { code: 'step_failed', message: describeThrown(error) };
}

const freeze = <T>(value: T): T => deepFreeze(value);
