import type { z } from 'zod';
import { WorkflowError } from '../errors/WorkflowError.js';
import { describeJsonProblem, jsonProblem, MAX_JSON_DEPTH } from '../events/json.js';
import { runIdProblem } from '../events/checks.js';

/**
 * A snapshot is checked against the workflow that resumes it, not only against its shape (DESIGN §6.6): a
 * snapshot that fits the schema can still name steps the workflow lacks, give a step a type it does not
 * accept, deliver one invocation twice or carry data its event type refuses — each of which used to crash
 * the run later, deep in the router, or be silently wrong. Pure: no run is touched.
 */

/** What the check needs of a workflow (its compiled spec fits). */
export interface CheckedWorkflow {
  readonly name: string;
  readonly steps: readonly { readonly name: string; readonly accepts: readonly string[] }[];
  /** Event type → schema that checks its data. */
  readonly schemas: ReadonlyMap<string, z.ZodType>;
}

interface EventLike {
  type: string;
  data?: unknown;
}
interface EnvelopeLike {
  id: string;
  event: EventLike;
  to?: string;
}
/** The parts of a snapshot (version 1 or 2) the check reads. */
interface SnapshotLike {
  runId: string;
  seq: number;
  pending: readonly EnvelopeLike[];
  inFlight: readonly { step: string; invocationId: string; envelope: EnvelopeLike; collected?: Record<string, readonly EventLike[]> }[];
  collected: Record<string, readonly EventLike[]>;
  waiting: readonly { requestId: string; kind?: string; routed?: boolean }[];
  answered?: Record<string, unknown>;
  history?: readonly { seq: number }[];
  children?: Record<string, unknown>;
}

/** Snapshots nest the run's values a few levels down (children nest whole snapshots). */
const SNAPSHOT_DEPTH = MAX_JSON_DEPTH + 32;

/**
 * Throws `invalid_snapshot` naming the first problem unless `value` is plain JSON a snapshot can hold (no
 * functions, NaN, cycles or hostile depth). Run before the schema, so nothing deeper can overflow the stack.
 */
export function checkSnapshotJson(value: unknown): void {
  const found = jsonProblem(value, { maxDepth: SNAPSHOT_DEPTH, allowUndefined: true });
  if (found !== undefined) throw invalid(`it is not plain JSON at ${describeJsonProblem(found)}`);
}

/**
 * Throws `invalid_snapshot` naming the first problem when `snapshot` cannot be resumed by `wf`: a run id no
 * store can hold; a step (in flight or a pending envelope's `to`) the workflow does not have or that does not
 * accept the event's type; an invocation id twice; seq going backwards; event data its type's schema refuses;
 * a fan-in buffer holding another type; a wait, answer or child that belongs to no in-flight invocation.
 */
export function checkSnapshotAgainst(wf: CheckedWorkflow, snapshot: SnapshotLike): void {
  const problem = firstProblem(wf, snapshot);
  if (problem !== undefined) throw invalid(problem, { runId: snapshot.runId, workflow: wf.name });
}

