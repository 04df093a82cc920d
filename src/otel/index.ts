import {
  context as otelContext,
  isSpanContextValid,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { ErrorInfo } from '../errors/WorkflowError.js';
import type { RunHandle } from '../run/RunHandle.js';
import type { RunEvent, RunEventOf } from '../telemetry/runEvent.js';
import { currentSegment } from '../telemetry/segment.js';

/** Span names. */
export const RUN_SPAN = 'workflow.run';
export const STEP_SPAN = 'workflow.step';

/** Attribute keys on sluice's spans. */
export const ATTRIBUTES = {
  workflow: 'workflow.name',
  runId: 'workflow.run_id',
  /** On a run span: true when this span continues a run resumed from a snapshot. */
  resumed: 'workflow.resumed',
  /** On a run span when it ends: the run's status (`completed`, `failed`, …, or `paused` if tracing stopped). */
  status: 'workflow.status',
  step: 'workflow.step',
  invocationId: 'workflow.invocation_id',
  /** The type of the event the step was invoked with. */
  eventType: 'workflow.event_type',
  /** The attempt running, or the last one when the span ended (1 without retries). */
  attempt: 'workflow.attempt',
  /** On a step span when it ends: `completed`, `failed`, or `unfinished` (the run ended or tracing stopped first). */
  outcome: 'workflow.step.outcome',
  errorCode: 'workflow.error.code',
} as const;

/** The run metadata key holding the latest run span's context, so a resumed run can link to it. */
export const METADATA_KEY = 'otel';

/** What `run.metadata.otel` holds (plain JSON, so it travels in snapshots). */
export interface StoredSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

export interface TraceRunOptions {
  /** Default: `trace.getTracer('sluice')` from the global provider. */
  tracer?: Tracer;
  /** Parent of the run span. Default: the active context when `traceRun` is called. */
  context?: Context;
}

/** A run being traced. */
export interface RunTrace {
  /**
   * The OTel context whose active span is this invocation's step span (or the run span, without an id or
   * once the step has ended): parent your own spans to it, e.g. `tracer.startSpan('fetch', {}, t.context(ctx.invocationId))`.
   */
  context(invocationId?: string): Context;
  /**
   * Stop tracing. Spans still open end now — the run span with `workflow.status` = the run's status. Call it
   * after pausing a run you hand to another process, so its span is exported; tracing stops by itself when
   * the run ends.
   */
  unsubscribe(): void;
  readonly closed: boolean;
}

/**
 * Trace a run with OpenTelemetry, built from its RunEvents (times are the events' `at`):
 *
 * - one `workflow.run` span from `run_started` (or `run_resumed`) to the run's end; pause/resume, input
 *   requests, checkpoint failures and `run_idle` (with `workflow.step`, the last step) are span events on it;
 * - one child `workflow.step` span per step invocation, from its `step_started` to `step_completed` or
 *   `step_failed`. A retry stays in the same span: each failed attempt is a `step_retried` span event
 *   (`workflow.attempt`, `workflow.error.code`, `exception.message`) and `workflow.attempt` ends at the last attempt;
 * - a failed step or run records the exception and sets status ERROR (also for `aborted` and `timed_out`).
 *
 * The run span's context is kept in `run.metadata.otel` (so it is in every later snapshot); a resumed run's
 * span gets a Link to it. Call right after `wf.run()` / `wf.resume()`: a resumed run's replayed history is
 * not traced again. Steps run outside the step span's context; use {@link RunTrace.context} to nest your spans.
 *
 * @example
 * ```ts
 * import { traceRun } from 'sluice/otel';
 * const run = wf.run(input);
 * traceRun(run);                                    // spans go to the global tracer provider
 * const later = wf.resume(snapshot); traceRun(later); // new trace, linked to the earlier run span
 * ```
 */
export function traceRun(run: RunHandle<unknown>, options: TraceRunOptions = {}): RunTrace {
  const tracer = options.tracer ?? trace.getTracer('sluice');
  const tracing = new RunTracing(run, tracer, options.context ?? otelContext.active());
  const subscription = currentSegment(run.events$).subscribe((ev) => {
    try {
      tracing.on(ev);
    } catch {
      // Tracing is a bystander: a failing tracer or exporter must not fail or stall the run.
    }
  });
  subscription.add(() => tracing.stop());
  return {
    context: (invocationId) => tracing.context(invocationId),
    unsubscribe: () => subscription.unsubscribe(),
    get closed() {
      return subscription.closed;
    },
  };
}

/** The spans of one run in this process. */
class RunTracing {
  private runSpan: Span | undefined;
  private runEnded = false;
  /** The `run_started` / `run_resumed` the run span started at. */
  private anchor: RunEvent | undefined;
  private runContext: Context;
  private readonly steps = new Map<string, Span>();
  private workflow = '';

  constructor(
    private readonly run: RunHandle<unknown>,
    private readonly tracer: Tracer,
    private readonly parent: Context,
  ) {
    this.runContext = parent;
  }

  on(ev: RunEvent): void {
    if (this.runSpan === undefined) this.start(ev);
    const span = this.runSpan as Span;
    switch (ev.kind) {
      case 'step_started':
        return this.stepStarted(ev);
      case 'step_retried':
        this.steps.get(ev.invocationId)?.addEvent(
          'step_retried',
          { [ATTRIBUTES.attempt]: ev.attempt, [ATTRIBUTES.errorCode]: ev.error.code, 'exception.message': ev.error.message },
          ev.at,
        );
        return;
      case 'step_completed':
        return this.endStep(ev.invocationId, 'completed', ev.at);
      case 'step_failed': {
        const step = this.steps.get(ev.invocationId);
        if (step !== undefined) recordError(step, ev.error, ev.at);
        return this.endStep(ev.invocationId, 'failed', ev.at);
      }
      case 'run_paused':
        span.addEvent('run_paused', ev.at);
        return;
      case 'run_resumed':
        if (ev !== this.anchor) span.addEvent('run_resumed', ev.at);
        return;
      case 'input_requested':
        span.addEvent('input_requested', { 'workflow.request_id': ev.requestId }, ev.at);
        return;
      case 'input_received':
        span.addEvent('input_received', { 'workflow.request_id': ev.requestId }, ev.at);
        return;
      case 'run_idle':
        span.addEvent('run_idle', ev.lastStep === undefined ? {} : { [ATTRIBUTES.step]: ev.lastStep }, ev.at);
        return;
      case 'checkpoint_failed':
        span.addEvent(
          'checkpoint_failed',
          { [ATTRIBUTES.errorCode]: ev.error.code, 'exception.message': ev.error.message, 'workflow.consecutive': ev.consecutive },
          ev.at,
        );
        return;
      case 'run_completed':
        return this.end('completed', ev.at);
      case 'run_failed':
      case 'run_aborted':
      case 'run_timed_out':
        recordError(span, ev.error, ev.at);
        return this.end(ev.kind.slice('run_'.length), ev.at);
      default:
        return; // routing, streams, saved checkpoints: too frequent to be worth a span event
    }
  }

  /** End whatever is still open now (tracing stopped before the run ended). */
  stop(): void {
    if (this.runSpan !== undefined && !this.runEnded) this.end(this.run.status);
  }

  context(invocationId?: string): Context {
    const step = invocationId === undefined ? undefined : this.steps.get(invocationId);
    return step === undefined ? this.runContext : trace.setSpan(this.runContext, step);
  }

  private start(ev: RunEvent): void {
    this.anchor = ev;
    const resumed = ev.kind === 'run_resumed';
    this.workflow = ev.kind === 'run_started' ? ev.workflow : this.run.snapshot().workflow;
    const earlier = resumed ? storedContext(this.run.metadata[METADATA_KEY]) : undefined;
    const links: Link[] = earlier === undefined ? [] : [{ context: earlier, attributes: { 'workflow.link': 'resumed_from' } }];
    const span = this.tracer.startSpan(
      RUN_SPAN,
      {
        startTime: ev.at,
        attributes: { [ATTRIBUTES.workflow]: this.workflow, [ATTRIBUTES.runId]: this.run.id, [ATTRIBUTES.resumed]: resumed },
        links,
      },
      this.parent,
    );
    this.runSpan = span;
    this.runContext = trace.setSpan(this.parent, span);
    const sc = span.spanContext();
    if (isSpanContextValid(sc)) {
      const stored: StoredSpanContext = { traceId: sc.traceId, spanId: sc.spanId, traceFlags: sc.traceFlags };
      this.run.setMetadata(METADATA_KEY, stored);
    }
  }

  private stepStarted(ev: RunEventOf<'step_started'>): void {
    const open = this.steps.get(ev.invocationId);
    if (open !== undefined) {
      open.setAttribute(ATTRIBUTES.attempt, ev.attempt); // a retry: same span, next attempt
      return;
    }
    const span = this.tracer.startSpan(
      STEP_SPAN,
      {
        startTime: ev.at,
        attributes: {
          [ATTRIBUTES.workflow]: this.workflow,
          [ATTRIBUTES.runId]: this.run.id,
          [ATTRIBUTES.step]: ev.step,
          [ATTRIBUTES.invocationId]: ev.invocationId,
          [ATTRIBUTES.eventType]: ev.type,
          [ATTRIBUTES.attempt]: ev.attempt,
        },
      },
      this.runContext,
    );
    this.steps.set(ev.invocationId, span);
  }

  private endStep(invocationId: string, outcome: 'completed' | 'failed' | 'unfinished', at?: number): void {
    const span = this.steps.get(invocationId);
    if (span === undefined) return;
    this.steps.delete(invocationId);
    span.setAttribute(ATTRIBUTES.outcome, outcome);
    span.end(at);
  }

  private end(status: string, at?: number): void {
    for (const id of [...this.steps.keys()]) this.endStep(id, 'unfinished', at);
    const span = this.runSpan;
    if (span === undefined || this.runEnded) return;
    this.runEnded = true;
    span.setAttribute(ATTRIBUTES.status, status);
    span.end(at);
  }
}

function recordError(span: Span, error: ErrorInfo, at: number): void {
  span.recordException({ name: 'WorkflowError', code: error.code, message: error.message }, at);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
  span.setAttribute(ATTRIBUTES.errorCode, error.code);
}

/** The span context a previous process stored in the run's metadata, if it is one. */
function storedContext(value: unknown): SpanContext | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { traceId, spanId, traceFlags } = value as Partial<StoredSpanContext>;
  if (typeof traceId !== 'string' || typeof spanId !== 'string') return undefined;
  const sc: SpanContext = {
    traceId,
    spanId,
    traceFlags: typeof traceFlags === 'number' ? traceFlags : TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : undefined;
}
