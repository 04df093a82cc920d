import type { Observable, SchedulerLike } from 'rxjs';
import type { StateShape } from '../context/state.js';
import type { WorkflowEvent } from '../events/event.js';
import { startOnce } from '../ops/start.js';
import type { FlowOptions } from './flowOptions.js';
import { baseStep, checkParallelOptions, checkRunOptions, checkStepOptions, flowOf, runEvents$ } from './stepDefs.js';
import { loadCheckpoint, resumeRun } from './resumable.js';
import { Handle } from '../run/handle.js';
import type { RunHandle } from '../run/RunHandle.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import { child$, parallel$, type Branch, type SubworkflowOptions } from './compose.js';
import { compile, type WorkflowSpec } from './spec.js';
import type {
  Acceptable,
  AcceptedEvent,
  PipeOperator,
  PipeOptions,
  StepDef,
  StepHandler,
  StateSchema,
  StepOptions,
  WorkflowOptions,
} from './types.js';
import { checkInput, checkStateSeed, typedState } from './edges.js';

export interface RunOptions<S extends StateShape = StateShape> {
  /** Seeds `ctx.state` (checked against the workflow's `state` schema, if any). */
  state?: Partial<S>;
  /** Use this id instead of a fresh uuid. */
  runId?: string;
  /** Overrides the workflow's `replay` option for this run. */
  replay?: number;
}

export interface ResumeOptions {
  /** Upgrade a snapshot taken with another version of the workflow (synchronous). */
  migrate?: (snapshot: Snapshot) => Snapshot;
}

type IsAny<T> = 0 extends 1 & T ? true : false;

/** `run()`'s arguments: the input is optional unless the workflow's `input` schema requires one. */
export type RunArgs<In, S extends StateShape> = undefined extends In
  ? [input?: In, options?: RunOptions<S>]
  : [input: In, options?: RunOptions<S>];

/**
 * An immutable workflow: each builder call returns a new one. Its type parameters are the result `R`, the
 * input `I` handlers see as `StartEvent` data, the state shape `S`, and the input `In` that `run()` takes
 * (before the input schema's defaults and transforms); `workflow()` infers them from its schemas.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { event, StartEvent, StopEvent, workflow } from 'sluice';
 * const Query = event('Query', z.object({ text: z.string() }));
 * const qa = workflow('qa', { input: z.string(), result: z.string(), timeout: 60_000 })
 *   .step('search', { accepts: [StartEvent] }, async (ev) => Query.of({ text: ev.data }))
 *   .step('answer', { accepts: [Query] }, async (ev) => StopEvent.of({ result: ev.data.text.toUpperCase() }));
 * console.log(await qa.run('hello').result); // 'HELLO'
 * ```
 */
export class Workflow<
  R = unknown,
  // `Workflow<any>` means any workflow, typed ones included.
  I = IsAny<R> extends true ? any : unknown,
  S extends StateShape = IsAny<R> extends true ? any : StateShape,
  In = I,
