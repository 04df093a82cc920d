import type { ErrorInfo } from '../errors/WorkflowError.js';
import type { WorkflowEvent } from '../events/event.js';

/** Fields every RunEvent carries. `seq` counts 1, 2, 3… per run and continues after resume. */
interface Base {
  readonly runId: string;
  readonly seq: number;
  readonly at: number;
}

/**
 * A step's error in `step_failed` and `step_retried`: the error's code, message and step, plus — when a step
 * threw an `Error` — its stack (cut to 4 096 characters) and its `cause` (name and message, cut to 1 000), so
 * a journal stays bounded.
 */
export interface StepErrorInfo extends ErrorInfo {
  stack?: string;
  cause?: { name: string; message: string };
}

interface StepBase extends Base {
  readonly step: string;
  readonly invocationId: string;
  /** The type of the event the step was invoked with. */
  readonly type: string;
}

export type RunEvent =
  | (Base & { kind: 'run_started'; workflow: string; input: unknown })
  /** `invocationId`: the invocation that produced the event, when a step invocation did; `waiters`: the waits it met. */
  | (Base & { kind: 'event_routed'; event: WorkflowEvent; source?: string; invocationId?: string; steps: string[]; waiters?: string[] })
  /** A debounced event superseded by a newer one of the same key (DESIGN §6.3): it never starts. */
  | (Base & { kind: 'event_dropped'; step: string; event: WorkflowEvent; reason: 'debounced' })
  | (StepBase & { kind: 'step_started'; attempt: number })
  | (StepBase & { kind: 'step_completed'; durationMs: number })
  | (StepBase & { kind: 'step_failed'; error: StepErrorInfo; durationMs: number })
  | (StepBase & { kind: 'step_retried'; attempt: number; error: StepErrorInfo })
  | (Base & { kind: 'run_paused' })
  /** `retry`: the run was resumed from the terminal checkpoint of a failed or timed-out run (`wf.retry`). */
  | (Base & { kind: 'run_resumed'; retry?: true })
  | (Base & { kind: 'input_requested'; requestId: string; prompt: string; metadata: unknown; deadline?: number })
  | (Base & { kind: 'input_received'; requestId: string })
  | (Base & { kind: 'checkpoint_saved' })
  | (Base & { kind: 'checkpoint_failed'; error: ErrorInfo; consecutive: number })
  | (Base & { kind: 'stream'; event: WorkflowEvent; step?: string })
  /** A RunEvent of a sub-workflow run, tagged with the parent step and the child's run id. */
  | (Base & { kind: 'child'; step: string; invocationId: string; childRunId: string; event: RunEvent })
  /**
   * Nothing is queued, running, waiting or sleeping and no pipe step is busy, yet the run has not ended (DESIGN
   * §6.6 "Idle"; typically a step forgot to return a StopEvent). Emitted once per idle stretch; `lastStep` is the
   * step that last completed without producing an event. With `onIdle: 'fail'` a `run_failed` (`stalled`) follows.
   */
  | (Base & { kind: 'run_idle'; lastStep?: string })
  | (Base & { kind: 'run_completed'; result: unknown })
  | (Base & { kind: 'run_failed'; error: ErrorInfo })
  | (Base & { kind: 'run_aborted'; error: ErrorInfo })
  | (Base & { kind: 'run_timed_out'; error: ErrorInfo })
  | (Base & { kind: 'gap'; missed: number });

export type RunEventKind = RunEvent['kind'];

/** A RunEvent before the run stamps it with `runId`, `seq` and `at`. */
export type RunEventBody = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, keyof Base> : never) : never;

/** The RunEvent of one kind. */
export type RunEventOf<K extends RunEventKind> = Extract<RunEvent, { kind: K }>;

export const TERMINAL_KINDS: ReadonlySet<RunEventKind> = new Set([
  'run_completed',
  'run_failed',
  'run_aborted',
  'run_timed_out',
]);
