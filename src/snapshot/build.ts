import type { WorkflowEvent } from '../events/event.js';
import { deepFreeze } from '../events/freeze.js';
import { SNAPSHOT_VERSION, type Snapshot } from './schema.js';

/** A run's parts at one moment, as the run loop holds them (the builder copies what the run keeps changing). */
export type SnapshotParts = Omit<Snapshot, 'version' | 'collected' | 'metadata' | 'outcome' | 'idle' | 'rateSlots'> & {
  collected: Readonly<Record<string, readonly WorkflowEvent[]>>;
  metadata: Readonly<Record<string, unknown>>;
  /** Terminal runs only. */
  outcome?: Snapshot['outcome'] | undefined;
  /** Idle runs only. */
  idle?: Snapshot['idle'] | undefined;
  /** Runs with a rate-limited step only. */
  rateSlots?: Snapshot['rateSlots'] | undefined;
};

/**
 * Pure: the plain-JSON snapshot of a run from its parts. The parts' arrays and records are taken as they
 * are (the run passes fresh ones); `collected` and `metadata`, which the run keeps changing, are copied, so
 * the snapshot never changes after it is taken.
 *
 * @example
 * ```ts
 * JSON.parse(JSON.stringify(buildSnapshot(parts))) // deep-equals buildSnapshot(parts)
 * ```
 */
export function buildSnapshot(parts: SnapshotParts): Snapshot {
  const snapshot: Snapshot = {
    version: SNAPSHOT_VERSION,
    workflow: parts.workflow,
    workflowVersion: parts.workflowVersion,
    runId: parts.runId,
    status: parts.status,
    createdAt: parts.createdAt,
    input: parts.input,
    state: parts.state,
    pending: parts.pending,
    inFlight: parts.inFlight,
    collected: copyCollected(parts.collected),
    waiting: parts.waiting,
    answered: parts.answered,
    seq: parts.seq,
    elapsedMs: parts.elapsedMs,
    metadata: { ...parts.metadata },
    children: parts.children,
  };
  if (parts.rateSlots !== undefined) snapshot.rateSlots = parts.rateSlots;
  if (parts.outcome !== undefined) snapshot.outcome = parts.outcome;
  if (parts.idle !== undefined) snapshot.idle = { ...parts.idle };
  return snapshot;
}

/** Events collected per type, each list copied: the collector may take more, and a snapshot never changes. */
export function copyCollected(collected: Readonly<Record<string, readonly WorkflowEvent[]>>): Record<string, WorkflowEvent[]> {
  const copy: Record<string, WorkflowEvent[]> = {};
  for (const type in collected) copy[type] = [...(collected[type] as readonly WorkflowEvent[])];
  return copy;
}

const NONE: readonly never[] = Object.freeze([]);
const NOTHING: Readonly<Record<string, never>> = Object.freeze({});
const lean = <T extends object>(part: T): T => (isEmpty(part) ? ((Array.isArray(part) ? NONE : NOTHING) as T) : part);

/** Whether a record (or array) has no enumerable own entries; allocates nothing. */
export function isEmpty(record: object): boolean {
  for (const _ in record) return false;
  return true;
}

/**
 * Make a freshly built snapshot one to keep (what `pause()` resolves with, and a parked run holds): frozen, its
 * empty lists and records shared, so a parked run costs its live state only and nobody changes it under the run.
 */
export function frozenSnapshot(snapshot: Snapshot): Snapshot {
  snapshot.state = lean(snapshot.state);
  snapshot.pending = lean(snapshot.pending);
  snapshot.inFlight = lean(snapshot.inFlight);
  snapshot.collected = lean(snapshot.collected);
  snapshot.waiting = lean(snapshot.waiting);
  snapshot.answered = lean(snapshot.answered);
  snapshot.metadata = lean(snapshot.metadata);
  snapshot.children = lean(snapshot.children);
  return deepFreeze(snapshot);
}
