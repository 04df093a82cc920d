import type { Envelope } from '../events/envelope.js';
import type { WorkflowEvent } from '../events/event.js';
import { deepFreeze } from '../events/freeze.js';
import { uuid } from '../events/ids.js';
import { isEmpty } from './build.js';
import type { InFlightEntry, Snapshot } from './schema.js';

/** What a resumed run starts from, derived from a (validated) snapshot. */
export interface Restored {
  readonly runId: string;
  readonly input: unknown;
  readonly createdAt: number;
  readonly state: Record<string, unknown> | undefined;
  readonly metadata: Record<string, unknown>;
  readonly collected: Record<string, WorkflowEvent[]>;
  readonly elapsedMs: number;
  readonly seq: number;
  /** In-flight invocations, re-delivered to their step first (at-least-once, same invocation id). */
  readonly redeliver: readonly InFlightEntry[];
  readonly pending: readonly Envelope[];
  /** Open requests and kept answers; undefined when there are none. */
  readonly requests: Pick<Snapshot, 'waiting' | 'answered'> | undefined;
  /** Invocation ids of re-deliveries parked on an open request: queued, but not work. */
  readonly dormant: readonly string[];
  /** Child snapshots by `<invocationId>#<branch>`; undefined when there are none. */
  readonly children: Map<string, Snapshot> | undefined;
  /** Rate slots in use by step and key (their free times); undefined when there are none. */
  readonly rateSlots: Snapshot['rateSlots'];
}

/**
 * Pure: the starting parts of a resumed run. Events are frozen (no step can change what another sees);
 * nothing of `snapshot` is shared with the result's mutable parts.
 *
 * @example
 * ```ts
 * const r = restoreSnapshot(parseSnapshot(json));
 * queue.push(...r.redeliver.map(redelivery), ...r.pending);
 * ```
 */
export function restoreSnapshot(snapshot: Snapshot): Restored {
  // A woken parked run comes through here: parts that are empty cost no allocation beyond their result.
  const hasRequests = snapshot.waiting.length > 0 || !isEmpty(snapshot.answered);
  const open = snapshot.waiting.map((w) => w.requestId);
  const inFlight = snapshot.inFlight;
  return {
    runId: snapshot.runId,
    input: snapshot.input,
    createdAt: snapshot.createdAt,
    state: snapshot.state,
    metadata: { ...snapshot.metadata },
    collected: isEmpty(snapshot.collected) ? {} : Object.fromEntries(Object.entries(snapshot.collected).map(([t, evs]) => [t, evs.map((e) => deepFreeze(e))])),
    elapsedMs: snapshot.elapsedMs,
    seq: snapshot.seq,
    redeliver: inFlight.slice(),
    pending: snapshot.pending.map((env) => deepFreeze(env)),
    requests: hasRequests ? { waiting: snapshot.waiting, answered: snapshot.answered } : undefined,
    dormant: open.length === 0 ? [] : inFlight.map((e) => e.invocationId).filter((id) => open.some((r) => r.startsWith(`${id}:`))),
    children: isEmpty(snapshot.children) ? undefined : new Map(Object.entries(snapshot.children)),
    rateSlots: snapshot.rateSlots,
  };
}

/** The envelope that re-delivers an in-flight entry: addressed to its step, so it is not routed again. */
export function redelivery(entry: InFlightEntry): Envelope {
  return deepFreeze({ ...entry.envelope, to: entry.step });
}

/** What a new run starts from: its input, seeded state, and nothing else (the start event is queued by the run). */
export function freshStart(start: { input: unknown; runId?: string; state?: Record<string, unknown> }, now: number): Restored {
  return {
    runId: start.runId ?? uuid(),
    input: start.input,
    createdAt: now,
    state: start.state,
    metadata: {},
    collected: {},
    elapsedMs: 0,
    seq: 0,
    redeliver: [],
    pending: [],
    requests: undefined,
    dormant: [],
    children: undefined,
    rateSlots: undefined,
  };
}