> {
  private compiled: WorkflowSpec | undefined;
  private perScheduler: WeakMap<SchedulerLike, Workflow<R, I, S, In>> | undefined;

  constructor(
    readonly name: string,
    readonly options: WorkflowOptions = {},
    readonly steps: readonly StepDef[] = [],
  ) {}

  /** Add a step: `handler(event, ctx)` returns an event, an array, nothing, a Promise of those, or an Observable. */
  step<const A extends readonly Acceptable[]>(
    name: string,
    options: StepOptions<A, I>,
    handler: StepHandler<AcceptedEvent<A, I>, S>,
  ): Workflow<R, I, S, In> {
    checkStepOptions(this.name, name, options);
    const run = handler as NonNullable<StepDef['handler']>;
    const state = this.options.state;
    return this.with({
      ...baseStep(name, 'step', options.accepts, options.emits, options.collects),
      ...flowOf(this.name, name, options),
      timeout: options.timeout,
      retry: options.retry,
      handler: state === undefined ? run : (ev, ctx) => run(ev, typedState(ctx, state)),
    });
  }

  /**
   * Add a step written as an RxJS operator over all of this run's accepted events.
   *
   * @example
   * ```ts
   * .pipe('batch', { accepts: [Item] }, (items$) => items$.pipe(bufferCount(10), map((b) => Batch.of(b))))
   * ```
   */
  pipe<const A extends readonly Acceptable[]>(
    name: string,
    options: PipeOptions<A>,
    operator: PipeOperator<AcceptedEvent<A, I>, S>,
  ): Workflow<R, I, S, In> {
    checkStepOptions(this.name, name, options);
    const op = operator as PipeOperator<WorkflowEvent>;
    const state: StateSchema | undefined = this.options.state;
    return this.with({
      ...baseStep(name, 'pipe', options.accepts, options.emits, options.collects),
      concurrency: 1,
      timeout: undefined,
      retry: undefined,
      operator: state === undefined ? op : (events$, ctx) => op(events$, typedState(ctx, state)),
    });
  }

  /**
   * A step that runs a child workflow per accepted event and routes an event made from its result.
   * Timeout gives `step_timeout`; a child failure gives `subworkflow_failed` with the child's error as `cause`;
   * the child pauses with the parent, is part of its snapshots, and is aborted with the step.
   *
   * @example
   * ```ts
   * .subworkflow('research', { accepts: [Topic], workflow: researcher, output: (notes) => Notes.of(notes) })
   * ```
   */
  subworkflow<const A extends readonly Acceptable[]>(
    name: string,
    options: { accepts: A; emits?: readonly Acceptable[] } & SubworkflowOptions<AcceptedEvent<A, I>> & FlowOptions<AcceptedEvent<A, I>>,
  ): Workflow<R, I, S, In> {
    checkStepOptions(this.name, name, options);
    return this.with({
      ...baseStep(name, 'step', options.accepts, options.emits),
      ...flowOf(this.name, name, options),
      timeout: undefined,
      retry: undefined,
      handler: (ev, ctx) => child$(name, 'child', options, ev as AcceptedEvent<A, I>, ctx),
    });
  }

  /**
   * Run several child workflows at once per accepted event. `join: 'all'` emits one event per branch in
   * declaration order and fails on the first failure; `'first'` emits the first success and aborts the rest.
   *
   * @example
   * ```ts
   * .parallel('quotes', { accepts: [Order], join: 'first', branches: [{ workflow: fedex }, { workflow: ups }] })
   * ```
   */
  parallel<const A extends readonly Acceptable[]>(
    name: string,
    options: { accepts: A; emits?: readonly Acceptable[]; branches: readonly Branch<AcceptedEvent<A, I>>[]; join: 'all' | 'first' } & FlowOptions<AcceptedEvent<A, I>>,
  ): Workflow<R, I, S, In> {
    checkStepOptions(this.name, name, options);
    checkParallelOptions(this.name, name, options);
    return this.with({
      ...baseStep(name, 'step', options.accepts, options.emits),
      ...flowOf(this.name, name, options),
      timeout: undefined,
      retry: undefined,
      handler: (ev, ctx) => parallel$(name, options.branches, options.join, ev as AcceptedEvent<A, I>, ctx),
    });
  }

  /**
   * A copy with other options (e.g. a TestScheduler or a store). Its types stay those of this workflow: give
   * `input`/`result`/`state` schemas to `workflow()` so they type the steps.
   */
  withOptions(options: WorkflowOptions): Workflow<R, I, S, In> {
    return new Workflow<R, I, S, In>(this.name, { ...this.options, ...options }, this.steps);
  }

  /** This workflow on `scheduler`, made (and validated) once per scheduler: sub-workflows start one per event. */
  onScheduler(scheduler: SchedulerLike): Workflow<R, I, S, In> {
    if (this.options.scheduler === scheduler) return this;
    this.perScheduler ??= new WeakMap();
    let wf = this.perScheduler.get(scheduler);
    if (wf === undefined) {
      wf = this.withOptions({ scheduler });
      this.perScheduler.set(scheduler, wf);
    }
    return wf;
  }

  /** Check the workflow now; throws `invalid_workflow`. */
  validate(): this {
    this.spec();
    return this;
  }

  /** Stable hash of step names and accepted types, stored in snapshots as `workflowVersion`. */
  get version(): string {
    return this.spec().version;
  }

  /**
   * Start a run now (the first dispatch happens on the scheduler). Throws `invalid_workflow`, and
   * `invalid_event` / `invalid_state` for an input or state seed that does not fit the workflow's schemas.
   */
  run(...args: RunArgs<In, S>): RunHandle<R> {
    const [given, options = {}] = args as [unknown, RunOptions<S>?];
    checkRunOptions(given, options as RunOptions);
    const spec = this.spec();
    const input = this.options.input === undefined ? given : checkInput(this.name, this.options.input, given);
    const seed = this.options.state === undefined || options.state === undefined ? options.state : checkStateSeed(this.name, this.options.state, options.state);
    const start = { kind: 'new' as const, ...(options as RunOptions), input, ...(seed === undefined ? {} : { state: seed }) };
    return new Handle(spec, start) as RunHandle<R>;
  }

  /**
   * Start a run at most once per `runId`: if the workflow's store (or this process) already has that run, no
   * second run starts and the handle follows the existing one — live here, resumed from its checkpoint when it
   * has not ended (a paused run stays paused), or settled with its stored outcome when it has. Two starts of
   * one id in one process give one run, however close together. Without `runId` it is `run()`, asynchronously.
   * Rejects `invalid_snapshot` when the id is a run of another workflow, `store_failed` when the store fails.
   *
   * @example
   * ```ts
   * const run = await orders.start({ orderId: 42 }, { runId: 'order-42' });   // safe to call again
   * console.log(await run.result);
   * ```
   */
  start(...args: RunArgs<In, S>): Promise<RunHandle<R>> {
    const [input, options = {}] = args as [unknown, RunOptions?];
    return startOnce(this, input, options) as Promise<RunHandle<R>>;
  }

  /**
   * Continue a run from a snapshot; throws `invalid_snapshot` (also when the snapshot does not fit this
   * workflow: unknown steps, types a step does not accept, data its schema refuses…), `snapshot_version` or
   * `not_running` — never anything but a `WorkflowError`.
   */
  resume(snapshot: unknown, options: ResumeOptions = {}): RunHandle<R> {
    return resumeRun(this.spec(), snapshot, { migrate: options.migrate, retry: false }) as RunHandle<R>;
  }

  /** Load a run's latest checkpoint and continue it; rejects `not_found` for an unknown id. */
  async resumeFrom(store: CheckpointStore, runId: string, options: ResumeOptions = {}): Promise<RunHandle<R>> {
    return resumeRun(this.spec(), await loadCheckpoint(store, runId), { migrate: options.migrate, retry: false, store }) as RunHandle<R>;
  }

  /**
   * Resume a `failed` or `timed_out` run from its last checkpoint: a new attempt of the same run (same
   * `runId`, `state` as it was, `seq` continuing after a `run_resumed` event with `retry: true`), checkpointing
   * to the workflow's store. The final checkpoint of a failed run keeps the failed invocation in `inFlight`,
   * so it is re-delivered first with its `invocationId` (idempotency keys hold) and `ctx.attempt` starting
   * again at 1; then the invocations the end cancelled, then `pending` in order. This is also "retry step":
   * the step that failed runs again. A failed run keeps its elapsed time against the workflow `timeout`; a
   * timed-out run gets a fresh budget. Rejects `not_found` for an unknown run, `not_running` for a run in any
   * other status, and as `resume()` does for a snapshot that does not fit this workflow.
   *
   * @example
   * ```ts
   * import { MemoryStore, StartEvent, StopEvent, workflow } from 'sluice';
   * const store = new MemoryStore();
   * let down = true;
   * const wf = workflow('charge', { store }).step('pay', { accepts: [StartEvent] }, () => {
   *   if (down) throw new Error('gateway down');
   *   return StopEvent.of({ result: 'paid' });
   * });
   * const run = wf.run();
   * await run.result.catch(() => undefined); // failed: step_failed
   * await run.flush();
   * down = false;
   * const again = await wf.retry(store, run.id);
   * console.log(await again.result); // 'paid'
   * ```
   */
  async retry(store: CheckpointStore, runId: string, options: ResumeOptions = {}): Promise<RunHandle<R>> {
    return resumeRun(this.spec(), await loadCheckpoint(store, runId), { migrate: options.migrate, retry: true, store }) as RunHandle<R>;
  }

  /**
   * A cold Observable of one run's RunEvents: each subscription starts a run; unsubscribing aborts it.
   * It errors with the run's `WorkflowError` after `run_failed`.
   */
  run$(...args: RunArgs<In, S>): Observable<RunEvent> {
    return runEvents$(() => this.run(...args));
  }

  private with(step: StepDef): Workflow<R, I, S, In> {
    return new Workflow<R, I, S, In>(this.name, this.options, [...this.steps, step]);
  }

  private spec(): WorkflowSpec {
    this.compiled ??= compile(this.name, this.options, this.steps);
    return this.compiled;
  }
}
