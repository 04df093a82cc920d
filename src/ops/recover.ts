import { asStoreError, WorkflowError } from '../errors/WorkflowError.js';
import type { RunHandle } from '../run/RunHandle.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import { follow, isLive, type WorkflowLike } from './registry.js';

export interface RecoverOptions {
  /** The workflows this process runs (an array, or a record of them); stored runs are matched by workflow name. */
  workflows: readonly WorkflowLike<any>[] | Readonly<Record<string, WorkflowLike<any>>>;
  /** Where the runs are; recovered runs checkpoint to it. */
  store: CheckpointStore;
  /** Also resume waiting runs whose first deadline or sleep falls due within this many ms (default 0: due now). */
  within?: number;
  /** Told about each run left alone: no workflow of its name here, or its checkpoint cannot be resumed. */
  onSkip?: (runId: string, reason: WorkflowError) => void;
}

/**
 * Continue the runs a stopped process left behind: every stored run that is `running`, or `waiting` with a
 * deadline or sleep due, is resumed from its checkpoint here and its handle returned. Runs waiting on nothing
 * timed stay in the store until answered (`wf.resumeFrom`); paused runs stay paused. Runs this process has live
 * already are left alone. Two processes recovering one store cannot both advance a run: the store's optimistic
 * concurrency fails the loser's run with `store_conflict` at its first save.
 *
 * @example
 * ```ts
 * import { FileStore, recover } from 'sluice';
 * const store = new FileStore('./.sluice');
 * const runs = await recover({ workflows: [orders, reports], store });
 * console.log(`recovered ${runs.length} runs`, runs.map((r) => r.id));
 * ```
 */
export async function recover(options: RecoverOptions): Promise<RunHandle[]> {
  const { store, within = 0, onSkip } = options;
  if (typeof within !== 'number' || !Number.isFinite(within) || within < 0) {
    throw new WorkflowError('invalid_workflow', `recover(): \`within\` must be a finite number of ms >= 0, not ${String(within)}`);
  }
  const byName = new Map<string, WorkflowLike<any>>();
  const given: unknown = options.workflows;
  const list: unknown[] = Array.isArray(given) ? given : typeof given === 'object' && given !== null ? Object.values(given) : [];
  for (const wf of list) {
    // Duck-typed, like `sluice serve`: a module with its own copy of sluice still gives workflows.
    if (!isWorkflow(wf)) {
      throw new WorkflowError('invalid_workflow', 'recover(): `workflows` must be an array or a record of workflows made with workflow()');
    }
    if (byName.has(wf.name)) throw new WorkflowError('invalid_workflow', `recover(): two workflows are named '${wf.name}'`);
    byName.set(wf.name, wf.withOptions({ store }));
  }
  let summaries;
  try {
    summaries = [...(await store.list({ status: 'running' })), ...(await store.list({ status: 'waiting' }))];
  } catch (error) {
    throw asStoreError(error, 'listing the runs to recover');
  }
  const now = Date.now();
  const recovered: RunHandle[] = [];
  for (const { runId, workflow: name } of summaries) {
    const wf = byName.get(name);
    if (wf === undefined) {
      onSkip?.(runId, new WorkflowError('not_found', `run ${runId}: no workflow '${name}' given to recover()`, { details: { runId, workflow: name } }));
      continue;
    }
    if (isLive(store, runId)) continue;
    let snapshot: Snapshot | undefined;
    try {
      snapshot = await store.load(runId);
    } catch (error) {
      onSkip?.(runId, asStoreError(error, `loading run ${runId}`));
      continue;
    }
    if (snapshot === undefined || !(snapshot.status === 'running' || (snapshot.status === 'waiting' && dueBy(snapshot, now + within)))) continue;
    const stored = snapshot;
    try {
      recovered.push(await follow(store, runId, async () => wf.resume(stored)));
    } catch (error) {
      onSkip?.(runId, WorkflowError.is(error) ? error : asStoreError(error, `resuming run ${runId}`));
    }
  }
  return recovered;
}

/** Whether a waiting run has a deadline or sleep due by `time` (epoch ms). */
function dueBy(snapshot: Snapshot, time: number): boolean {
  return snapshot.waiting.some((w) => {
    const { dueAt, deadline } = w as { dueAt?: unknown; deadline?: unknown };
    return (typeof dueAt === 'number' && dueAt <= time) || (typeof deadline === 'number' && deadline <= time);
  });
}

function isWorkflow(value: unknown): value is WorkflowLike<any> {
  const v = value as Partial<WorkflowLike> | null;
  return typeof v === 'object' && v !== null && typeof v.name === 'string' && typeof v.resume === 'function' && typeof v.withOptions === 'function';
}
