import { z } from 'zod';
import { WorkflowError } from '../errors/WorkflowError.js';
import { RUN_STATUSES } from './status.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import { upgrade } from './migrate.js';
import type { AnySnapshot, Snapshot } from './types.js';

export type {
  AnySnapshot,
  InFlightEntry,
  Snapshot,
  SnapshotOutcome,
  SnapshotV1,
  SnapshotV2,
  WaitEntry,
  WaitingEntry,
  DurableWait,
  InputWait,
} from './types.js';

/*
 * Snapshot versions. Version 2 is the lean shape the run loop writes (DESIGN §6.1): the run's live state
 * only, its history living in the store's journal. Version 1 (history inside) still loads: `readSnapshot`
 * upgrades it and hands its history back separately, for the journal.
 */

/** The snapshot version the run loop writes. */
export const SNAPSHOT_VERSION = 2;

/** Every snapshot version this sluice reads. */
export const SNAPSHOT_VERSIONS = [1, 2] as const;

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
  /** The invocation that produced it. */
  from: z.string().optional(),
});

const statusSchema = z.enum(RUN_STATUSES);

export const runEventSchema = z
  .object({ kind: z.string(), runId: z.string(), seq: z.number().int().nonnegative(), at: z.number() })
  .loose();

const collectedSchema = z.record(z.string(), z.array(eventSchema));

const inFlightSchema = z.object({
  step: z.string(),
  invocationId: z.string(),
  envelope: envelopeSchema,
  /** What this invocation took with `ctx.collect`, handed back as-is when it is re-delivered. */
  collected: collectedSchema.optional(),
});

const inputWaitFields = {
  requestId: z.string(),
  prompt: z.string(),
  metadata: z.unknown().optional(),
  deadline: z.number().optional(),
  /** ms of unpaused time left before the deadline (the clock stops while paused). */
  remainingMs: z.number().optional(),
  /** Set when the request came from a returned InputRequestEvent rather than `ctx.requestInput`. */
  routed: z.boolean().optional(),
};

const sleepWait = z.object({ kind: z.literal('sleep'), requestId: z.string(), dueAt: z.number() });
const eventWait = z.object({
  kind: z.literal('event'),
  requestId: z.string(),
  type: z.string(),
  deadline: z.number().optional(),
  remainingMs: z.number().optional(),
});
const waitingV2Schema = z.discriminatedUnion('kind', [z.object({ kind: z.literal('input'), ...inputWaitFields }), sleepWait, eventWait]);

const errorInfoSchema = z.object({ code: z.string(), message: z.string(), step: z.string().optional() });
const outcomeSchema = z.union([
  z.object({ result: z.unknown() }).strict(),
  z.object({ error: errorInfoSchema }).strict(),
]);

/** Fields both versions share. */
const common = {
  workflow: z.string(),
  workflowVersion: z.string(),
  runId: z.string().min(1),
  status: statusSchema,
  createdAt: z.number(),
  input: z.unknown().optional(),
  state: z.record(z.string(), z.unknown()),
  pending: z.array(envelopeSchema),
  inFlight: z.array(inFlightSchema),
  collected: collectedSchema,
  /** Responses already given to requests whose invocation is still in flight (re-delivered on resume). */
  answered: z.record(z.string(), z.unknown()).default({}),
  seq: z.number().int().nonnegative(),
  /** Running time already spent against the workflow timeout. */
  elapsedMs: z.number().nonnegative().default(0),
  metadata: z.record(z.string(), z.unknown()),
  outcome: outcomeSchema.optional(),
  /** Set while the run is idle: when it reported `run_idle`, and the step it named. */
  idle: z.object({ since: z.number(), lastStep: z.string().optional() }).strict().optional(),
  /** Rate slots in use: step → key → the times they free (scheduler epoch ms), so a full window stays full. */
  rateSlots: z.record(z.string(), z.record(z.string(), z.array(z.number()))).optional(),
};

