/* What a job does to a run it holds (or finds resting): answer, control, and the small outcomes around them. */
import { DelayedError, type Job } from 'bullmq';
import { WorkflowError, type ErrorInfo, type WorkflowErrorCode } from '../errors/WorkflowError.js';
import type { RunHandle } from '../run/RunHandle.js';
import { isTerminal } from '../run/status.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import type { JobStore } from './JobStore.js';
import type { ControlOp, JobData, JobOutcome } from './protocol.js';

/** The control a job asks for: a control job's op, or a plain `resume` (not a deadline check). */
export function controlOf(data: JobData): ControlOp | undefined {
  if (data.kind === 'control') return data.op;
  if (data.kind === 'resume' && data.expiring === undefined) return { type: 'resume' };
  return undefined;
}

/**
 * Apply a control to a run held here. A sent event is acknowledged only once a checkpoint holding it is
 * stored (so a worker dying right after loses nothing it acknowledged). A run that has ended refuses with
 * `not_running`; `pause` takes effect at once (no new dispatch), its in-flight steps settle afterwards.
 */
export async function applyControl(run: RunHandle, jobStore: JobStore | undefined, op: ControlOp): Promise<JobOutcome> {
  if (isTerminal(run.status)) return refused(run.id, run.status, 'not_running', `run '${run.id}' already ended (${run.status})`);
  try {
    switch (op.type) {
      case 'pause':
        run.pause().catch(() => undefined); // rejects only if the run ends first, which its own events tell
        break;
      case 'resume':
        run.resume();
        break;
      case 'abort':
        run.abort(op.reason);
        break;
      case 'send':
        run.send(op.event);
        await jobStore?.checkpoint(run.snapshot());
        break;
    }
    return { runId: run.id, status: run.status };
  } catch (error) {
    if (WorkflowError.is(error)) return { runId: run.id, status: run.status, refused: error.toInfo() };
    throw error;
  }
}

/** Answer a request of a run held here; a refusal (unknown id, run over) completes the job with it. */
export function respond(run: RunHandle, requestId: string, response: unknown): JobOutcome {
  try {
    run.respond(requestId, response);
    return { runId: run.id, status: run.status };
  } catch (error) {
    if (WorkflowError.is(error)) return { runId: run.id, status: run.status, refused: error.toInfo() };
    throw error;
  }
}

export function refused(runId: string, status: JobOutcome['status'], code: WorkflowErrorCode, message: string): JobOutcome {
  const info: ErrorInfo = { code, message };
  return { runId, status, refused: info };
}

/** Put the job back in the queue after `ms` without counting an attempt, to be looked at afresh. */
export async function later(job: Job<JobData, JobOutcome>, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, token);
  throw new DelayedError();
}

/** How long to wait before looking again at a run held elsewhere: a quarter of the time asked so far, 50 ms to 2 s. */
export const backoff = (since: number): number => Math.min(2_000, Math.max(50, (Date.now() - since) / 4));

/**
 * The snapshot of a run that waited, parked, since its last event, with that time taken off its input
 * deadlines (the engine counts waiting time against them; a parked run has nobody counting).
 */
export function clockParkedTime(snapshot: Snapshot, now: number, since: number | undefined): Snapshot {
  if (since === undefined || !snapshot.waiting.some((w) => w.remainingMs !== undefined)) return snapshot;
  const parked = Math.max(0, now - since);
  return {
    ...snapshot,
    waiting: snapshot.waiting.map((w) => (w.remainingMs === undefined ? w : { ...w, remainingMs: Math.max(0, w.remainingMs - parked) })),
  };
}

/** When the run's last RunEvent (the one its stored snapshot ends at) happened, from the store's journal. */
export async function lastEventAt(store: CheckpointStore, snapshot: Snapshot): Promise<number | undefined> {
  const [last] = await store.events(snapshot.runId, { afterSeq: Math.max(0, snapshot.seq - 1) });
  return last?.at;
}

/**
 * In how many ms the first wait of a parked run is due: an input (or event) deadline's remaining time, or a
 * sleep's absolute `dueAt` (snapshot version 2); `undefined` when nothing is timed.
 */
export function firstDue(snapshot: Snapshot, now: number): number | undefined {
  const due = snapshot.waiting.flatMap((w) => {
    const dueAt = (w as { dueAt?: unknown }).dueAt;
    if (typeof dueAt === 'number') return [Math.max(0, dueAt - now)];
    return w.remainingMs === undefined ? [] : [w.remainingMs];
  });
  return due.length === 0 ? undefined : Math.min(...due);
}
