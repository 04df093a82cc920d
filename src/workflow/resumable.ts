import { asStoreError, describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import { isTerminal } from '../snapshot/status.js';
import { checkSnapshotAgainst, checkSnapshotJson } from '../snapshot/check.js';
import { retrySnapshot } from '../snapshot/retry.js';
import { readSnapshot, type Snapshot } from '../snapshot/schema.js';
import { Handle } from '../run/handle.js';
import type { RunEvent } from '../telemetry/runEvent.js';
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
): { snapshot: Snapshot; history: RunEvent[] } {
  checkSnapshotJson(snapshot);
  const read = readSnapshot(snapshot, name);
  let snap = read.snapshot;
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
    snap = readSnapshot(migrated, name).snapshot;
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
  checkSnapshotAgainst(spec, { ...snap, history: read.history }); // a version-1 history must not run past its seq
  return { snapshot: snap, history: read.history };
}

/**
 * Continue a run from a snapshot (`wf.resume`, `wf.resumeFrom`, `wf.retry`). Its `events$` first replays
 * what came before (DESIGN §6.6), bounded by `replay`: a version-1 snapshot's own history (which its first
 * checkpoint also writes to the journal), else the journal of `store` (the one it was loaded from, or the
 * workflow's).
 */
export function resumeRun(spec: WorkflowSpec, snapshot: unknown, options: { migrate?: ((s: Snapshot) => Snapshot) | undefined; retry: boolean; store?: CheckpointStore | undefined }): Handle {
  try {
    const { snapshot: snap, history } = resumable(spec.name, spec, snapshot, options.migrate, options.retry);
    const store = options.store ?? spec.options.store;
    const replay = spec.options.replay ?? 10_000;
    const earlier =
      history.length > 0 ? Promise.resolve(history) : store === undefined ? undefined : store.events(snap.runId, { afterSeq: Math.max(0, snap.seq - replay) });
    return new Handle(spec, { kind: 'resume', snapshot: snap, retry: options.retry, history, ...(earlier === undefined ? {} : { earlier }) });
  } catch (error) {
    if (WorkflowError.is(error)) throw error;
    throw new WorkflowError('invalid_snapshot', `this snapshot cannot be resumed: ${describeThrown(error)}`, { cause: error });
  }
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
