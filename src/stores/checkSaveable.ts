import { WorkflowError } from '../errors/WorkflowError.js';
import { isRunStatus } from '../snapshot/status.js';
import type { Snapshot } from '../snapshot/schema.js';

/** The fields the key and the index columns come from; without them a save could never be found or listed. */
export function checkSaveable(snapshot: Snapshot, store: string): void {
  const value = snapshot as unknown as Record<string, unknown> | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value['runId'] !== 'string' ||
    value['runId'].length === 0 ||
    typeof value['workflow'] !== 'string' ||
    !isRunStatus(value['status']) ||
    !Number.isSafeInteger(value['seq']) ||
    (value['seq'] as number) < 0
  ) {
    throw new WorkflowError(
      'invalid_snapshot',
      `${store}: a snapshot needs a non-empty runId, a workflow, a known status and a non-negative integer seq`,
    );
  }
}
