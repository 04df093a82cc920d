import type { RunEvent } from '../telemetry/runEvent.js';
import type { Snapshot, SnapshotV1, WaitEntry } from './types.js';

/**
 * Version 1 → version 2: the same live state without its history, which comes back separately so it can go
 * to the journal. Waiting entries become `kind: 'input'`; children are upgraded too (their own history is
 * dropped: a child's RunEvents reach the parent's journal as `child` events).
 */
export function upgrade(v1: SnapshotV1): { snapshot: Snapshot; history: RunEvent[] } {
  const { history, waiting, children, version: _version, ...rest } = v1;
  const snapshot: Snapshot = {
    ...rest,
    version: 2,
    waiting: waiting.map((entry): WaitEntry => (entry.kind === undefined || entry.kind === 'input' ? { ...entry, kind: 'input' } : entry)),
    children: Object.fromEntries(Object.entries(children).map(([key, child]) => [key, upgrade(child).snapshot])),
  };
  return { snapshot, history };
}
