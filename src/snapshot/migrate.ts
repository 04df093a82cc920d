import type { RunEvent } from '../telemetry/runEvent.js';
import type { DurableWait, Snapshot, SnapshotV2, WaitEntry, WaitingEntry } from './types.js';

/**
 * Version 1 → version 2: the same live state without its history, which comes back separately so it can go
 * to the journal. Waiting entries become `kind: 'input'`; children are upgraded too (their own history is
 * dropped: a child's RunEvents reach the parent's journal as `child` events).
 */
export function upgrade(v1: Snapshot): { snapshot: SnapshotV2; history: RunEvent[] } {
  const { history, waiting, children, version: _version, ...rest } = v1;
  const snapshot: SnapshotV2 = {
    ...rest,
    version: 2,
    waiting: waiting.map((entry): WaitEntry => (entry.kind === undefined || entry.kind === 'input' ? { ...entry, kind: 'input' } : entry)),
    children: Object.fromEntries(Object.entries(children).map(([key, child]) => [key, upgrade(child).snapshot])),
  };
  return { snapshot, history };
}

/**
 * Version 2 → the version-1 shape the run loop restores from today, with `history` (what of the journal
 * the caller wants the resumed run to carry). Sleeps and event waits have no version-1 form.
 */
export function downgrade(v2: SnapshotV2, history: RunEvent[] = []): Snapshot {
  const { waiting, children, version: _version, ...rest } = v2;
  return {
    ...rest,
    version: 1,
    waiting: waiting.map((entry): WaitingEntry | DurableWait => {
      if (entry.kind !== 'input') return entry;
      const { kind: _kind, ...input } = entry;
      return input;
    }),
    history,
    children: Object.fromEntries(Object.entries(children).map(([key, child]) => [key, downgrade(child)])),
  };
}
