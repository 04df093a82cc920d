import type { Envelope } from '../events/envelope.js';
import type { WorkflowEvent } from '../events/event.js';
import type { RunStatus } from './status.js';
import type { RunEvent } from '../telemetry/runEvent.js';

/** How a finished run ended; present on terminal snapshots only. */
export type SnapshotOutcome = { result: unknown } | { error: { code: string; message: string; step?: string } };

interface SnapshotFields {
  workflow: string;
  workflowVersion: string;
  runId: string;
  status: RunStatus;
  createdAt: number;
  input: unknown;
  state: Record<string, unknown>;
  pending: Envelope[];
  inFlight: InFlightEntry[];
  collected: Record<string, WorkflowEvent[]>;
  answered: Record<string, unknown>;
  seq: number;
  elapsedMs: number;
  metadata: Record<string, unknown>;
  outcome?: SnapshotOutcome;
  /** Set while the run is idle (DESIGN §6.6 "Idle"): when it reported `run_idle`, and the step it named. */
  idle?: { since: number; lastStep?: string };
  /** Rate slots in use (§6.3): step → key (`''` without a key) → the times they free, scheduler epoch ms. */
  rateSlots?: Record<string, Record<string, number[]>>;
}

/**
 * A plain-JSON picture of a run's **live state** (snapshot version 2, DESIGN §6.1): what is queued, in flight,
 * waiting and collected, and its state — never its history, which lives in the store's journal
 * (`store.events(runId)`). Enough to continue the run in another process; its size depends on what is live,
 * not on how long the run has lived. A terminal snapshot carries its `outcome`.
 */
export interface Snapshot extends SnapshotFields {
  version: 2;
  waiting: WaitEntry[];
  children: Record<string, Snapshot>;
}

/** The lean snapshot's older name. */
export type SnapshotV2 = Snapshot;

/**
 * A version-1 snapshot (sluice before the journal): the same live state with the run's history inside.
 * It still loads — `readSnapshot` upgrades it and hands its history back for the journal.
 */
export interface SnapshotV1 extends SnapshotFields {
  version: 1;
  waiting: (WaitingEntry | DurableWait)[];
  history: RunEvent[];
  children: Record<string, SnapshotV1>;
}

export interface InFlightEntry {
  step: string;
  invocationId: string;
  envelope: Envelope;
  /** The events this invocation took with `ctx.collect`, returned again when it is re-delivered. */
  collected?: Record<string, WorkflowEvent[]>;
}

/** An open input request (version 1 shape; `kind` is implied). */
export interface WaitingEntry {
  kind?: 'input';
  requestId: string;
  prompt: string;
  metadata: unknown;
  deadline?: number;
  remainingMs?: number;
  routed?: boolean;
}

/** What an invocation waits for in a version-2 snapshot: a human's input, a due time or an event. */
export type WaitEntry =
  | (Omit<WaitingEntry, 'kind'> & { kind: 'input' })
  | { kind: 'sleep'; requestId: string; dueAt: number; remainingMs?: never } // a sleep's due time is absolute
  | { kind: 'event'; requestId: string; type: string; deadline?: number; remainingMs?: number };

/** An open input request in `snapshot.waiting`. */
export type InputWait = Extract<WaitEntry, { kind: 'input' }>;

/** A durable wait (`ctx.sleep`, `ctx.waitFor`) in `snapshot.waiting`. */
export type DurableWait = Exclude<WaitEntry, { kind: 'input' }>;

/** A stored snapshot of either version. */
export type AnySnapshot = Snapshot | SnapshotV1;
