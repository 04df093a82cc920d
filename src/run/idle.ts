import { WorkflowError } from '../errors/WorkflowError.js';
import type { RunEventBody } from '../telemetry/runEvent.js';

/** What a run does when it has gone idle (DESIGN §6.6 "Idle"). */
export type OnIdle = 'wait' | 'fail';

/** The run's work at a settle, as far as idleness goes. */
export interface IdleView {
  /** Dispatch is under way or has not started yet: the counts below are not final. */
  readonly dispatching: boolean;
  /** Paused, or an outcome is due: an idle report would be wrong or late. */
  readonly holding: boolean;
  /** Envelopes queued, delivered but not started (limits, rate windows, debounces), and invocations in flight. */
  readonly queued: number;
  readonly held: number;
  readonly inFlight: number;
  /** Open input requests, sleeps and `waitFor`s. */
  readonly waits: number;
}

/** An {@link IdleWatch}'s counters, carried by a parked run. */
export interface IdleState {
  readonly work: number;
  readonly reportedAt: number;
  readonly lastStep: string | undefined;
  readonly report: { since: number; lastStep?: string } | undefined;
}

/** What the watch calls on its run. */
export interface IdleHost {
  readonly log: { emit(body: RunEventBody): { readonly at: number } };
  fail(error: WorkflowError): void;
}

/**
 * Pipe steps as idleness sees them. A pipe step's operator may hold events (a buffer, a debounce, a delay)
 * behind a timer on any scheduler, where the run cannot see it. So a pipe step counts as busy from an event
 * it receives until its next output: `bufferTime`, `debounceTime`, `delay` of one event… are never mistaken
 * for idle. The cost of the rule: a pipe step that swallows an event for good (a `filter` that drops it, a
 * `bufferCount` never filled) keeps its run from being reported idle.
 */
export class PipeActivity {
  private waiting: Set<string> | undefined; // made by the first pipe step's first event

  get busy(): boolean {
    return this.waiting !== undefined && this.waiting.size > 0;
  }

  received(step: string): void {
    (this.waiting ??= new Set()).add(step);
  }

  emitted(step: string): void {
    this.waiting?.delete(step);
  }
}

/**
 * Reports a run with nothing left to do (DESIGN §6.6 "Idle"): nothing queued, held by a step's flow control,
 * in flight, waiting or sleeping, and no pipe step busy (see {@link PipeActivity}). It emits `run_idle` once,
 * and again only after some work started in between (an invocation began or a pipe step received an event,
 * e.g. after `run.send`), naming the step that last completed without producing an event. With
 * `onIdle: 'fail'` the run then fails with `stalled`.
 */
export class IdleWatch {
  readonly pipes = new PipeActivity();
  /** Work started so far (invocations begun, events into pipe steps); idleness is reported once per value. */
  private work = 0;
  private reportedAt = -1;
  private lastStep: string | undefined;
  /** What the latest report said (valid while no work has started since). */
  private report: { since: number; lastStep?: string } | undefined;
  /** Invocations that produced an event before completing (streamed outputs, `ctx.send`); made on first use. */
  private productive: WeakSet<object> | undefined;

  constructor(
    private readonly workflow: string,
    private readonly onIdle: OnIdle,
    private readonly host: IdleHost,
  ) {}

  /** An invocation began or a pipe step received an event. */
  started(): void {
    this.work++;
  }

  /** A pipe step received an event (see {@link PipeActivity}). */
  piped(step: string): void {
    this.work++;
    this.pipes.received(step);
  }

  /** An invocation produced an event before its last output (an Observable step's emission, `ctx.send`). */
  produced(invocation: object): void {
    (this.productive ??= new WeakSet()).add(invocation);
  }

  /** A step invocation completed; `output`: its final batch held events. The last one without output is named. */
  completed(invocation: { readonly step: { readonly name: string } }, output: boolean): void {
    if (!output && this.productive?.has(invocation) !== true) this.lastStep = invocation.step.name;
  }

  /** While the run is idle: since when (the `run_idle` event's time) and the step it named; for snapshots. */
  get current(): { since: number; lastStep?: string } | undefined {
    return this.reportedAt === this.work ? this.report : undefined;
  }

  /** What a parked run keeps of this watch; undefined when nothing was reported or named yet. */
  get state(): IdleState | undefined {
    if (this.reportedAt < 0 && this.lastStep === undefined) return undefined;
    return { work: this.work, reportedAt: this.reportedAt, lastStep: this.lastStep, report: this.report };
  }

  /** Continue from a parked run's watch: a report is neither repeated nor forgotten. */
  carry(state: IdleState | undefined): void {
    if (state === undefined) return;
    ({ work: this.work, reportedAt: this.reportedAt, lastStep: this.lastStep, report: this.report } = state);
  }

  /** Called at each settle of the run: report idleness once per stretch of it. */
  check(view: IdleView): void {
    if (this.reportedAt === this.work || !isIdle(view, this.pipes.busy)) return;
    this.reportedAt = this.work;
    const lastStep = this.lastStep;
    const { at } = this.host.log.emit(lastStep === undefined ? { kind: 'run_idle' } : { kind: 'run_idle', lastStep });
    this.report = lastStep === undefined ? { since: at } : { since: at, lastStep };
    if (this.onIdle === 'fail') this.host.fail(stalledError(this.workflow, lastStep));
  }
}

/** Pure: whether a run with this view has nothing left to do. */
export function isIdle(view: IdleView, pipesBusy: boolean): boolean {
  return !view.dispatching && !view.holding && !pipesBusy && view.queued + view.held + view.inFlight + view.waits === 0;
}

/** The `stalled` error of an idle run under `onIdle: 'fail'`. */
export function stalledError(workflow: string, lastStep: string | undefined): WorkflowError {
  const last = lastStep === undefined ? '' : ` The last step to complete without output was '${lastStep}'.`;
  return new WorkflowError(
    'stalled',
    `workflow '${workflow}' stalled: nothing is queued, running, waiting or sleeping, and no step returned a StopEvent.${last} ` +
      `Did a step forget to return StopEvent.of({ result })? (With onIdle: 'wait', the default, an idle run stays open for run.send().)`,
    { details: lastStep === undefined ? {} : { lastStep } },
  );
}
