import { AsyncSubject, asyncScheduler, BehaviorSubject, EMPTY, filter, groupBy, map, mergeMap, Subject, Subscription, takeUntil, type SchedulerLike } from 'rxjs';
import type { ContextHost } from '../context/context.js';
import { StateStore } from '../context/state.js';
import { describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import { StartEvent, type WorkflowEvent } from '../events/event.js';
import { freshStart, redelivery, restoreSnapshot } from '../snapshot/restore.js';
import type { DurableWait, Snapshot, WaitingEntry } from '../snapshot/schema.js';
import { isTerminal, type RunStatus } from '../snapshot/status.js';
import { attachLogger } from '../telemetry/logger.js';
import type { RunEvent, RunEventOf } from '../telemetry/runEvent.js';
import type { StepDef } from '../workflow/types.js';
import type { WorkflowSpec } from '../workflow/spec.js';
import { Checkpointer, type CheckpointHooks } from './Checkpointer.js';
import { Children, type ChildHost } from './children.js';
import { FlowClock } from './flowClock.js';
import { IdleWatch } from './idle.js';
import { StepFlowControl, usedRateSlots, withDueTimes } from './flowControl.js';
import { Holding } from './holding.js';
import { DispatchQueue, type DispatchTarget } from './dispatchQueue.js';
import { EventLog } from './eventLog.js';
import { FanIn } from './fanIn.js';
import { InputRequests, type InputHost } from './InputRequests.js';
import { Waits, type WaitHost } from './Waits.js';
import type { Invocation } from './invocation.js';
import { Invocations, type LoopHost } from './Invocations.js';
import { budgetTimer, Stopwatch } from './operators/budgetTimer.js';
import { OutcomeRace, outcomeError } from './outcome.js';
import { envelopeOf, checkOutput } from './outputs.js';
import { PauseWaiters } from './pause.js';
import { initialControl, reduce, type Control, type ControlAction, type Outcome } from './reducer.js';
import { addressTo, route } from './route.js';
import { yieldScheduler, zeroDelayScheduler } from './schedulers.js';

/** Where a run starts from: a fresh input, or a snapshot being resumed. */
export type RunStart =
  | { kind: 'new'; input: unknown; runId?: string; state?: Record<string, unknown>; replay?: number }
  | {
      kind: 'resume';
      snapshot: Snapshot;
      retry?: boolean;
      /** What came before (the store's journal): replayed by `events$` once it has arrived. */
      earlier?: Promise<readonly RunEvent[]>;
      /** A version-1 snapshot's history: written to the journal with the first checkpoint. */
      history?: readonly RunEvent[];
    };

/** Dispatches before the loop yields to the event loop (it also yields after about 5 ms). */
const DISPATCH_BATCH = 1_000;

/**
 * The run loop, as the design card draws it: envelopes wait in a dispatch queue behind the pause `gate`;
 * `pump` dispatches them onto the `bus`, which `groupBy`s them by addressed step into one `mergeMap` per
 * step whose `concurrent` argument is the step's limit. Every ending (step error, stop, timeout, a failed
 * store, a bus error, abort) is proposed to one outcome race, and the pipelines end with `takeUntil` of it.
 * Rooms: route.ts (where an envelope goes), outputs.ts (checks), Invocations.ts (the invocation lifecycle),
 * children.ts, pause.ts, outcome.ts, dispatchQueue.ts, schedulers.ts, snapshot/build.ts and restore.ts.
 */
export abstract class Run implements LoopHost, ChildHost, DispatchTarget<Envelope> {
  readonly id: string;
  readonly scheduler: SchedulerLike;
  readonly log: EventLog;
  readonly state: StateStore;
  readonly gate = new BehaviorSubject<boolean>(true);
  abstract readonly contexts: ContextHost<Invocation>;
  protected readonly spec: WorkflowSpec;
  protected readonly input: unknown;
  protected readonly createdAt: number;
  protected readonly meta: Record<string, unknown>;
  protected readonly fanIn: FanIn;
  protected readonly clock: Stopwatch;
  private readonly bus = new Subject<Envelope>();
  private readonly origin = new WeakMap<Envelope, string>();
  protected readonly queue: DispatchQueue<Envelope>;
  protected readonly invocations = new Invocations(this);
  private readonly outcome: OutcomeRace;
  protected readonly pauses = new PauseWaiters();
  /** Work torn down when the run ends (the first scheduled pump until it has run). */
  private readonly subscription = new Subscription();
  protected readonly statusSubject = new BehaviorSubject<RunStatus>('running');
  protected readonly resultSubject = new AsyncSubject<unknown>();
  protected readonly checkpoints: Checkpointer | undefined;
  /** Reports `run_idle` (and fails `stalled` under `onIdle: 'fail'`): see idle.ts. */
  readonly idle: IdleWatch;
  protected control: Control = initialControl;
  /** Created on first use: most runs never ask for input or start a child. */
  protected requests: InputRequests | undefined;
  /** `ctx.sleep` and `ctx.waitFor` (§6.4), created on first use. */
  protected waits: Waits | undefined;
  protected children: Children | undefined;
  private shard = 0;
  /** Per-key limits, rate windows and debounces (§6.3): created with the first step that has any. */
  private flow: { clock: FlowClock; holding: Holding<Envelope>; steps: Map<string, StepFlowControl> } | undefined;
  /** The loop's pipelines (bus, timeout, pipe steps); undefined while hibernating. */
  protected wiring: Subscription | undefined;

  constructor(spec: WorkflowSpec, start: RunStart) {
    this.spec = spec;
    this.scheduler = spec.options.scheduler ?? asyncScheduler;
    const now = () => this.scheduler.now();
    const soon = zeroDelayScheduler(this.scheduler);
    const clock = this.scheduler === asyncScheduler ? () => performance.now() : undefined; // a real clock only for real time
    this.queue = new DispatchQueue<Envelope>(this, yieldScheduler(this.scheduler), clock === undefined ? { budget: DISPATCH_BATCH } : { budget: DISPATCH_BATCH, clock });
    this.idle = new IdleWatch(spec.name, spec.options.onIdle ?? 'wait', { emit: (body) => this.log.emit(body), fail: (error) => this.fail(error) });
    this.outcome = new OutcomeRace(soon, { decided: (o) => this.halt(o), ended: (o) => this.announce(o) });
    const replay = (start.kind === 'new' ? start.replay : undefined) ?? spec.options.replay ?? 10_000;
    const history = spec.options.history ?? true;
    const carried = history && start.kind === 'resume' ? start.history : undefined;
    this.checkpoints = spec.options.store === undefined ? undefined : new Checkpointer(spec.options.store, this.scheduler, this.checkpointHooks(), carried);
    const r = start.kind === 'new' ? freshStart(start, now()) : restoreSnapshot(start.snapshot);
    this.id = r.runId;
    this.input = r.input;
    this.createdAt = r.createdAt;
    this.meta = r.metadata;
    this.state = new StateStore(r.state);
    this.fanIn = new FanIn(declaredOnly(r.collected, spec.collects), spec.collects);
    this.clock = new Stopwatch(now, r.elapsedMs);
    const earlier = start.kind === 'resume' ? start.earlier : undefined;
    this.log = new EventLog({ runId: this.id, now, replay, journal: this.checkpoints !== undefined && history, seq: r.seq, ...(earlier === undefined ? {} : { earlier }) });
    if (start.kind === 'new') {
      this.log.emit({ kind: 'run_started', workflow: spec.name, input: start.input });
      this.queue.push(envelopeOf(StartEvent.of(start.input), now()));
    } else {
      // In-flight invocations are re-delivered to their step first (at-least-once), then pending in order.
      for (const entry of r.redeliver) {
        this.invocations.carry(entry);
        this.queue.push(redelivery(entry));
      }
      for (const env of r.pending) this.queue.push(env);
      this.log.emit(start.retry === true ? { kind: 'run_resumed', retry: true } : { kind: 'run_resumed' });
      if (r.requests !== undefined) {
        // Input requests and durable waits share the waiting list and the kept answers (ids never collide).
        const { waiting, answered } = r.requests;
        const inputs = waiting.filter((w): w is WaitingEntry => w.kind === undefined || w.kind === 'input');
        const durable = waiting.filter((w): w is DurableWait => w.kind === 'sleep' || w.kind === 'event');
        if (inputs.length > 0 || durable.length === 0) this.requests = new InputRequests(this.inputHost(), { waiting: inputs, answered });
        if (durable.length > 0 || Object.keys(answered).length > 0) this.waits = new Waits(this.waitHost(), { waiting: durable, answered });
      }
      if (r.children !== undefined) this.children = new Children(this, r.children);
      for (const [name, slots] of Object.entries(r.rateSlots ?? {})) {
        const step = spec.steps.find((s) => s.name === name && s.flow?.rateLimit !== undefined);
        if (step !== undefined) this.flowControl(step).restoreSlots(slots); // a full rate window stays full
      }
      for (const id of r.dormant) this.invocations.markDormant(id);
      this.settle();
    }
    this.connect();
    // Telemetry only consumes the RunEvent stream: without a logger nothing subscribes.
    if (spec.options.logger !== undefined) attachLogger(spec.options.logger, this.log.events$, { runId: this.id, workflow: spec.name });
    // Never dispatch synchronously: a subscriber attached right after run() sees every event. The queue
    // holds until the first scheduled pump, kept in `subscription` (to cancel it) only until it has run.
    let first: Subscription | undefined;
    let started = false;
    first = soon.schedule(() => {
      started = true;
      if (first !== undefined) this.subscription.remove(first);
      this.queue.start();
      this.pump();
    });
    if (!started) this.subscription.add(first);
  }

  /** Subscribe the pipelines. A paused, quiescent run drops them (`hibernate`); `resume()` connects again. */
  protected connect(): void {
    const until = takeUntil<never>(this.outcome.decided$);
    const wiring = (this.wiring = new Subscription());
    const bus$ = this.bus.pipe(
      groupBy((env) => this.groupKey(env)),
      mergeMap((group) => {
        const step = this.spec.stepsByGroup.get(group.key) as StepDef;
        if (step.kind === 'pipe') return EMPTY;
        const invoke = (env: Envelope) => this.invocations.invocation(step, env);
        return group.pipe(step.flow === undefined ? mergeMap(invoke, step.concurrency) : this.flowControl(step).pipeline(invoke));
      }),
    );
    wiring.add(bus$.pipe(until).subscribe({ error: (error: unknown) => this.fail(busError(error)) }));
    const timeout = this.spec.options.timeout === undefined ? 300_000 : this.spec.options.timeout;
    if (timeout !== null) {
      const error = () => new WorkflowError('timeout', `workflow '${this.spec.name}' timed out after ${timeout}ms`, { details: { timeout } });
      const running$ = this.statusSubject.pipe(map((s) => s === 'running'));
      wiring.add(running$.pipe(budgetTimer(timeout, this.scheduler, this.clock), takeUntil(this.outcome.decided$)).subscribe(() => this.propose({ status: 'timed_out', error: error() })));
    }
    // Pipe steps are subscribed from the start, so their timers (bufferTime, debounce…) start with the run.
    for (const step of this.spec.steps) {
      if (step.kind === 'pipe') wiring.add(this.invocations.pipeStep(step, this.bus.pipe(filter((env) => env.to === step.name))).pipe(until).subscribe());
    }
  }

  /** An envelope's step, or one of its shards if unlimited (mergeMap's splice is quadratic: notes/rxjs-performance.md). */
  private groupKey(env: Envelope): string {
    const keys = this.spec.groupKeys.get(env.to as string);
    if (keys === undefined) throw new WorkflowError('invalid_snapshot', `an event is addressed to step '${env.to}', which workflow '${this.spec.name}' does not have`, { details: { step: env.to } });
    return keys.length === 1 ? (keys[0] as string) : (keys[this.shard++ % keys.length] as string);
  }

  private hibernate(): void {
    if (this.wiring === undefined) return;
    // Envelopes held back inside a step's pipeline go with it: first in the queue, still addressed, with
    // their due times (read before the pipelines, which know them, are gone).
    const held = this.heldEnvelopes();
    this.invocations.takeHeld();
    this.wiring.unsubscribe();
    this.wiring = undefined;
    this.queue.items.unshiftAll(held);
  }

  /** What the steps hold back (limits, rate windows, debounces), oldest first, each with its due time. */
  protected heldEnvelopes(): Envelope[] {
    const held = this.invocations.held;
    return this.flow === undefined ? [...held] : withDueTimes(held, this.flow.holding);
  }

  /** The rate slots in use by step and key (snapshots keep them); undefined when there are none. */
  protected rateSlots(): Record<string, Record<string, number[]>> | undefined {
    return this.flow === undefined ? undefined : usedRateSlots(this.flow.steps);
  }

  /** The step's flow control, kept across hibernation (a rate window remembers the slots it used). */
  private flowControl(step: StepDef): StepFlowControl {
    if (this.flow === undefined) {
      this.flow = { clock: new FlowClock(this.scheduler), holding: new Holding<Envelope>(), steps: new Map() };
      if (this.control.paused) this.flow.clock.pause();
    }
    const flow = this.flow;
    let control = flow.steps.get(step.name);
    if (control === undefined) {
      control = new StepFlowControl(step.name, step.flow as NonNullable<StepDef['flow']>, {
        clock: flow.clock,
        holding: flow.holding,
        dropped: (env) => this.dropped(step, env),
      });
      flow.steps.set(step.name, control);
    }
    return control;
  }

  /** A debounced envelope was superseded: reported, never silently lost. */
  private dropped(step: StepDef, env: Envelope): void {
    this.invocations.held.delete(env);
    this.log.emit({ kind: 'event_dropped', step: step.name, event: env.event, reason: 'debounced' });
  }

  /** The flow clocks (debounce, rate windows) stop while the run is paused and keep their remaining time. */
  protected flowClock(running: boolean): void {
    if (running) this.flow?.clock.resume();
    else this.flow?.clock.pause();
  }

  /** Dispatch what is queued (a trampoline: re-entrant calls return), then recompute status. */
  pump(): void {
    this.queue.drain();
    this.settle();
  }

  /** @internal One envelope: announce, buffer, deliver, stop or fail as routing says. */
  dispatch(env: Envelope): void {
    const to = route(this.spec, env);
    switch (to.kind) {
      case 'addressed':
        return this.deliver(env);
      case 'stop':
        // Decide before announcing, so an observer calling abort() on this event_routed cannot override it.
        this.propose({ status: 'completed', result: to.result });
        return this.routed(env, []);
      case 'input':
        this.routed(env, []);
        return this.inputs().openRouted(to.request);
      case 'no_handler': {
        // An event only a waiter takes is not unhandled (§6.4); one nobody takes is reported, then fails the run.
        const waiters = this.waits?.offer(env.event) ?? [];
        if (waiters.length === 0) this.propose({ status: 'failed', error: to.error });
        return this.routed(env, [], waiters);
      }
      case 'steps': {
        this.fanIn.offer(env.event);
        const waiters = this.waits?.offer(env.event) ?? [];
        this.routed(env, to.names as string[], waiters);
        for (const step of to.steps) this.deliver(addressTo(env, step.name));
      }
    }
  }

  private routed(env: Envelope, steps: string[], waiters: string[] = []): void {
    const { event, source } = env;
    const ev: Omit<RunEventOf<'event_routed'>, 'runId' | 'seq' | 'at'> = { kind: 'event_routed', event, steps };
    if (source !== undefined) {
      ev.source = source;
      const invocationId = this.origin.get(env); // a yield may route it after others of its step completed
      if (invocationId !== undefined) ev.invocationId = invocationId;
    }
    if (waiters.length > 0) ev.waiters = waiters;
    this.log.emit(ev);
  }

  private deliver(env: Envelope): void {
    this.invocations.deliver(env);
    this.bus.next(env);
  }

  /** @internal Route an event a step produced (returned or `ctx.send`), checking it first. */
  enqueue(value: unknown, step: StepDef | undefined, from?: string): void {
    if (this.ended) return;
    try {
      const env = envelopeOf(checkOutput(this.spec, value, step), this.scheduler.now(), step?.name);
      if (from !== undefined) this.origin.set(env, from);
      this.queue.push(env);
    } catch (error) {
      this.fail(error as WorkflowError);
    }
  }

  protected apply(action: ControlAction): void {
    const before = this.control.status;
    this.control = reduce(this.control, action);
    if (this.control.status !== before) this.statusSubject.next(this.control.status);
  }

  /** @internal After any change of work: recompute status, release pause waiters, checkpoint. */
  settle(): void {
    if (this.ended) return;
    const inv = this.invocations;
    const active = inv.active;
    const busy = active > 0 || this.queue.length + inv.held.size > inv.dormantCount;
    const waits = (this.requests?.open ?? 0) + (this.waits?.open ?? 0);
    this.apply({ type: 'activity', busy, waiting: waits > 0 });
    const c = this.control;
    if (!busy) this.idle.check({ dispatching: this.queue.dispatching, holding: c.paused || c.due, queued: this.queue.length, held: inv.held.size, inFlight: inv.inFlight.size, waits });
    if (this.control.paused && !this.control.due && active === 0) {
      this.pauses.release(() => this.snapshot());
      // Nothing is running or parked: the pipelines hold no state worth keeping (pipe steps do, so they stay).
      // Debounce and rate timers keep their remaining time only while their pipelines live, so such runs stay wired.
      const timed = this.flow !== undefined && this.flow.clock.size > 0;
      if (inv.inFlight.size === 0 && (this.children?.size ?? 0) === 0 && !this.spec.hasPipes && !timed) this.hibernate();
    }
    this.checkpoints?.request();
  }

  // ── the one way to end ──────────────────────────────────────────────────────────────────────────

  protected propose(outcome: Outcome): void {
    if (this.ended) return;
    // A timeout is the weakest outcome: dispatch goes on for the rest of its frame, so a stop routed in the
    // same instant still wins. Stops and errors end dispatch at once; abort decides at once.
    if (outcome.status !== 'aborted') this.apply({ type: outcome.status === 'timed_out' ? 'due' : 'closing' });
    this.outcome.propose(outcome);
  }

  /** The outcome is decided: stop everything that could still act, before the pipelines are torn down. */
  private halt(outcome: Outcome): void {
    this.clock.set(false);
    this.apply({ type: 'end', outcome });
    this.invocations.abortAll(() => outcomeError(outcome));
    this.requests?.stop();
    this.waits?.stop();
    for (const control of this.flow?.steps.values() ?? []) control.close();
    this.subscription.unsubscribe();
    this.queue.stop();
    this.state.seal();
    this.checkpoints?.dispose();
  }

  /** The pipelines have ended (`takeUntil`): announce the outcome and settle every waiter. */
  private announce(outcome: Outcome): void {
    this.hibernate();
    this.gate.complete();
    if (outcome.status === 'completed') this.log.emit({ kind: 'run_completed', result: outcome.result });
    else this.log.emit({ kind: `run_${outcome.status}`, error: outcome.error.toInfo() });
    this.log.close();
    this.statusSubject.complete();
    if (this.pauses.waiting) this.pauses.rejectAll(outcomeError(outcome));
    if (outcome.status === 'completed') {
      this.resultSubject.next(outcome.result);
      this.resultSubject.complete();
    } else {
      this.resultSubject.error(outcome.error);
    }
    this.checkpoints?.request();
  }

  // What the rooms call (LoopHost, ChildHost).
  /** @internal */ get ended(): boolean { return isTerminal(this.control.status); }
  /** @internal */ get paused(): boolean { return this.control.paused; }
  /** @internal */ park(inv: Invocation): void { this.invocations.park(inv); }
  /** @internal */ unpark(inv: Invocation): void { this.invocations.unpark(inv); }
  /** @internal */ forget(inv: Invocation): void {
    this.requests?.forget(inv);
    this.waits?.forget(inv);
  }
  /** @internal */ wake(): void { this.pump(); }
  /** @internal */ canDispatch(): boolean { return this.gate.value && !this.control.closing; }
  /** @internal */ fail(error: WorkflowError): void { this.propose({ status: 'failed', error }); }

  protected durableWaits(): Waits {
    this.waits ??= new Waits(this.waitHost());
    return this.waits;
  }

  protected inputs(): InputRequests {
    this.requests ??= new InputRequests(this.inputHost());
    return this.requests;
  }

  abstract snapshot(): Snapshot;
  protected abstract inputHost(): InputHost;
  protected abstract waitHost(): WaitHost;
  protected abstract checkpointHooks(): CheckpointHooks;
}

/** A restored fan-in buffer keeps only the declared types (an older snapshot buffered every routed type). */
function declaredOnly(collected: Record<string, WorkflowEvent[]>, declared: ReadonlySet<string>): Record<string, WorkflowEvent[]> {
  const kept: Record<string, WorkflowEvent[]> = {};
  for (const type of Object.keys(collected)) if (declared.has(type)) kept[type] = collected[type] as WorkflowEvent[];
  return kept;
}

/** An error on the bus is a bug or a bad snapshot; it fails the run with a code instead of stalling it. */
function busError(error: unknown): WorkflowError {
  return WorkflowError.is(error) ? error : new WorkflowError('step_failed', `the run loop failed: ${describeThrown(error)}`, { cause: error });
}
