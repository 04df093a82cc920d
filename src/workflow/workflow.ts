import { Observable, type SchedulerLike } from 'rxjs';
import type { z } from 'zod';
import { asStoreError, describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import type { EventType } from '../events/event.js';
import { resolveFlow, type FlowOptions } from './flowOptions.js';
import { LiveRun } from '../run/LiveRun.js';
import type { RunHandle } from '../run/RunHandle.js';
import { isTerminal } from '../run/status.js';
import { parseSnapshot, type Snapshot } from '../snapshot/schema.js';
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
  StepOptions,
  WorkflowOptions,
} from './types.js';

export interface RunOptions {
  /** Seeds `ctx.state`. */
  state?: Record<string, unknown>;
  /** Use this id instead of a fresh uuid. */
  runId?: string;
  /** Overrides the workflow's `replay` option for this run. */
  replay?: number;
}

export interface ResumeOptions {
  /** Upgrade a snapshot taken with another version of the workflow (synchronous). */
  migrate?: (snapshot: Snapshot) => Snapshot;
}

/**
 * An immutable workflow: each builder call returns a new one.
 *
 * @example
 * ```ts
 * const qa = workflow('qa', { timeout: 60_000 })
 *   .step('search', { accepts: [StartEvent] }, async (ev) => Query.of({ text: String(ev.data) }))
 *   .step('answer', { accepts: [Query] }, async (ev) => StopEvent.of({ result: ev.data.text.toUpperCase() }));
 * console.log(await qa.run('hello').result); // 'HELLO'
 * ```
 */
export class Workflow<R = unknown> {
  private compiled: WorkflowSpec | undefined;
  private perScheduler: WeakMap<SchedulerLike, Workflow<R>> | undefined;

  constructor(
    readonly name: string,
    readonly options: WorkflowOptions = {},
    readonly steps: readonly StepDef[] = [],
  ) {}

