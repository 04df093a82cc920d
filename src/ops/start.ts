import { asStoreError, WorkflowError } from '../errors/WorkflowError.js';
import type { RunHandle } from '../run/RunHandle.js';
import { isTerminal } from '../run/status.js';
import type { Snapshot } from '../snapshot/schema.js';
import { EndedRun, storedEvents } from './endedRun.js';
import { follow, type WorkflowLike } from './registry.js';

type RunOptions = Parameters<WorkflowLike['run']>[1] & {};

/**
 * `wf.start(input, { runId })`: a run of that id at most once. Live in this process → its handle; in the
 * store and not ended → resumed from its checkpoint (a paused run stays paused); ended → a handle settled
 * with its stored outcome; nowhere → a new run.
 */
export function startOnce<R>(wf: WorkflowLike<R>, input: unknown, options: RunOptions): Promise<RunHandle<R>> {
  const { runId } = options;
  if (runId === undefined) return Promise.resolve().then(() => wf.run(input, options));
  if (typeof runId !== 'string' || runId.length === 0) {
    return Promise.reject(new WorkflowError('invalid_workflow', `start(): runId must be a non-empty string, not ${JSON.stringify(runId)}`));
  }
  const { store } = wf.options;
  return follow(store, runId, async () => {
    if (store === undefined) return wf.run(input, options);
    let snapshot: Snapshot | undefined;
    try {
      snapshot = await store.load(runId);
    } catch (error) {
      throw asStoreError(error, `loading run ${runId}`);
    }
    if (snapshot === undefined) return wf.run(input, options);
    if (snapshot.workflow !== wf.name) {
      throw new WorkflowError('invalid_snapshot', `run id '${runId}' is a run of workflow '${snapshot.workflow}', not '${wf.name}'`, {
        details: { runId, workflow: snapshot.workflow },
      });
    }
    if (isTerminal(snapshot.status)) return new EndedRun<R>(snapshot, await storedEvents(store, snapshot));
    const run = wf.resume(snapshot);
    if (snapshot.status === 'paused') run.pause().catch(() => undefined);
    return run;
  });
}
