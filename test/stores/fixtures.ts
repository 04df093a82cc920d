import { upgrade } from '../../src/snapshot/migrate.js';
import type { Snapshot, SnapshotV1, SnapshotV2 } from '../../src/snapshot/schema.js';
import type { RunEvent } from '../../src/telemetry/runEvent.js';

/**
 * A valid snapshot (version 2, as the run loop writes it) with every field filled in, so round-trip tests
 * exercise all of them.
 *
 * @example
 * ```ts
 * const snap = makeSnapshot({ runId: 'r1', status: 'paused', state: { n: 2 } });
 * ```
 */
export function makeSnapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return { ...upgrade(makeSnapshotV1({ runId: overrides.runId ?? 'run-1' })).snapshot, ...overrides };
}

/**
 * A valid version-1 snapshot (history inside) with every field filled in. `history` entries carry the
 * snapshot's `runId`, also when `overrides.runId` changes it.
 */
export function makeSnapshotV1(overrides: Partial<SnapshotV1> = {}): SnapshotV1 {
  const runId = overrides.runId ?? 'run-1';
  const at = 1_700_000_000_000;
  const start = { id: 'env-1', event: { type: 'Start', data: { orderId: 42 } }, at };
  const item = { id: 'env-2', event: { type: 'Item', data: { sku: 'A-1', qty: 2 } }, source: 'split', at: at + 10 };
  return {
    version: 1,
    workflow: 'orders',
    workflowVersion: 'a1b2c3d4',
    runId,
    status: 'running',
    createdAt: at,
    input: { orderId: 42 },
    state: { count: 1, tags: ['new'], nested: { ok: true, note: null } },
    pending: [{ ...item, id: 'env-3', to: 'price' }],
    inFlight: [{ step: 'price', invocationId: 'inv-1', envelope: item }],
    collected: { Item: [item.event] },
    waiting: [
      { requestId: 'inv-1:1', prompt: 'Approve?', metadata: { by: 'ops' }, deadline: at + 60_000, remainingMs: 59_000 },
      { requestId: 'inv-2:1', prompt: 'Colour?', metadata: null, routed: true },
    ],
    answered: { 'inv-0:1': 'yes' },
    seq: 3,
    elapsedMs: 120,
    history: [
      { kind: 'run_started', runId, seq: 1, at, workflow: 'orders', input: { orderId: 42 } },
      { kind: 'event_routed', runId, seq: 2, at: at + 1, event: start.event, steps: ['split'] },
      { kind: 'step_started', runId, seq: 3, at: at + 2, step: 'split', invocationId: 'inv-0', type: 'Start', attempt: 1 },
    ],
    metadata: { tenant: 'acme' },
    children: {},
    ...overrides,
  };
}

/** A settable clock for stores that take `{ now }`, so `updatedAt` is exact and tests never sleep. */
export function manualClock(start = 1_000): { now: () => number; set(ms: number): void } {
  let current = start;
  return {
    now: () => current,
    set(ms: number) {
      current = ms;
    },
  };
}

/**
 * A valid version-2 (lean) snapshot with every field filled in: every kind of wait, an in-flight entry with
 * what it collected, a debounced envelope with its due time, and (when given) an outcome.
 */
export function makeSnapshotV2(overrides: Partial<SnapshotV2> = {}): SnapshotV2 {
  const at = 1_700_000_000_000;
  const item = { id: 'env-2', event: { type: 'Item', data: { sku: 'A-1', qty: 2 } }, source: 'split', at: at + 10 };
  return {
    version: 2,
    workflow: 'orders',
    workflowVersion: 'a1b2c3d4',
    runId: overrides.runId ?? 'run-1',
    status: 'waiting',
    createdAt: at,
    input: { orderId: 42 },
    state: { count: 1 },
    pending: [{ ...item, id: 'env-3', to: 'price', dueAt: at + 500 }],
    inFlight: [{ step: 'price', invocationId: 'inv-1', envelope: item, collected: { Item: [item.event] } }],
    collected: { Item: [item.event] },
    waiting: [
      { kind: 'input', requestId: 'inv-1:1', prompt: 'Approve?', metadata: { by: 'ops' }, deadline: at + 60_000 },
      { kind: 'sleep', requestId: 'inv-1:2', dueAt: at + 5_000 },
      { kind: 'event', requestId: 'inv-1:3', type: 'Paid', deadline: at + 9_000, remainingMs: 8_000 },
    ],
    answered: { 'inv-0:1': 'yes' },
    seq: 3,
    elapsedMs: 120,
    metadata: { tenant: 'acme' },
    children: {},
    ...overrides,
  };
}

/** The RunEvents `seq` from..to of a run, as a journal delta (plain JSON, one `step_completed` each). */
export function journal(runId: string, from: number, to: number): RunEvent[] {
  const out: RunEvent[] = [];
  for (let seq = from; seq <= to; seq++) {
    out.push({ kind: 'step_completed', runId, seq, at: 1_700_000_000_000 + seq, step: 's', invocationId: `i${seq}`, type: 'T', durationMs: 1 });
  }
  return out;
}
