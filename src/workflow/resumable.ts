import { asStoreError, describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import { isTerminal } from '../snapshot/status.js';
import { checkSnapshotAgainst, checkSnapshotJson } from '../snapshot/check.js';
import { retrySnapshot } from '../snapshot/retry.js';
import { parseSnapshot, type Snapshot } from '../snapshot/schema.js';
import { versionChanges } from './edges.js';
import type { WorkflowSpec } from './spec.js';

/**
 * A snapshot checked for resuming with this workflow: its shape, its version (upgraded by `migrate` when it
 * differs), that the run has not ended, and that it fits the workflow's steps. Throws coded `WorkflowError`s.
 */
export function resumable(
  name: string,
  spec: WorkflowSpec,
  snapshot: unknown,
  migrate: ((s: Snapshot) => Snapshot) | undefined,
  retry = false,
): Snapshot {
  checkSnapshotJson(snapshot);
  let snap = parseSnapshot(snapshot, name);
  if (snap.workflowVersion !== spec.version) {
    if (migrate === undefined) {
      const changes = versionChanges(snap, spec.steps);
      const steps = spec.steps.map((s) => `${s.name} [${s.accepts.join(', ')}]`).join(', ');
      throw new WorkflowError(
        'snapshot_version',
        `snapshot of '${name}' was taken with workflow version ${snap.workflowVersion}, this one is ${spec.version} ` +
          `(steps now: ${steps}). ` +
          (changes.length === 0
            ? 'Its in-flight and queued events still fit these steps; if resuming it is safe, pass { migrate: (s) => ({ ...s, workflowVersion: wf.version }) }'
            : `What it needs changed: ${changes.join('; ')}. Pass { migrate } to move those events to the new steps`),
        { details: { snapshot: snap.workflowVersion, workflow: spec.version, changes } },
      );
    }
    let migrated: unknown;
    try {
      migrated = migrate(snap);
    } catch (error) {
      throw new WorkflowError('snapshot_version', `migrate() failed for run ${snap.runId}: ${describeThrown(error)}`, {
        cause: error,
      });
    }
    checkSnapshotJson(migrated);
    snap = parseSnapshot(migrated, name);
    if (snap.workflowVersion !== spec.version) {
      throw new WorkflowError(
        'snapshot_version',
        `migrate() returned workflow version ${snap.workflowVersion}, but this workflow is ${spec.version}`,
        { details: { snapshot: snap.workflowVersion, workflow: spec.version } },
      );
    }
  }
  if (retry) snap = retrySnapshot(snap);
  if (isTerminal(snap.status)) {
    throw new WorkflowError('not_running', `run ${snap.runId} already ended (${snap.status}); nothing to resume (a failed or timed-out run can be retried: wf.retry(store, runId))`);
  }
  checkSnapshotAgainst(spec, snap);
  return snap;
}

/** A run's latest checkpoint; rejects `not_found` for an unknown id and `store_failed` when the store fails. */
export async function loadCheckpoint(store: CheckpointStore, runId: string): Promise<Snapshot> {
  let snapshot: Snapshot | undefined;
  try {
    snapshot = await store.load(runId);
  } catch (error) {
    throw asStoreError(error, `loading run ${runId}`);
  }
  if (snapshot === undefined) throw new WorkflowError('not_found', `no checkpoint for run ${runId}`, { details: { runId } });
  return snapshot;
}
