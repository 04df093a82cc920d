import type { Level, Logger } from 'pino';
import type { Observable, Subscription } from 'rxjs';
import type { RunEvent, RunEventKind } from './runEvent.js';
import { currentSegment } from './segment.js';

/** The level each RunEvent is logged at: routing is debug, run start/end info, retries warn, failures error. */
export const LOG_LEVELS: Readonly<Record<RunEventKind, Level>> = {
  run_started: 'info',
  run_resumed: 'info',
  run_paused: 'info',
  run_completed: 'info',
  run_failed: 'error',
  run_timed_out: 'error',
  run_aborted: 'warn',
  run_idle: 'warn',
  event_routed: 'debug',
  event_dropped: 'debug',
  step_started: 'debug',
  step_completed: 'debug',
  step_retried: 'warn',
  step_failed: 'error',
  input_requested: 'info',
  input_received: 'info',
  checkpoint_saved: 'trace',
  checkpoint_failed: 'warn',
  stream: 'trace',
  child: 'debug',
  gap: 'warn',
};

const MESSAGES: Readonly<Record<RunEventKind, string>> = {
  run_started: 'run started',
  run_resumed: 'run resumed',
  run_paused: 'run paused',
  run_completed: 'run completed',
  run_failed: 'run failed',
  run_timed_out: 'run timed out',
  run_aborted: 'run aborted',
  run_idle: 'run idle: nothing is queued, running, waiting or sleeping; did a step forget to return a StopEvent?',
  event_routed: 'event routed',
  event_dropped: 'event dropped',
  step_started: 'step started',
  step_completed: 'step completed',
  step_retried: 'step attempt failed, retrying',
  step_failed: 'step failed',
  input_requested: 'input requested',
  input_received: 'input received',
  checkpoint_saved: 'checkpoint saved',
  checkpoint_failed: 'checkpoint failed',
  stream: 'stream event',
  child: 'sub-workflow event',
  gap: 'events missed',
};

/** Which run the log lines belong to. */
export interface LoggedRun {
  readonly runId: string;
  readonly workflow: string;
}

/**
 * Log a run's lifecycle to a pino logger, one line per RunEvent at its {@link LOG_LEVELS} level, with the
 * fields `runId`, `workflow`, `seq`, `kind`, and `step`, `invocationId`, `eventType`, `attempt`, `durationMs`,
 * `error: { code, message }`… where the event has them. A level the logger has disabled costs one
 * `isLevelEnabled` call per event: no object is built. A resumed run logs from its `run_resumed` on (the
 * history it carries was logged by the process that ran it). A throwing logger never disturbs the run.
 *
 * The engine calls this for you when the workflow's `logger` option is set; without it nothing subscribes.
 *
 * @example
 * ```ts
 * const wf = workflow('qa', { logger: pino({ level: 'debug' }) }); // or, for any run:
 * attachLogger(pino(), run.events$, { runId: run.id, workflow: 'qa' });
 * ```
 */
export function attachLogger(logger: Logger, events$: Observable<RunEvent>, run: LoggedRun): Subscription {
  let startedAt: number | undefined;
  return currentSegment(events$).subscribe((ev) => {
    startedAt ??= ev.at;
    const level = LOG_LEVELS[ev.kind];
    try {
      if (!logger.isLevelEnabled(level)) return;
      logger[level](fields(ev, run, startedAt), ev.kind === 'run_idle' ? idleMessage(ev.lastStep) : MESSAGES[ev.kind]);
    } catch {
      // Logging is a bystander: a broken destination must not fail or stall the run.
    }
  });
}

function fields(ev: RunEvent, run: LoggedRun, startedAt: number): Record<string, unknown> {
  const base = { runId: run.runId, workflow: run.workflow, seq: ev.seq, kind: ev.kind };
  switch (ev.kind) {
    case 'event_routed':
      return { ...base, eventType: ev.event.type, ...(ev.source === undefined ? {} : { source: ev.source }), steps: ev.steps };
    case 'event_dropped':
      return { ...base, step: ev.step, eventType: ev.event.type, reason: ev.reason };
    case 'step_started':
      return { ...base, ...stepFields(ev), attempt: ev.attempt };
    case 'step_completed':
      return { ...base, ...stepFields(ev), durationMs: ev.durationMs };
    case 'step_retried':
      return { ...base, ...stepFields(ev), attempt: ev.attempt, error: ev.error };
    case 'step_failed':
      return { ...base, ...stepFields(ev), durationMs: ev.durationMs, error: ev.error };
    case 'input_requested':
      return { ...base, requestId: ev.requestId, ...(ev.deadline === undefined ? {} : { deadline: ev.deadline }) };
    case 'input_received':
      return { ...base, requestId: ev.requestId };
    case 'checkpoint_failed':
      return { ...base, error: ev.error, consecutive: ev.consecutive };
    case 'stream':
      return { ...base, eventType: ev.event.type, ...(ev.step === undefined ? {} : { step: ev.step }) };
    case 'child':
      return { ...base, step: ev.step, invocationId: ev.invocationId, childRunId: ev.childRunId, childKind: ev.event.kind };
    case 'run_completed':
      return { ...base, durationMs: ev.at - startedAt };
    case 'run_failed':
    case 'run_timed_out':
    case 'run_aborted':
      return { ...base, durationMs: ev.at - startedAt, error: ev.error };
    case 'gap':
      return { ...base, missed: ev.missed };
    case 'run_idle':
      return ev.lastStep === undefined ? base : { ...base, step: ev.lastStep };
    case 'run_started':
    case 'run_resumed':
    case 'run_paused':
    case 'checkpoint_saved':
      return base;
  }
}

/** The idle warning names the step whose output led nowhere, the usual culprit. */
function idleMessage(lastStep: string | undefined): string {
  const after = lastStep === undefined ? '' : ` (step '${lastStep}' completed without output)`;
  return `run idle: nothing is queued, running, waiting or sleeping${after}; did a step forget to return a StopEvent?`;
}

function stepFields(ev: { step: string; invocationId: string; type: string }) {
  return { step: ev.step, invocationId: ev.invocationId, eventType: ev.type };
}
