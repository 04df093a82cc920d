/* Schedules (BullMQ job schedulers whose jobs start runs) and failed runs, as the dispatcher reports them. */
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { WorkflowError } from '../errors/WorkflowError.js';
import { runKeys, scheduledRunId, type JobData, type JobOutcome } from './protocol.js';

/** When a schedule fires: every `every` ms, or on a cron `pattern` (optionally in time zone `tz`). */
export type ScheduleTiming = { every: number; pattern?: never; tz?: never } | { pattern: string; tz?: string; every?: never };

/** A schedule: its timing and the input of each run it starts. */
export type ScheduleOptions = ScheduleTiming & {
  /** The input of every run the schedule starts. */
  input?: unknown;
  /** Stop after this many firings. */
  limit?: number;
};

/** One schedule as `dispatcher.schedules()` lists it. */
export interface ScheduleInfo {
  id: string;
  workflow: string;
  every?: number;
  pattern?: string;
  tz?: string;
  input?: unknown;
  /** Epoch ms of the next firing (absent once a `limit` is reached). */
  next?: number;
  /** Firings so far. */
  iterations: number;
}

/** A run whose job failed for good and which has no outcome: nobody is running it. */
export interface FailedRun {
  runId: string;
  /** The job that failed: `start` (the run may not exist at all), `resume`, `respond` or `control`. */
  job: JobData['kind'];
  jobId: string;
  /** BullMQ's failure reason (the error message of the last attempt). */
  reason: string;
  attempts: number;
  /** Epoch ms of the last failed attempt. */
  failedAt: number;
  /** The workflow, for a start job. */
  workflow?: string;
}

type RunQueue = Queue<JobData, JobOutcome>;

export async function upsertSchedule(queue: RunQueue, id: string, workflow: string, options: ScheduleOptions, jobOptions: JobsOptions): Promise<void> {
  if (typeof id !== 'string' || id.length === 0 || id.includes(':')) {
    throw new WorkflowError('invalid_workflow', `schedule id ${JSON.stringify(id)}: give a non-empty string without ':'`);
  }
  const { every, pattern } = options as { every?: unknown; pattern?: unknown };
  if ((every === undefined) === (pattern === undefined)) {
    throw new WorkflowError('invalid_workflow', `schedule '${id}': give exactly one of \`every\` (ms) or \`pattern\` (cron)`);
  }
  if (every !== undefined && !(typeof every === 'number' && Number.isSafeInteger(every) && every > 0)) {
    throw new WorkflowError('invalid_workflow', `schedule '${id}': \`every\` must be a positive whole number of ms, not ${String(every)}`);
  }
  if (pattern !== undefined && (typeof pattern !== 'string' || pattern.trim() === '')) {
    throw new WorkflowError('invalid_workflow', `schedule '${id}': \`pattern\` must be a cron expression`);
  }
  const { input, limit, tz } = options as ScheduleOptions & { tz?: string };
  const { jobId: _jobId, delay: _delay, repeat: _repeat, deduplication: _d, debounce: _b, ...opts } = jobOptions;
  const repeat = {
    ...(every !== undefined ? { every: every as number } : { pattern: pattern as string }),
    ...(tz === undefined ? {} : { tz }),
    ...(limit === undefined ? {} : { limit }),
  };
  const data: JobData = { kind: 'start', runId: '', workflow, input, schedule: id };
  await queue.upsertJobScheduler(id, repeat, { name: 'start', data, opts });
}

export async function listSchedules(queue: RunQueue): Promise<ScheduleInfo[]> {
  const schedulers = await queue.getJobSchedulers(0, -1, true);
  return schedulers.map((s) => {
    const data = s.template?.data as Extract<JobData, { kind: 'start' }> | undefined;
    const info: ScheduleInfo = { id: s.id ?? s.key, workflow: data?.workflow ?? '', iterations: s.iterationCount ?? 0 };
    if (s.every !== undefined && s.every !== null) info.every = Number(s.every);
    if (s.pattern !== undefined && s.pattern !== null) info.pattern = s.pattern;
    if (s.tz !== undefined && s.tz !== null) info.tz = s.tz;
    if (data !== undefined && data.input !== undefined) info.input = data.input;
    if (s.next !== undefined && s.next !== null) info.next = Number(s.next);
    return info;
  });
}

/** Runs whose latest failed job failed for good and which have no result: the newest failure of each. */
export async function failedRuns(queue: RunQueue, redis: Redis, prefix: string): Promise<FailedRun[]> {
  const jobs = await queue.getFailed(0, -1);
  const byRun = new Map<string, FailedRun>();
  for (const job of jobs) {
    if (job?.id === undefined || job.data === undefined) continue;
    const { data } = job;
    const runId = data.kind === 'start' && data.schedule !== undefined && data.runId === '' ? scheduledRunId(data.schedule, job.id) : data.runId;
    const failed: FailedRun = {
      runId,
      job: job.data.kind,
      jobId: job.id,
      reason: job.failedReason,
      attempts: job.attemptsMade,
      failedAt: job.finishedOn ?? job.processedOn ?? job.timestamp,
    };
    if (job.data.kind === 'start') failed.workflow = job.data.workflow;
    const known = byRun.get(runId);
    if (known === undefined || known.failedAt < failed.failedAt) byRun.set(runId, failed);
  }
  const runs = [...byRun.values()];
  const ended = await Promise.all(runs.map((r) => redis.exists(runKeys(prefix, r.runId).result)));
  return runs.filter((_, i) => ended[i] === 0).sort((a, b) => a.failedAt - b.failedAt);
}