function firstProblem(wf: CheckedWorkflow, s: SnapshotLike): string | undefined {
  const idProblem = runIdProblem(s.runId);
  if (idProblem !== undefined) return `runId: ${idProblem}`;
  const steps = new Map(wf.steps.map((step) => [step.name, new Set(step.accepts)]));

  const inFlight = new Set<string>();
  for (const [i, entry] of s.inFlight.entries()) {
    const where = `inFlight[${i}]`;
    const accepts = steps.get(entry.step);
    if (accepts === undefined) return `${where}: workflow '${wf.name}' has no step '${entry.step}'`;
    if (!accepts.has(entry.envelope.event.type)) {
      return `${where}: step '${entry.step}' does not accept '${entry.envelope.event.type}'`;
    }
    if (entry.envelope.to !== undefined && entry.envelope.to !== entry.step) {
      return `${where}: its envelope is addressed to '${entry.envelope.to}', not to its step '${entry.step}'`;
    }
    // Re-delivery derives the id from the envelope: another id would orphan the entry's waits and children.
    if (entry.invocationId !== `${entry.envelope.id}/${entry.step}`) {
      return `${where}: invocation id '${entry.invocationId}' is not '<envelope id>/<step>' ('${entry.envelope.id}/${entry.step}')`;
    }
    if (inFlight.has(entry.invocationId)) return `${where}: invocation '${entry.invocationId}' is in flight twice`;
    inFlight.add(entry.invocationId);
    const bad = eventProblem(wf, entry.envelope.event);
    if (bad !== undefined) return `${where}.envelope.event: ${bad}`;
    for (const [type, events] of Object.entries(entry.collected ?? {})) {
      const wrong = bufferProblem(wf, type, events);
      if (wrong !== undefined) return `${where}.collected.${type}: ${wrong}`;
    }
  }

  for (const [i, env] of s.pending.entries()) {
    const where = `pending[${i}]`;
    if (env.to !== undefined) {
      const accepts = steps.get(env.to);
      if (accepts === undefined) return `${where}: it is addressed to step '${env.to}', which workflow '${wf.name}' does not have`;
      if (!accepts.has(env.event.type)) return `${where}: step '${env.to}' does not accept '${env.event.type}'`;
    }
    const bad = eventProblem(wf, env.event);
    if (bad !== undefined) return `${where}.event: ${bad}`;
    if (env.to !== undefined) {
      // An addressed envelope is an invocation held back (or re-delivered while paused): same id on delivery.
      const id = `${env.id}/${env.to}`;
      if (inFlight.has(id)) return `${where}: invocation '${id}' is queued twice (or queued and in flight)`;
      inFlight.add(id);
    }
  }

  // An envelope still to be routed cannot also have been routed: it would reach its steps a second time.
  const routed = new Set([...s.inFlight.map((e) => e.envelope.id), ...s.pending.filter((e) => e.to !== undefined).map((e) => e.id)]);
  const unrouted = new Set<string>();
  for (const [i, env] of s.pending.entries()) {
    if (env.to !== undefined) continue;
    if (routed.has(env.id)) return `pending[${i}]: envelope '${env.id}' waits to be routed but was routed already`;
    if (unrouted.has(env.id)) return `pending[${i}]: envelope '${env.id}' is queued twice`;
    unrouted.add(env.id);
  }

  for (const [type, events] of Object.entries(s.collected)) {
    const wrong = bufferProblem(wf, type, events);
    if (wrong !== undefined) return `collected.${type}: ${wrong}`;
  }

  const owner = (id: string, sep: string) => {
    const cut = id.lastIndexOf(sep);
    return cut <= 0 ? undefined : id.slice(0, cut);
  };
  const requestOwner = (id: string) => (/:[1-9][0-9]*$/.test(id) ? owner(id, ':') : undefined);
  const seen = new Set<string>();
  for (const [i, wait] of s.waiting.entries()) {
    if (seen.has(wait.requestId)) return `waiting[${i}]: request '${wait.requestId}' is open twice`;
    seen.add(wait.requestId);
    // A request a step returned as an InputRequestEvent carries the step's own id and outlives the step.
    if (wait.routed === true) continue;
    const inv = requestOwner(wait.requestId);
    if (inv === undefined || !inFlight.has(inv)) {
      return `waiting[${i}]: '${wait.requestId}' belongs to no in-flight invocation (ids are <invocationId>:<n>)`;
    }
  }
  for (const requestId of Object.keys(s.answered ?? {})) {
    const inv = requestOwner(requestId);
    if (inv === undefined || !inFlight.has(inv)) return `answered: '${requestId}' belongs to no in-flight invocation`;
  }
  for (const key of Object.keys(s.children ?? {})) {
    const inv = owner(key, '#');
    if (inv === undefined || !inFlight.has(inv)) return `children: '${key}' belongs to no in-flight invocation (keys are <invocationId>#<branch>)`;
  }

  let last = 0;
  for (const [i, ev] of (s.history ?? []).entries()) {
    if (ev.seq <= last) return `history[${i}]: seq ${ev.seq} does not follow ${last} (seq only grows)`;
    last = ev.seq;
  }
  if (last > s.seq) return `seq ${s.seq} is behind its history's last seq ${last} (seq only grows)`;
  return undefined;
}

/** Why an event's data fails its type's schema, or undefined. */
function eventProblem(wf: CheckedWorkflow, ev: EventLike): string | undefined {
  const schema = wf.schemas.get(ev.type);
  if (schema === undefined) return undefined;
  try {
    const parsed = schema.safeParse(ev.data);
    return parsed.success ? undefined : `data of '${ev.type}' does not fit its schema: ${parsed.error.issues[0]?.message ?? 'invalid'}`;
  } catch {
    return `data of '${ev.type}' could not be checked against its schema`;
  }
}

function bufferProblem(wf: CheckedWorkflow, type: string, events: readonly EventLike[]): string | undefined {
  for (const [j, ev] of events.entries()) {
    if (ev.type !== type) return `event ${j} is a '${ev.type}' in the buffer of '${type}'`;
    const bad = eventProblem(wf, ev);
    if (bad !== undefined) return `event ${j}: ${bad}`;
  }
  return undefined;
}

function invalid(problem: string, details: Record<string, unknown> = {}): WorkflowError {
  return new WorkflowError('invalid_snapshot', `this snapshot cannot be resumed: ${problem}`, { details: { ...details, problem } });
}
