import { type Observable, of } from 'rxjs';
import { clonePlain } from '../events/clone.js';
import type { ChildHandle, ChildStarter } from '../context/childRuns.js';
import type { ContextHost } from '../context/context.js';
import type { InputRequestOptions } from '../context/types.js';
import { describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import { InputResponseEvent, type WorkflowEvent } from '../events/event.js';
import { deepFreeze, explainNonJson, findNonJson } from '../events/freeze.js';
import { buildSnapshot } from '../snapshot/build.js';
import type { Snapshot } from '../snapshot/schema.js';
import { isTerminal, type RunStatus } from '../snapshot/status.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { CheckpointHooks } from './Checkpointer.js';
import { Children } from './children.js';
import type { InputHost } from './InputRequests.js';
import type { WaitForOptions, WaitHost } from './Waits.js';
import { errorInfo, stepErrorInfo, stepFields, type Invocation } from './invocation.js';
import { envelopeOf, checkOutput } from './outputs.js';
import { outcomeError } from './outcome.js';
import type { Outcome } from './reducer.js';
import { Run } from './Run.js';
import { PauseWaiters } from './pause.js';

/**
 * A live run as its handle (handle.ts, which users hold) and step contexts see it: what the `RunHandle`
 * forwards to it and what contexts call (`ContextHost`), on top of the loop in Run.ts.
 */
export class LiveRun extends Run implements ContextHost<Invocation> {
  get contexts(): ContextHost<Invocation> {
    return this;
  }

  private finalSnapshot: Snapshot | undefined;

  // ── what the handle forwards ────────────────────────────────────────────────────────────────────

  get metadata(): Readonly<Record<string, unknown>> {
    return this.meta;
  }

  setMetadata(key: string, value: unknown): void {
    const bad = findNonJson(value, key);
    if (bad !== undefined) {
      throw new WorkflowError('invalid_snapshot', `run.setMetadata('${key}'): ${explainNonJson(value, key)} (metadata is part of every snapshot)`, {
        details: { key, path: bad },
      });
    }
    this.meta[key] = deepFreeze(clonePlain(value));
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
      this.gate.set(false);
      this.pipelines.flow?.setRunning(false);
      this.log.emit({ kind: 'run_paused' });
      this.children?.pauseAll();
    }
    (this.pauses ??= new PauseWaiters()).add(onQuiet, onEnd);
    this.settle();
  }

  resume(): void {
    if (isTerminal(this.control.status)) {
      // Like pause(), send() and respond(): after the end there is nothing to resume (abort() stays a no-op).
      throw new WorkflowError('not_running', `run ${this.id} has ended (${this.control.status}); nothing to resume`);
    }
    if (!this.control.paused) return;
    this.apply({ type: 'resume' });
    if (!this.pipelines.connected) this.pipelines.connect();
    this.releasePauses();
    this.children?.resumeAll();
    this.waiting.resumed();
    this.log.emit({ kind: 'run_resumed' });
    this.pipelines.flow?.setRunning(true);
    this.gate.set(true);
    this.pump();
  }

  abort(reason?: unknown): void {
    if (isTerminal(this.control.status) || this.control.due) return;
    const details = reason === undefined ? {} : { details: { reason } };
    const why = reason === undefined ? '' : `: ${describeThrown(reason)}`;
    this.propose({ status: 'aborted', error: new WorkflowError('aborted', `run ${this.id} was aborted${why}`, details) });
  }

  send(event: WorkflowEvent): void {
    if (isTerminal(this.control.status)) {
      throw new WorkflowError('not_running', `run ${this.id} has ended (${this.control.status}); cannot send`);
    }
    this.queue.push(envelopeOf(checkOutput(this.spec, event, undefined), this.scheduler.now()));
    this.pump();
  }

  respond(requestId: string, response: unknown): void {
    if (isTerminal(this.control.status)) {
      throw new WorkflowError('not_running', `run ${this.id} has ended (${this.control.status}); nothing to respond to`);
    }
    this.waiting.inputs().respond(this.id, requestId, response, this.control.paused);
    this.pump();
  }

  snapshot(): Snapshot {
    if (this.finalSnapshot !== undefined) return this.finalSnapshot;
    // Nothing changes after the end, so the final snapshot is built once, when first asked for.
    if (isTerminal(this.control.status)) return (this.finalSnapshot = this.buildSnapshot());
    return this.buildSnapshot();
  }

  async flush(): Promise<void> {
    await this.checkpoints?.flush();
  }

  private buildSnapshot(): Snapshot {
    const held = this.pipelines.held();
    const queued = this.queue.items.toArray();
    const { waiting, answered } = this.waiting.snapshot();
    return buildSnapshot({
      workflow: this.spec.name,
      workflowVersion: this.spec.version,
      runId: this.id,
      status: this.control.status,
      createdAt: this.createdAt,
      input: this.input,
      state: this.state.toJSON(),
      pending: held.length === 0 ? queued : held.concat(queued),
      inFlight: this.invocations.entries(),
      collected: this.fanIn.buffers,
      waiting,
      answered,
      seq: this.log.seq,
      elapsedMs: this.clock.elapsed(),
      metadata: this.meta,
      children: this.children?.snapshot() ?? {},
      outcome: snapshotOutcome(this.control.outcome),
      idle: this.idle.current,
      rateSlots: this.pipelines.flow?.rateSlots(),
    });
  }

  // ── what contexts call (ContextHost) ────────────────────────────────────────────────────────────

  get workflowName(): string {
    return this.spec.name;
  }

  /** @internal */
  sendFrom(inv: Invocation, event: WorkflowEvent): void {
    if (this.retired && this.owner !== undefined) return this.owner.awake().sendFrom(inv, event); // a settled step's late send
    this.idle.produced(inv);
    this.enqueue(event, inv.step, inv.id);
    this.pump();
  }

  /** @internal */
  writeFrom(inv: Invocation, event: WorkflowEvent): void {
    if (!isTerminal(this.control.status)) this.log.emit({ kind: 'stream', event: deepFreeze(event), step: inv.step.name });
  }

  /** @internal Fan-in: `n` events of `type` once there are `n` (replay-safe, see FanIn). */
  collect(inv: Invocation, type: string, n: number, cursor: Record<string, number>): WorkflowEvent[] | undefined {
    return this.fanIn.take(inv, type, n, cursor);
  }

  /** @internal */
  requestInput(inv: Invocation, prompt: string, options?: InputRequestOptions): Promise<unknown> {
    if (isTerminal(this.control.status)) return Promise.reject(outcomeError(this.control.outcome as Outcome));
    return this.waiting.inputs().ask(inv, prompt, options);
  }

  /** @internal `ctx.sleep(ms)`. */
  sleep(inv: Invocation, ms: number): Promise<void> {
    if (isTerminal(this.control.status)) return Promise.reject(outcomeError(this.control.outcome as Outcome));
    return this.waiting.durable().sleep(inv, ms);
  }

  /** @internal `ctx.waitFor(type, options)`. */
  waitFor(inv: Invocation, type: string, options?: WaitForOptions): Promise<WorkflowEvent | undefined> {
    if (isTerminal(this.control.status)) return Promise.reject(outcomeError(this.control.outcome as Outcome));
    return this.waiting.durable().waitFor(inv, type, options);
  }

  /** @internal Start (or, after resume, continue from its snapshot) a child run owned by `inv`. */
  startChild(inv: Invocation, branch: string, start: ChildStarter): ChildHandle {
    this.children ??= new Children(this);
    return this.children.start(inv, branch, start);
  }

  /** @internal A sub-workflow step's child attempt failed and is retried. */
  childRetried(inv: Invocation, failedAttempt: number, error: unknown): void {
    if (!isTerminal(this.control.status)) {
      this.log.emit({ kind: 'step_retried', ...stepFields(inv), attempt: failedAttempt, error: stepErrorInfo(error, errorInfo(error)) });
    }
  }

  // ── hooks of the loop's rooms ───────────────────────────────────────────────────────────────────

  /** @internal */
  waitHost(): WaitHost {
    const control = () => this.control;
    return {
      scheduler: this.scheduler,
      status$: this.statusSubject,
      get paused() {
        return control().paused;
      },
      park: (inv) => this.invocations.park(inv),
      unpark: (inv) => this.invocations.unpark(inv),
      changed: () => this.settle(),
    };
  }

  /** @internal */
  inputHost(): InputHost {
    return {
      scheduler: this.scheduler,
      status$: this.statusSubject,
      emit: (body) => this.log.emit(body),
      park: (inv) => this.invocations.park(inv),
      unpark: (inv) => this.invocations.unpark(inv),
      route: (requestId, response) => this.queue.push(envelopeOf(InputResponseEvent.of({ requestId, response }), this.scheduler.now(), 'input')),
      fail: (error) => this.fail(error),
      changed: () => this.settle(),
    };
  }

  protected checkpointHooks(): CheckpointHooks {
    return {
      snapshot: () => this.snapshot(),
      journal: () => this.log.takeJournal(),
      saved: () => {
        if (!isTerminal(this.control.status)) this.log.emit({ kind: 'checkpoint_saved' });
      },
      failed: (error, consecutive, fatal) => {
        if (isTerminal(this.control.status)) return; // flush() reports a failed final save
        this.log.emit({ kind: 'checkpoint_failed', error: error.toInfo(), consecutive });
        if (fatal !== undefined) this.fail(fatal);
      },
      // Only what it dispatches changes the run: a drain that cannot dispatch (yielding) must not ask for a
      // save, or saves that resolve in microtasks would chain forever without yielding.
      caughtUp: () => {
        if (this.queue.drain()) this.settle();
      },
      idle: () => this.parkIfQuiet(),
    };
  }
}

/** A terminal run's outcome as its snapshot carries it (DESIGN §6.6). */
function snapshotOutcome(outcome: Outcome | undefined): Snapshot['outcome'] {
  if (outcome === undefined) return undefined;
  return outcome.status === 'completed' ? { result: outcome.result } : { error: outcome.error.toInfo() };
}
