import { z } from 'zod';
import type { StateShape, UntypedRunState } from '../context/state.js';
import type { StepContext } from '../context/types.js';
import { engineError, WorkflowError } from '../errors/WorkflowError.js';
import type { StateSchema } from './types.js';

// Run-time checks of a workflow's typed edges (its `input`, `result` and `state` schemas).

/** The parsed input, or `invalid_event` naming the workflow and what does not fit. */
export function checkInput(workflow: string, schema: z.ZodType, input: unknown): unknown {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new WorkflowError(
    'invalid_event',
    `workflow '${workflow}': run() input does not fit the workflow's input schema: ${z.prettifyError(parsed.error)}`,
    { cause: parsed.error, details: { workflow, type: 'StartEvent' } },
  );
}

/** The schema a StopEvent is checked against when the workflow has a `result` schema. */
export function stopSchema(result: z.ZodType): z.ZodType {
  return z.object({ result }).loose();
}

/** Check every key of a `run(input, { state })` seed; returns the parsed seed. */
export function checkStateSeed(workflow: string, schema: StateSchema, seed: StateShape): StateShape {
  const parsed: StateShape = {};
  for (const [key, value] of Object.entries(seed)) parsed[key] = checkState(schema, key, value, `workflow '${workflow}': run() state`);
  return parsed;
}

/** The parsed value for `key`, or `invalid_state` (engine-made, not retried) naming the key and the problem. */
export function checkState(schema: StateSchema, key: string, value: unknown, where = `ctx.state.set('${key}')`): unknown {
  const shape = schema.shape as Record<string, z.ZodType | undefined>;
  const field = shape[key];
  const fail = (why: string, cause?: unknown) =>
    engineError(new WorkflowError('invalid_state', `${where}: ${why}`, { cause, details: { key }, retryable: false }));
  if (field === undefined) {
    throw fail(`the workflow's state schema has no key '${key}'; add it to the schema (keys: ${Object.keys(shape).join(', ') || 'none'})`);
  }
  const parsed = field.safeParse(value);
  if (!parsed.success) throw fail(`'${key}' does not fit the workflow's state schema: ${z.prettifyError(parsed.error)}`, parsed.error);
  return parsed.data;
}

/** `ctx` whose `state` checks every write against the workflow's state schema (everything else is `ctx`'s). */
export function typedState<C extends StepContext>(ctx: C, schema: StateSchema): C {
  const state = ctx.state as UntypedRunState;
  const checked: UntypedRunState = {
    get: (key) => state.get(key),
    set: (key, value) => state.set(key, checkState(schema, key, value)),
    update: <T>(key: string, fn: (current: T | undefined) => T) =>
      state.update<T>(key, (current) => checkState(schema, key, fn(current), `ctx.state.update('${key}')`) as T),
  };
  return new Proxy(ctx, { get: (target, prop) => (prop === 'state' ? checked : Reflect.get(target, prop, target)) });
}

/**
 * What a snapshot needs that a workflow of another version no longer offers: steps its in-flight and addressed
 * events go to that are gone or no longer accept those types, and pending types nobody accepts now.
 */
export function versionChanges(
  snapshot: { inFlight: readonly { step: string; envelope: { event: { type: string } } }[]; pending: readonly { event: { type: string }; to?: string | undefined }[] },
  steps: readonly { name: string; accepts: readonly string[] }[],
): string[] {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const accepted = new Set(steps.flatMap((s) => s.accepts));
  const changes = new Set<string>();
  const needs = (step: string, type: string, what: string) => {
    const now = byName.get(step);
    if (now === undefined) changes.add(`step '${step}' (${what} a ${type}) is gone`);
    else if (!now.accepts.includes(type)) changes.add(`step '${step}' (${what} a ${type}) no longer accepts ${type}`);
  };
  for (const f of snapshot.inFlight) needs(f.step, f.envelope.event.type, 'running');
  for (const p of snapshot.pending) {
    if (p.to !== undefined) needs(p.to, p.event.type, 'queued');
    else if (!accepted.has(p.event.type)) changes.add(`no step accepts the pending ${p.event.type} any more`);
  }
  return [...changes];
}
