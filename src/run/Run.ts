import { AsyncSubject, asyncScheduler, BehaviorSubject, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { ContextHost } from '../context/context.js';
import { StateStore } from '../context/state.js';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import { StartEvent } from '../events/event.js';
import { frozenSnapshot } from '../snapshot/build.js';
import { freshStart, redelivery, restoreSnapshot } from '../snapshot/restore.js';
import type { Snapshot } from '../snapshot/schema.js';
import { isTerminal, type RunStatus } from '../snapshot/status.js';
import { attachLogger } from '../telemetry/logger.js';
import type { StepDef } from '../workflow/types.js';
import type { WorkflowSpec } from '../workflow/spec.js';
import { Checkpointer, type CheckpointHooks } from './Checkpointer.js';
import { Children, type ChildHost } from './children.js';
import { IdleWatch } from './idle.js';
import { DispatchQueue, type DispatchTarget, yieldPolicy } from './dispatchQueue.js';
import { EventLog } from './eventLog.js';
import { declaredOnly, FanIn } from './fanIn.js';
import type { InputHost } from './InputRequests.js';
import type { WaitHost } from './Waits.js';
import { Waiting } from './waiting.js';
import type { Invocation, LoopHost } from './invocation.js';
import { Invocations } from './Invocations.js';
import { type Budget, Stopwatch } from './operators/budgetTimer.js';
import { OutcomeRace, outcomeError } from './outcome.js';
import { envelopeOf, checkOutput } from './outputs.js';
import { Gate, type PauseWaiters } from './pause.js';
import { holdsNothingLive, ParkedRun, parkedControl, type RunOwner } from './parked.js';
import { Pipelines } from './pipelines.js';
import { initialControl, reduce, type Control, type ControlAction, type Outcome } from './reducer.js';
import { dispatchEnvelope, type RouterHost } from './router.js';
import { rateSlotsOf, workflowBudget, type RunStart } from './runStart.js';
import { nowOf, yieldScheduler, zeroDelayScheduler } from './schedulers.js';

export type { RunStart } from './runStart.js';

/**
 * The run loop, as the design card draws it: envelopes wait in a dispatch queue behind the pause `gate`;
 * `pump` dispatches them onto the bus of the pipelines (pipelines.ts: `groupBy` by addressed step into one
 * `mergeMap` per step, its concurrency limit). Every ending (step error, stop, timeout, a failed store, a bus
 * error, abort) is proposed to one outcome race, and the pipelines end with `takeUntil` of it. A paused, quiet
 * run drops its pipelines, and parks once nothing live is left (parked.ts).
 * Rooms: route.ts, outputs.ts, Invocations.ts, children.ts, pause.ts, outcome.ts, dispatchQueue.ts, …
 */
export abstract class Run implements LoopHost, ChildHost, DispatchTarget<Envelope>, RouterHost {
  readonly id: string;
  readonly scheduler: SchedulerLike;
  /** @internal The scheduler's clock (shared by every run on it; see holdClock). */
  readonly now: () => number;
  readonly log: EventLog;
  readonly state: StateStore;
  readonly gate = new Gate();
  abstract readonly contexts: ContextHost<Invocation>;
  readonly spec: WorkflowSpec;
  protected readonly input: unknown;
  protected readonly createdAt: number;
  protected readonly meta: Record<string, unknown>;
  readonly fanIn: FanIn;
  protected readonly clock: Stopwatch;
  private readonly budget: Budget | undefined; // the workflow timeout, driven by status changes (apply)
  protected readonly queue: DispatchQueue<Envelope>;
  readonly invocations = new Invocations(this);
  private readonly outcome: OutcomeRace;
  protected pauses: PauseWaiters | undefined; // who waits in pause(), made by the first
  private firstPump: Subscription | undefined; // cancelled if the run ends before it has run
  protected retired = false; // parked: the handle holds its snapshot, and a woken run carries on
  private statusSubj: BehaviorSubject<RunStatus> | undefined; // made when first asked for (status$, waits)
  protected readonly resultSubject: AsyncSubject<unknown>;
  protected readonly checkpoints: Checkpointer | undefined;
  readonly idle: IdleWatch; // reports `run_idle` (and fails `stalled` under `onIdle: 'fail'`)
  protected control: Control = initialControl;
  readonly waiting: Waiting; // input requests, sleeps and event waits
  protected children: Children | undefined; // created on first use: most runs never start a child
  /** The bus, one pipeline per step, pipe steps' operators (pipelines.ts); dropped while hibernating. */
  protected readonly pipelines = new Pipelines(this);

  constructor(spec: WorkflowSpec, start: RunStart, protected readonly owner?: RunOwner) {
    this.spec = spec;
    this.scheduler = spec.options.scheduler ?? asyncScheduler;
    const now = (this.now = nowOf(this.scheduler));
    const soon = zeroDelayScheduler(this.scheduler);
    this.queue = new DispatchQueue<Envelope>(this, yieldScheduler(this.scheduler), yieldPolicy(this.scheduler === asyncScheduler));
    this.idle = new IdleWatch(spec.name, spec.options.onIdle ?? 'wait', this);
    this.outcome = new OutcomeRace(soon, this);
    const replay = (start.kind === 'new' ? start.replay : undefined) ?? spec.options.replay ?? 10_000;
    const history = spec.options.history ?? true;
    const carried = history && start.kind === 'resume' ? start.history : undefined;
    this.checkpoints = spec.options.store === undefined ? undefined : new Checkpointer(spec.options.store, this.scheduler, this.checkpointHooks(), carried);
    const wake = start.kind === 'wake' ? start.parked : undefined;
    const r = start.kind === 'new' ? freshStart(start, now()) : restoreSnapshot(start.kind === 'wake' ? start.parked.snapshot() : start.snapshot);
    this.id = r.runId;
    this.input = r.input;
    this.createdAt = r.createdAt;
    this.meta = r.metadata;
    this.state = new StateStore(r.state);
    this.fanIn = new FanIn(declaredOnly(r.collected, spec.collects), spec.collects);
    this.clock = new Stopwatch(now, r.elapsedMs);
    this.budget = workflowBudget(spec, this.scheduler, this.clock, (error) => this.propose({ status: 'timed_out', error }));
    this.waiting = new Waiting(this, r.requests);
    this.log = wake?.log ?? new EventLog({ runId: this.id, now, replay, journal: this.checkpoints !== undefined && history, seq: r.seq, earlier: start.kind === 'resume' ? start.earlier : undefined });
    this.resultSubject = wake?.result ?? new AsyncSubject<unknown>();
    this.statusSubj = wake?.statusSubj;
    if (start.kind === 'new') {
      this.log.emit({ kind: 'run_started', workflow: spec.name, input: start.input }, this.createdAt); // the clock read once
      this.queue.push(envelopeOf(StartEvent.of(start.input), this.createdAt));
    } else {
      // In-flight invocations are re-delivered to their step first (at-least-once), then pending in order.
      for (const entry of r.redeliver) {
        this.invocations.carry(entry);
        this.queue.push(redelivery(entry));
      }
      for (const env of r.pending) this.queue.push(env);
      if (start.kind === 'resume') this.log.emit(start.retry === true ? { kind: 'run_resumed', retry: true } : { kind: 'run_resumed' });
      if (r.children !== undefined) this.children = new Children(this, r.children);
      for (const [step, slots] of rateSlotsOf(spec, r.rateSlots)) this.pipelines.flows().control(step).restoreSlots(slots); // a full window stays full
      for (const id of r.dormant) this.invocations.markDormant(id);
      if (wake !== undefined) {
        this.woken(wake);
        return;
      }
      this.settle();
    }
    this.budget?.set(this.control.status === 'running');
    this.pipelines.connect();
    if (spec.options.logger !== undefined) attachLogger(spec.options.logger, this.log.events$, { runId: this.id, workflow: spec.name }); // else nothing follows them
    // Never dispatch synchronously: the queue holds until the first scheduled pump.
    this.firstPump = soon.schedule(() => {
      this.firstPump = undefined;
      this.queue.start();
      this.pump();
    });
  }

  /** Paused and unwired, as it parked (after its first pump: its queue starts at once); `resume()` connects. */
  private woken(parked: ParkedRun): void {
    this.control = parkedControl;
    this.idle.carry(parked.idle);
    this.gate.set(false);
    this.queue.start();
  }

  /** A paused, quiet run drops its pipelines: what they held back goes first in the queue, as plain data. */
  private hibernate(): void {
    if (this.pipelines.connected) this.queue.items.unshiftAll(this.pipelines.disconnect());
  }

  /** Dispatch what is queued (a trampoline: re-entrant calls return), then recompute status. */
  pump(): void {
    this.queue.drain();
    this.settle();
  }

  /** @internal One envelope, as routing says (router.ts). */
  dispatch(env: Envelope): void {
    dispatchEnvelope(this, env);
  }

  /**
   * @internal An addressed envelope: recorded as held first if its step's pipeline can hold it back (a limit or
   * flow control; an unlimited step starts it at once, or records it at a closed gate), then into the pipeline.
   */
  deliver(env: Envelope): void {
    if (!this.spec.unlimited.has(env.to as string)) this.invocations.deliver(env);
    this.pipelines.bus.next(env);
  }

  /** @internal Route an event a step produced (returned or `ctx.send`), checking it first. */
  enqueue(value: unknown, step: StepDef | undefined, from?: string): void {
    if (this.ended) return;
    try {
      this.queue.push(envelopeOf(checkOutput(this.spec, value, step), this.now(), step?.name, from));
    } catch (error) {
      this.fail(error as WorkflowError);
    }
  }

  protected get statusSubject(): BehaviorSubject<RunStatus> { return (this.statusSubj ??= new BehaviorSubject<RunStatus>(this.control.status)); }

  protected apply(action: ControlAction): void {
    const before = this.control.status;
    this.control = reduce(this.control, action);
    if (this.control.status === before) return;
    this.budget?.set(this.control.status === 'running');
    this.statusSubj?.next(this.control.status);
  }

  /** @internal After any change of work: recompute status, release pause waiters, checkpoint. */
  settle(): void {
    if (this.ended || this.retired) return;
    const inv = this.invocations;
    const busy = inv.active > 0 || this.queue.length + inv.held.size > inv.dormantCount;
    const waits = this.waiting.open;
    this.apply({ type: 'activity', busy, waiting: waits > 0 });
    const c = this.control;
    if (!busy) this.idle.check({ dispatching: this.queue.dispatching, holding: c.paused || c.due, queued: this.queue.length, held: inv.held.size, inFlight: inv.inFlight.size, waits });
    if (this.quiescent && !this.queue.handing) {
      // Nothing is running or parked: the pipelines hold no state worth keeping (pipe steps do, so they stay).
      // Debounce and rate timers keep their remaining time only while their pipelines live, so such runs stay wired.
      const timed = this.pipelines.flow?.timed === true;
      if (inv.inFlight.size === 0 && (this.children?.size ?? 0) === 0 && !this.spec.hasPipes && !timed) this.hibernate();
      return this.quiet();
    }
    this.checkpoints?.request();
  }

  /**
   * Paused and quiescent: answer pause(), and park if nothing live is left — no pipelines, invocations, waits,
   * children or flow controls — so the handle keeps only the snapshot (DESIGN §6.1). With a store, the paused
   * state is saved first: the run parks when that save has landed.
   */
  private quiet(): void {
    const snapshot = this.checkpoints === undefined && this.parkable() ? frozenSnapshot(this.snapshot()) : undefined;
    this.releasePauses(snapshot);
    if (snapshot === undefined || !this.parkAs(snapshot)) this.checkpoints?.request(); // then parkIfQuiet
  }

  /** @internal Every checkpoint asked for has landed: park the run if it is paused, quiet and holds nothing live. */
  parkIfQuiet(): void {
    if (!this.ended && !this.retired && this.quiescent && this.parkable()) this.parkAs(frozenSnapshot(this.snapshot()));
  }

  /** Paused, no outcome due, nothing running: pause() is answered, and the run may drop its pipelines and park. */
  private get quiescent(): boolean { return this.control.paused && !this.control.due && this.invocations.active === 0; }

  private parkable(): boolean {
    const saved = this.checkpoints === undefined || this.checkpoints.settled;
    return this.owner !== undefined && !this.pipelines.connected && this.firstPump === undefined && saved && this.pipelines.flow === undefined && (this.children?.size ?? 0) === 0;
  }

  /** If `snapshot` holds nothing live, hand the handle the parked run (snapshot, log, subjects): this object is done for. */
  private parkAs(snapshot: Snapshot): boolean {
    if (!holdsNothingLive(snapshot)) return false;
    this.retired = true;
    this.queue.stop();
    this.owner?.parked(new ParkedRun(snapshot, this.log, this.resultSubject, this.statusSubj, this.idle.state));
    return true;
  }

  /** Resolve who waits in pause() with the snapshot of now (`taken`, if built already); the next pause() makes a new list. */
  protected releasePauses(taken?: Snapshot): void {
    const pauses = this.pauses;
    this.pauses = undefined;
    pauses?.release(() => taken ?? frozenSnapshot(this.snapshot()));
  }

  // ── the one way to end ──────────────────────────────────────────────────────────────────────────

  /** @internal */
  propose(outcome: Outcome): void {
    if (this.ended) return;
    // A timeout is the weakest outcome: dispatch goes on for the rest of its frame, so a stop routed in the
    // same instant still wins. Stops and errors end dispatch at once; abort decides at once.
    if (outcome.status !== 'aborted') this.apply({ type: outcome.status === 'timed_out' ? 'due' : 'closing' });
    this.outcome.propose(outcome);
  }

  /** @internal The outcome is decided: stop everything that could still act, before the pipelines are torn down. */
  halt(outcome: Outcome): void {
    this.budget?.set(false);
    this.apply({ type: 'end', outcome });
    this.invocations.stopAll(() => outcomeError(outcome));
    this.waiting.stop();
    this.pipelines.flow?.close();
    this.firstPump?.unsubscribe();
    this.queue.stop();
    this.state.seal();
    this.checkpoints?.dispose();
  }

  /** @internal The pipelines have ended (`takeUntil`): announce the outcome and settle every waiter. */
  announce(outcome: Outcome): void {
    this.hibernate();
    this.gate.end();
    if (outcome.status === 'completed') this.log.emit({ kind: 'run_completed', result: outcome.result });
    else this.log.emit({ kind: `run_${outcome.status}`, error: outcome.error.toInfo() });
    this.log.close();
    this.statusSubj?.complete();
    if (this.pauses?.waiting === true) this.pauses.rejectAll(outcomeError(outcome));
    if (outcome.status === 'completed') {
      this.resultSubject.next(outcome.result);
      this.resultSubject.complete();
    } else {
      this.resultSubject.error(outcome.error);
    }
    this.checkpoints?.request();
  }

  // What the rooms call (LoopHost, ChildHost, PipelinesHost).
  /** @internal */ get decided$(): Observable<unknown> { return this.outcome.decided$; }
  /** @internal */ get ended(): boolean { return isTerminal(this.control.status); }
  /** @internal */ get paused(): boolean { return this.control.paused; }
  /** @internal */ park(inv: Invocation): void { this.invocations.park(inv); }
  /** @internal */ unpark(inv: Invocation): void { this.invocations.unpark(inv); }
  /** @internal */ forget(inv: Invocation): void { this.waiting.forget(inv); }
  /** @internal */ wake(): void { this.pump(); }
  /** @internal Not while paused or closing, nor while the store is a save behind under real time (virtual time never waits on I/O). */
  canDispatch(): boolean {
    return this.gate.open && !this.control.closing && !(this.checkpoints?.behind === true && this.scheduler === asyncScheduler);
  }
  /** @internal */ fail(error: WorkflowError): void { this.propose({ status: 'failed', error }); }

  abstract snapshot(): Snapshot;
  /** @internal */ abstract inputHost(): InputHost;
  /** @internal */ abstract waitHost(): WaitHost;
  protected abstract checkpointHooks(): CheckpointHooks;
}
