import { WorkflowError } from '../errors/WorkflowError.js';
import type { Snapshot } from './schema.js';
import { isTerminal } from './status.js';

/**
 * Pure: the snapshot a retry resumes from, made from the terminal checkpoint of a `failed` or `timed_out`
 * run. It is running again, without its `outcome`; its `inFlight` entries (the failed invocation, kept by the
 * final checkpoint, and those the end cancelled) are re-delivered with their invocation ids. A `failed` run
 * keeps its `elapsedMs`, so the workflow timeout still bounds its total running time; a `timed_out` run
 * starts a fresh budget (`elapsedMs` 0). Child snapshots of children that had ended are dropped: their
 * step, re-delivered, starts a new child. Throws `not_running` for any other status.
 *
 * @example
 * ```ts
 * retrySnapshot({ ...failed, status: 'failed' }).status // 'running'
 * ```
 */
export function retrySnapshot(snapshot: Snapshot): Snapshot {
  if (snapshot.status !== 'failed' && snapshot.status !== 'timed_out') {
    throw new WorkflowError(
      'not_running',
      `run ${snapshot.runId} is ${snapshot.status}: only a failed or timed-out run can be retried` +
        (isTerminal(snapshot.status) ? '' : ' (a live run is resumed with resume(), not retried)'),
      { details: { runId: snapshot.runId, status: snapshot.status } },
    );
  }
  const { outcome: _outcome, ...rest } = snapshot;
  const children = Object.fromEntries(Object.entries(snapshot.children).filter(([, child]) => !isTerminal(child.status)));
  return { ...rest, status: 'running', elapsedMs: snapshot.status === 'timed_out' ? 0 : snapshot.elapsedMs, children };
}