  /** Add a step: `handler(event, ctx)` returns an event, an array, nothing, a Promise of those, or an Observable. */
  step<const A extends readonly Acceptable[]>(
    name: string,
    options: StepOptions<A>,
    handler: StepHandler<AcceptedEvent<A>>,
  ): Workflow<R> {
    checkStepOptions(this.name, name, options);
    return this.with({
      ...baseStep(name, 'step', options.accepts, options.emits),
      ...flowOf(this.name, name, options),
      timeout: options.timeout,
      retry: options.retry,
      handler: handler as NonNullable<StepDef["handler"]>,
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
    operator: PipeOperator<AcceptedEvent<A>>,
  ): Workflow<R> {
    checkStepOptions(this.name, name, options);
    return this.with({
      ...baseStep(name, 'pipe', options.accepts, options.emits),
      concurrency: 1,
      timeout: undefined,
      retry: undefined,
      operator: operator as NonNullable<StepDef["operator"]>,
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
    options: { accepts: A; emits?: readonly Acceptable[] } & SubworkflowOptions<AcceptedEvent<A>> & FlowOptions<AcceptedEvent<A>>,
  ): Workflow<R> {
    checkStepOptions(this.name, name, options);
    return this.with({
      ...baseStep(name, 'step', options.accepts, options.emits),
      ...flowOf(this.name, name, options),
      timeout: undefined,
      retry: undefined,
      handler: (ev, ctx) => child$(name, 'child', options, ev as AcceptedEvent<A>, ctx),
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
    options: { accepts: A; emits?: readonly Acceptable[]; branches: readonly Branch<AcceptedEvent<A>>[]; join: 'all' | 'first' } & FlowOptions<AcceptedEvent<A>>,
  ): Workflow<R> {
    checkStepOptions(this.name, name, options);
    if (options.join !== 'all' && options.join !== 'first') {
      throw new WorkflowError('invalid_workflow', `workflow '${this.name}', step '${name}': join must be 'all' or 'first'`, { step: name });
    }
    return this.with({
      ...baseStep(name, 'step', options.accepts, options.emits),
      ...flowOf(this.name, name, options),
      timeout: undefined,
      retry: undefined,
      handler: (ev, ctx) => parallel$(name, options.branches, options.join, ev as AcceptedEvent<A>, ctx),
    });
  }

  /** A copy with other options (e.g. a TestScheduler or a store). */
  withOptions(options: WorkflowOptions): Workflow<R> {
    return new Workflow<R>(this.name, { ...this.options, ...options }, this.steps);
  }

  /** This workflow on `scheduler`, made (and validated) once per scheduler: sub-workflows start one per event. */
  onScheduler(scheduler: SchedulerLike): Workflow<R> {
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

  /** Start a run now (the first dispatch happens on the scheduler). Throws `invalid_workflow`. */
  run(input?: unknown, options: RunOptions = {}): RunHandle<R> {
    const start = { kind: 'new' as const, input, ...options };
    return new LiveRun(this.spec(), start) as RunHandle<R>;
  }

  /** Continue a run from a snapshot; throws `invalid_snapshot`, `snapshot_version` or `not_running`. */
  resume(snapshot: unknown, options: ResumeOptions = {}): RunHandle<R> {
    const spec = this.spec();
    let snap = parseSnapshot(snapshot, this.name);
    if (snap.workflowVersion !== spec.version) {
      if (options.migrate === undefined) {
        throw new WorkflowError(
          'snapshot_version',
          `snapshot of '${this.name}' was taken with workflow version ${snap.workflowVersion}, this one is ${spec.version}; pass { migrate } to upgrade it`,
          { details: { snapshot: snap.workflowVersion, workflow: spec.version } },
        );
      }
      let migrated: unknown;
      try {
        migrated = options.migrate(snap);
      } catch (error) {
        throw new WorkflowError('snapshot_version', `migrate() failed for run ${snap.runId}: ${describeThrown(error)}`, {
          cause: error,
        });
      }
      snap = parseSnapshot(migrated, this.name);
      if (snap.workflowVersion !== spec.version) {
        throw new WorkflowError(
          'snapshot_version',
          `migrate() returned workflow version ${snap.workflowVersion}, but this workflow is ${spec.version}`,
          { details: { snapshot: snap.workflowVersion, workflow: spec.version } },
        );
      }
    }
    if (isTerminal(snap.status)) {
      throw new WorkflowError('not_running', `run ${snap.runId} already ended (${snap.status}); nothing to resume`);
    }
    return new LiveRun(spec, { kind: 'resume', snapshot: snap }) as RunHandle<R>;
  }

  /** Load a run's latest checkpoint and continue it; rejects `not_found` for an unknown id. */
  async resumeFrom(store: CheckpointStore, runId: string, options: ResumeOptions = {}): Promise<RunHandle<R>> {
    let snapshot: Snapshot | undefined;
    try {
      snapshot = await store.load(runId);
    } catch (error) {
      throw asStoreError(error, `loading run ${runId}`);
    }
    if (snapshot === undefined) throw new WorkflowError('not_found', `no checkpoint for run ${runId}`, { details: { runId } });
    return this.resume(snapshot, options);
  }

  /**
   * A cold Observable of one run's RunEvents: each subscription starts a run; unsubscribing aborts it.
   * It errors with the run's `WorkflowError` after `run_failed`.
   */
  run$(input?: unknown, options: RunOptions = {}): Observable<RunEvent> {
    return new Observable<RunEvent>((subscriber) => {
      const run = this.run(input, options);
      subscriber.add(
        run.events$.subscribe({
          next: (ev) => subscriber.next(ev),
          complete: () => run.result$.subscribe({ error: (e) => subscriber.error(e), complete: () => subscriber.complete() }),
        }),
      );
      return () => run.abort('unsubscribed');
    });
  }

  private with(step: StepDef): Workflow<R> {
    return new Workflow<R>(this.name, this.options, [...this.steps, step]);
  }

  private spec(): WorkflowSpec {
    this.compiled ??= compile(this.name, this.options, this.steps);
    return this.compiled;
  }
}

/**
 * Start building a workflow.
 *
 * @example
 * ```ts
 * const wf = workflow('hello').step('greet', { accepts: [StartEvent] }, (ev) => StopEvent.of({ result: `hi ${ev.data}` }));
 * ```
 */
export function workflow<R = unknown>(name: string, options: WorkflowOptions = {}): Workflow<R> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new WorkflowError('invalid_workflow', 'workflow(name): name must be a non-empty string');
  }
  return new Workflow<R>(name, options);
}

function typeName(a: Acceptable): string {
  return typeof a === 'string' ? a : a.type;
}

function baseStep(
  name: string,
  kind: StepDef['kind'],
  accepts: readonly Acceptable[],
  emits: readonly Acceptable[] | undefined,
): Pick<StepDef, 'name' | 'kind' | 'accepts' | 'emits' | 'schemas'> {
  const schemas = new Map<string, z.ZodType>();
  for (const a of accepts) {
    if (typeof a !== 'string' && a.schema !== undefined) schemas.set(a.type, (a as EventType).schema as z.ZodType);
  }
  return {
    name,
    kind,
    accepts: [...new Set(accepts.map(typeName))],
    emits: emits === undefined ? undefined : new Set(emits.map(typeName)),
    schemas,
  };
}

function checkStepOptions(workflowName: string, name: string, options: { accepts?: unknown }): void {
  const fail = (why: string) =>
    new WorkflowError('invalid_workflow', `workflow '${workflowName}', step '${name}': ${why}`, { step: name });
  if (typeof name !== 'string' || name.length === 0) throw fail('a step needs a non-empty name');
  if (!Array.isArray(options?.accepts) || options.accepts.length === 0) throw fail('`accepts` must list at least one event type');
}

/** A step's concurrency and, when it has per-key limits, a rate limit or a debounce, its `flow`. */
function flowOf(workflowName: string, name: string, options: FlowOptions<any>): Pick<StepDef, 'concurrency' | 'flow'> {
  const flow = resolveFlow(workflowName, name, options);
  const plain = flow.concurrencyKey === undefined && flow.rateLimit === undefined && flow.debounce === undefined;
  return plain ? { concurrency: flow.concurrency } : { concurrency: flow.concurrency, flow };
}