/** Children are snapshots too; declared first so the recursive schemas have a type. */
const childV1: z.ZodType = z.lazy(() => snapshotV1Schema);
const childV2: z.ZodType = z.lazy(() => snapshotV2Schema);

export const snapshotV1Schema = z.object({
  version: z.literal(1),
  ...common,
  // Version 1 never had durable waits, but sluice wrote them in this shape for a while (before the journal).
  waiting: z.array(z.union([z.object({ kind: z.literal('input').optional(), ...inputWaitFields }), sleepWait, eventWait])),
  history: z.array(runEventSchema),
  /** Snapshots of sub-workflow runs in flight, keyed `<invocationId>#<branch>`. */
  children: z.record(z.string(), childV1).default({}),
});

export const snapshotV2Schema = z.object({
  version: z.literal(2),
  ...common,
  waiting: z.array(waitingV2Schema),
  /** Snapshots of sub-workflow runs in flight, keyed `<invocationId>#<branch>`. */
  children: z.record(z.string(), childV2).default({}),
});


/** Which version a value claims, or a coded error when it is not a snapshot sluice reads. */
function versionOf(value: unknown): 1 | 2 {
  if (typeof value !== 'object' || value === null || !('version' in value)) {
    throw new WorkflowError('invalid_snapshot', 'not a sluice snapshot: the `version` field is missing');
  }
  const version = (value as { version: unknown }).version;
  if (version !== 1 && version !== 2) {
    throw new WorkflowError(
      'snapshot_version',
      `snapshot version ${JSON.stringify(version)} is not supported (this sluice reads versions ${SNAPSHOT_VERSIONS.join(' and ')})`,
      { details: { version, supported: [...SNAPSHOT_VERSIONS] } },
    );
  }
  return version;
}

/**
 * Check an untrusted value is a snapshot of either version; returns it as stored (version 1 or 2).
 * Throws `invalid_snapshot` (not a snapshot, or another workflow) or `snapshot_version` (unknown version).
 */
export function parseAnySnapshot(value: unknown, expectedWorkflow?: string): AnySnapshot {
  const schema = versionOf(value) === 1 ? snapshotV1Schema : snapshotV2Schema;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new WorkflowError('invalid_snapshot', `malformed snapshot: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const snapshot = parsed.data as unknown as AnySnapshot;
  if (expectedWorkflow !== undefined && snapshot.workflow !== expectedWorkflow) {
    throw new WorkflowError(
      'invalid_snapshot',
      `snapshot belongs to workflow '${snapshot.workflow}', not '${expectedWorkflow}'`,
      { details: { workflow: snapshot.workflow, expected: expectedWorkflow } },
    );
  }
  return snapshot;
}

/**
 * Read a snapshot of either version as version 2; a version-1 snapshot's history comes back separately
 * (`history`, `[]` for version 2) so it can go to the journal.
 *
 * @example
 * ```ts
 * import { readSnapshot } from 'sluice';
 * const { snapshot, history } = readSnapshot(JSON.parse(text));
 * snapshot.version; // 2
 * ```
 */
export function readSnapshot(value: unknown, expectedWorkflow?: string): { snapshot: Snapshot; history: RunEvent[] } {
  const snapshot = parseAnySnapshot(value, expectedWorkflow);
  return snapshot.version === 1 ? upgrade(snapshot) : { snapshot, history: [] };
}

/**
 * Check an untrusted value is a snapshot and return it as version 2 (a version-1 snapshot is upgraded and
 * its history dropped: read it with `readSnapshot` to keep it).
 * Throws `invalid_snapshot` (not a snapshot, or another workflow) or `snapshot_version` (unknown version).
 */
export function parseSnapshot(value: unknown, expectedWorkflow?: string): Snapshot {
  return readSnapshot(value, expectedWorkflow).snapshot;
}

/** The current (version 2) snapshot schema. */
export const snapshotSchema = snapshotV2Schema;
