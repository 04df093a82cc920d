import type { SchedulerLike } from 'rxjs';
import { WorkflowError } from '../errors/WorkflowError.js';
import { checkDuration, checkJson } from '../events/checks.js';
import { isEvent, type EventType, type WorkflowEvent } from '../events/event.js';
import { CHILD_RUNS, type ChildHandle, type ChildRuns, type ChildStarter } from './childRuns.js';
import { StagedState, type RunState } from './state.js';
import type { InputRequestOptions, StepContext, WaitForOptions } from './types.js';

/** What a context needs from its run; the run loop implements it. */
export interface ContextHost<I> {
  readonly id: string;
  readonly workflowName: string;
  readonly state: RunState;
  readonly scheduler: SchedulerLike;
  sendFrom(invocation: I, event: WorkflowEvent): void;
  writeFrom(invocation: I, event: WorkflowEvent): void;
  /** Fan-in: `cursor` counts, per type, the events this attempt has had back of those the invocation took before. */
  collect(invocation: I, type: string, n: number, cursor: Record<string, number>): WorkflowEvent[] | undefined;
  requestInput(invocation: I, prompt: string, options?: InputRequestOptions): Promise<unknown>;
  sleep(invocation: I, ms: number): Promise<void>;
  waitFor(invocation: I, type: string, options?: WaitForOptions): Promise<WorkflowEvent | undefined>;
  startChild(invocation: I, branch: string, starter: ChildStarter): ChildHandle;
  childRetried(invocation: I, failedAttempt: number, error: unknown): void;
}

/**
 * One attempt's view of the run. A class with its methods on the prototype, so an invocation costs one small
 * object, and the AbortController behind `signal` is only created if a step asks for it.
 */
export class AttemptContext<I extends { readonly id: string }> implements StepContext, ChildRuns {
  private controller: AbortController | undefined;
  private ended: { reason: unknown } | undefined;
  private staged: StagedState | undefined;
  private collectCursor: Record<string, number> | undefined;

  /** `transactional: false` for a pipe step, which lives as long as the run and never settles: its writes apply at once. */
  constructor(
    private readonly host: ContextHost<I>,
    private readonly invocation: I,
    readonly attempt: number,
    private readonly transactional = true,
  ) {}

  get runId(): string {
    return this.host.id;
  }

  get workflowName(): string {
    return this.host.workflowName;
  }

  get invocationId(): string {
    return this.invocation.id;
  }

  /** This attempt's staged view of the run state (created on first use), committed when the invocation settles. */
  get state(): RunState {
    if (!this.transactional) return this.host.state;
    return (this.staged ??= new StagedState(this.host.state));
  }

  /** The invocation settled: its staged state writes reach the run's state (see `StagedState`). */
  commitState(): void {
    this.staged?.commit();
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.ended !== undefined) this.controller.abort(this.ended.reason);
    }
    return this.controller.signal;
  }

  /** End this attempt: its signal is (or, when first read later, will be) aborted with `reason`. */
  abort(reason?: unknown): void {
    if (this.ended !== undefined) return;
    this.ended = { reason };
    this.controller?.abort(reason);
  }

  send(event: WorkflowEvent): void {
    this.host.sendFrom(this.invocation, event);
  }

  write(event: WorkflowEvent): void {
    // Written events go to the journal: refuse here what could not be stored (a routed event is checked on routing).
    if (isEvent(event)) checkJson(event.data, () => `ctx.write(): the data of event '${event.type}'`, 'invalid_event');
    this.host.writeFrom(this.invocation, event);
  }

  collect<D, N extends string>(type: EventType<D, N, any>, n: number): WorkflowEvent<D, N>[] | undefined {
    return this.host.collect(this.invocation, type.type, n, (this.collectCursor ??= {})) as WorkflowEvent<D, N>[] | undefined;
  }

  requestInput<R = unknown>(prompt: string, options?: InputRequestOptions): Promise<R> {
    checkInputRequest(prompt, options);
    return this.host.requestInput(this.invocation, prompt, options) as Promise<R>;
  }

  sleep(ms: number): Promise<void> {
    return this.host.sleep(this.invocation, ms);
  }

  waitFor<D, N extends string>(type: EventType<D, N, any> | N, options?: WaitForOptions<WorkflowEvent<D, N>>): Promise<WorkflowEvent<D, N> | undefined> {
    const name = typeof type === 'string' ? type : type.type;
    return this.host.waitFor(this.invocation, name, options as WaitForOptions | undefined) as Promise<WorkflowEvent<D, N> | undefined>;
  }

  // The sub-workflow hook (see context/childRuns.ts).
  get [CHILD_RUNS](): ChildRuns {
    return this;
  }

  get scheduler(): SchedulerLike {
    return this.host.scheduler;
  }

  start(branch: string, starter: ChildStarter): ChildHandle {
    return this.host.startChild(this.invocation, branch, starter);
  }

  retried(failedAttempt: number, error: unknown): void {
    this.host.childRetried(this.invocation, failedAttempt, error);
  }
}

/** A request is stored in every checkpoint until answered: refuse at the call what could not be loaded back. */
function checkInputRequest(prompt: unknown, options: InputRequestOptions | undefined): void {
  if (typeof prompt !== 'string') {
    throw new WorkflowError('invalid_argument', `ctx.requestInput(prompt): the prompt must be a string, got ${prompt === null ? 'null' : typeof prompt}; put structured data in { metadata }`);
  }
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new WorkflowError('invalid_argument', 'ctx.requestInput(prompt, options): options must be { metadata?, timeout? }');
  }
  checkDuration(options.timeout, 'ctx.requestInput(prompt, { timeout })', 'invalid_argument');
  checkJson(options.metadata, 'ctx.requestInput(prompt, { metadata })', 'invalid_argument');
}
