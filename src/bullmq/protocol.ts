/*
 * What the dispatcher and the workers agree on: the jobs, what a finished job returns, and where in Redis a
 * run's events and result live.
 */
import type { JobsOptions } from 'bullmq';
import type { ErrorInfo } from '../errors/WorkflowError.js';
import type { WorkflowEvent } from '../events/event.js';
import type { RunStatus } from '../run/status.js';

/** The BullMQ queue both sides use unless told otherwise. */
export const DEFAULT_QUEUE = 'sluice';

/** Prepended to sluice's own keys and channels (BullMQ keeps its keys under its own `bull:` prefix). */
export const DEFAULT_PREFIX = 'sluice:';

/**
 * Options of the jobs sluice adds: 5 attempts with exponential backoff from 1 s (for a worker whose store is
 * down), completed jobs kept a day, failed ones a week.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * One job: start a run, continue one from its checkpoint, answer one of its input requests, or control it.
 * A start job added by a schedule carries `schedule` (its id) and an empty `runId`: the worker names the run
 * after the schedule and the firing's time ({@link scheduledRunId}), so a retried firing is the same run.
 */
export type JobData =
  | { kind: 'start'; runId: string; workflow: string; input: unknown; schedule?: string }
  /** `expiring`: the seq of a parked checkpoint whose deadlines or sleeps are due now (a worker schedules these). */
  | { kind: 'resume'; runId: string; expiring?: number }
  | { kind: 'respond'; runId: string; requestId: string; response: unknown; since: number }
  | { kind: 'control'; runId: string; op: ControlOp; since: number };

/** What a remote `pause`, `abort`, `send` or `resume` asks of a run. */
export type ControlOp =
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'abort'; reason?: unknown }
  | { type: 'send'; event: WorkflowEvent };

export type JobKind = JobData['kind'];

/**
 * What a job returns: the run's status when the job let go of it (`waiting`/`paused`: parked in the store,
 * or terminal). `refused` when a respond or resume could not apply (unknown request, run over, no such run).
 */
export interface JobOutcome {
  runId: string;
  status: RunStatus | 'unknown';
  refused?: ErrorInfo;
}

/** The progress a respond or resume job reports once the run has taken the answer or been resumed. */
export const ACCEPTED = { accepted: true } as const;

export const isAccepted = (progress: unknown): boolean =>
  typeof progress === 'object' && progress !== null && (progress as { accepted?: unknown }).accepted === true;

/** The terminal record of a run, written once next to its last event. */
export type ResultRecord =
  | { status: 'completed'; result: unknown; seq: number }
  | { status: 'failed' | 'aborted' | 'timed_out'; error: ErrorInfo; seq: number };

/**
 * A run's keys: a Stream of its RunEvents (entry id `0-<seq>`, field `e` = the event's JSON), its result,
 * and the pub/sub channel rung after each append. The run id is a hash tag, so on Redis Cluster a run's
 * keys share a slot.
 */
export interface RunKeys {
  events: string;
  result: string;
  channel: string;
}

export function runKeys(prefix: string, runId: string): RunKeys {
  const base = `${prefix}{${runId}}`;
  return { events: `${base}:events`, result: `${base}:result`, channel: `${base}:events` };
}

/**
 * The job id of a run's start job, so starting one run id twice enqueues it once. BullMQ refuses ids with
 * `:` and integer-looking ones; URI-encoding (`:` → `%3A`) and the `start-` prefix rule both out.
 */
export const startJobId = (runId: string): string => `start-${encodeURIComponent(runId)}`;

/** The job id of the deadline check of a run parked at checkpoint `seq` (one per parking). */
export const expiryJobId = (runId: string, seq: number): string => `expire-${encodeURIComponent(runId)}-${seq}`;

/**
 * The run id of one firing of a schedule: the schedule id and the firing's due time (epoch ms), which BullMQ
 * puts at the end of the job id (`repeat:<scheduleId>:<millis>`).
 */
export function scheduledRunId(schedule: string, jobId: string | undefined): string {
  const millis = jobId?.slice(jobId.lastIndexOf(':') + 1) ?? '';
  return `${schedule}-${/^\d+$/.test(millis) ? millis : String(Date.now())}`;
}

/**
 * The pub/sub channels of remote control: every worker listens on `requests` for control of runs it may
 * hold, and on `replies(workerId)` for the answers to what it asked itself.
 */
export const controlChannels = (prefix: string) => ({
  requests: `${prefix}control`,
  replies: (workerId: string) => `${prefix}control:${workerId}`,
});
