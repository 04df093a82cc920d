import { z } from 'zod';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import type { WorkflowEvent } from '../events/event.js';
import { RUN_STATUSES, type RunStatus } from './status.js';
import type { RunEvent } from '../telemetry/runEvent.js';

export const SNAPSHOT_VERSION = 1;

// JSON has no `undefined`: an event without data, or a run started without input, comes back without the key.
const eventSchema = z.object({ type: z.string().min(1), data: z.unknown().optional() }).loose();

const envelopeSchema = z.object({
  id: z.string(),
  event: eventSchema,
  source: z.string().optional(),
  at: z.number(),
  to: z.string().optional(),
  /** When a debounced or rate-limited envelope is due (scheduler epoch ms). */
  dueAt: z.number().optional(),
});

const statusSchema = z.enum(RUN_STATUSES);

const runEventSchema = z
  .object({ kind: z.string(), runId: z.string(), seq: z.number().int().nonnegative(), at: z.number() })
  .loose();

/** Children are snapshots too; declared first so the recursive schema has a type. */
const childSnapshot: z.ZodType = z.lazy(() => snapshotSchema);

export const snapshotSchema = z.object({
  version: z.literal(SNAPSHOT_VERSION),
  workflow: z.string(),
  workflowVersion: z.string(),
  runId: z.string().min(1),
  status: statusSchema,
  createdAt: z.number(),
  input: z.unknown().optional(),
  state: z.record(z.string(), z.unknown()),
  pending: z.array(envelopeSchema),
  inFlight: z.array(z.object({ step: z.string(), invocationId: z.string(), envelope: envelopeSchema })),
  collected: z.record(z.string(), z.array(eventSchema)),
  waiting: z.array(
    z.union([
      z.object({
        kind: z.literal('input').optional(),
        requestId: z.string(),
        prompt: z.string(),
        metadata: z.unknown().optional(),
        deadline: z.number().optional(),
        /** ms of unpaused time left before the deadline (the clock stops while paused). */
        remainingMs: z.number().optional(),
        /** Set when the request came from a returned InputRequestEvent rather than `ctx.requestInput`. */
        routed: z.boolean().optional(),
      }),
      // Durable waits (ctx.sleep, ctx.waitFor; DESIGN §6.6): the shape the v2 schema gives them.
      z.object({ kind: z.literal('sleep'), requestId: z.string(), dueAt: z.number() }),
      z.object({ kind: z.literal('event'), requestId: z.string(), type: z.string(), deadline: z.number().optional(), remainingMs: z.number().optional() }),
    ]),
  ),
  /** Responses already given to requests whose invocation is still in flight (re-delivered on resume). */
  answered: z.record(z.string(), z.unknown()).default({}),
  seq: z.number().int().nonnegative(),
  /** Running time already spent against the workflow timeout. */
  elapsedMs: z.number().nonnegative().default(0),
  history: z.array(runEventSchema),
  metadata: z.record(z.string(), z.unknown()),
  /** Snapshots of sub-workflow runs in flight, keyed `<invocationId>#<branch>`. */
  children: z.record(z.string(), childSnapshot).default({}),
});

/** A plain-JSON picture of a run, enough to continue it in another process. */
export interface Snapshot {
  version: typeof SNAPSHOT_VERSION;
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
  waiting: (WaitingEntry | DurableWait)[];
  answered: Record<string, unknown>;
  seq: number;
  elapsedMs: number;
  history: RunEvent[];
  metadata: Record<string, unknown>;
  children: Record<string, Snapshot>;
}

export interface InFlightEntry {
  step: string;
  invocationId: string;
  envelope: Envelope;
}

/** A durable wait (`ctx.sleep`, `ctx.waitFor`) in `snapshot.waiting`. */
export type DurableWait =
  // `remainingMs` never: a sleep's due time is absolute (readers of deadline clocks can skip it).
  | { kind: 'sleep'; requestId: string; dueAt: number; remainingMs?: never }
  | { kind: 'event'; requestId: string; type: string; deadline?: number; remainingMs?: number };

export interface WaitingEntry {
  kind?: 'input';
  requestId: string;
  prompt: string;
  metadata: unknown;
  deadline?: number;
  remainingMs?: number;
  routed?: boolean;
}

/**
 * Check an untrusted value is a snapshot sluice can load.
 * Throws `invalid_snapshot` (not a snapshot, or another workflow) or `snapshot_version` (unknown version).
 */
export function parseSnapshot(value: unknown, expectedWorkflow?: string): Snapshot {
  if (typeof value !== 'object' || value === null || !('version' in value)) {
    throw new WorkflowError('invalid_snapshot', 'not a sluice snapshot: the `version` field is missing');
  }
  const version = (value as { version: unknown }).version;
  if (version !== SNAPSHOT_VERSION) {
    throw new WorkflowError(
      'snapshot_version',
      `snapshot version ${JSON.stringify(version)} is not supported (this sluice reads version ${SNAPSHOT_VERSION})`,
      { details: { version, supported: SNAPSHOT_VERSION } },
    );
  }
  const parsed = snapshotSchema.safeParse(value);
  if (!parsed.success) {
    throw new WorkflowError('invalid_snapshot', `malformed snapshot: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const snapshot = parsed.data as unknown as Snapshot;
  if (expectedWorkflow !== undefined && snapshot.workflow !== expectedWorkflow) {
    throw new WorkflowError(
      'invalid_snapshot',
      `snapshot belongs to workflow '${snapshot.workflow}', not '${expectedWorkflow}'`,
      { details: { workflow: snapshot.workflow, expected: expectedWorkflow } },
    );
  }
  return snapshot;
}
