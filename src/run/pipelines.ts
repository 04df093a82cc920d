import { EMPTY, filter, groupBy, ignoreElements, mergeMap, type Observable, type SchedulerLike, Subject, Subscription, takeUntil, tap } from 'rxjs';
import type { WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import type { StepDef } from '../workflow/types.js';
import type { WorkflowSpec } from '../workflow/spec.js';
import type { EventLog } from './eventLog.js';
import type { Invocations } from './Invocations.js';
import { busError } from './outcome.js';
import { RunFlow } from './runFlow.js';
import { groupKey } from './runStart.js';

/** What the pipelines need from their run. */
export interface PipelinesHost {
  readonly spec: WorkflowSpec;
  readonly scheduler: SchedulerLike;
  readonly log: EventLog;
  readonly invocations: Invocations;
  readonly paused: boolean;
  /** Emits when the outcome is decided: every pipeline ends with it (`takeUntil`). */
  readonly decided$: Observable<unknown>;
  fail(error: WorkflowError): void;
}

/**
 * The run's pipelines, as the design card draws them: the `bus`, `groupBy` by addressed step into one
 * `mergeMap` per step whose `concurrent` argument is the step's limit (or the step's flow control; a step with
 * neither starts each envelope as it comes, see Invocations.start), and each pipe step's operator. A paused,
 * quiet run drops them (`disconnect`), what they held back going back to its queue as plain data; `resume()`
 * connects them again.
 */
export class Pipelines {
  readonly bus = new Subject<Envelope>();
  /** Per-key limits, rate windows and debounces (§6.3): created with the first step that has any. */
  flow: RunFlow | undefined;
  private wiring: Subscription | undefined;

  constructor(private readonly host: PipelinesHost) {}

  get connected(): boolean {
    return this.wiring !== undefined;
  }

  connect(): void {
    const { host, bus } = this;
    const until = takeUntil<never>(host.decided$);
    const wiring = (this.wiring = new Subscription());
    const invocations = host.invocations;
    const bus$ = bus.pipe(
      groupBy((env) => groupKey(host.spec, env)),
      mergeMap((group) => {
        const step = host.spec.stepsByName.get(group.key) as StepDef;
        if (step.kind === 'pipe') return EMPTY;
        const invoke = (env: Envelope) => invocations.invocation(step, env);
        if (step.flow !== undefined) return group.pipe(this.flows().control(step).pipeline(invoke));
        if (!host.spec.unlimited.has(step.name)) return group.pipe(mergeMap(invoke, step.concurrency));
        // No limit: each envelope starts as it comes (at a closed gate it waits, as a limited step's would).
        const start = (env: Envelope): void => {
          if (!invocations.start(step, env)) wiring.add(invoke(env).pipe(until).subscribe());
        };
        return group.pipe(tap(start), ignoreElements());
      }),
    );
    wiring.add(bus$.pipe(until).subscribe({ error: (error: unknown) => host.fail(busError(error)) }));
    // Pipe steps are subscribed from the start, so their timers (bufferTime, debounce…) start with the run.
    for (const step of host.spec.steps) {
      if (step.kind === 'pipe') wiring.add(host.invocations.pipeStep(step, bus.pipe(filter((env) => env.to === step.name))).pipe(until).subscribe());
    }
  }

  /** Drop the pipelines; returns what they held back (addressed, with due times, read while they lived). */
  disconnect(): Envelope[] {
    if (this.wiring === undefined) return [];
    const held = this.held();
    this.host.invocations.dropHeld();
    this.wiring.unsubscribe();
    this.wiring = undefined;
    return held;
  }

  /** What the steps hold back (limits, rate windows, debounces), oldest first, each with its due time. */
  held(): Envelope[] {
    const held = this.host.invocations.held;
    return this.flow === undefined ? [...held] : this.flow.held(held);
  }

  /** The step flow controls, made with the first step that has any. */
  flows(): RunFlow {
    this.flow ??= new RunFlow(this.host.scheduler, this.host.paused, (step, env) => {
      // A debounced envelope was superseded: reported, never silently lost.
      this.host.invocations.held.delete(env);
      this.host.log.emit({ kind: 'event_dropped', step: step.name, event: env.event, reason: 'debounced' });
    });
    return this.flow;
  }
}
