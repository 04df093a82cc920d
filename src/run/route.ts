import { WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import { InputRequestEvent, StopEvent } from '../events/event.js';
import type { WaitingEntry } from '../snapshot/schema.js';
import type { RunEventOf } from '../telemetry/runEvent.js';
import type { StepDef } from '../workflow/types.js';
import type { WorkflowSpec } from '../workflow/spec.js';

/** Where one dispatched envelope goes; computed by {@link route}, acted on by the run loop. */
export type Route =
  /** Already addressed (held back by a limit, or re-delivered after resume): to its step, unannounced. */
  | { readonly kind: 'addressed' }
  /** To every accepting step, in registration order (`names` for `event_routed`); buffered for fan-in. */
  | { readonly kind: 'steps'; readonly steps: readonly StepDef[]; readonly names: readonly string[] }
  /** A StopEvent: the run completes with `result`. */
  | { readonly kind: 'stop'; readonly result: unknown }
  /** A returned InputRequestEvent: the run opens the request. */
  | { readonly kind: 'input'; readonly request: WaitingEntry & { timeout?: number } }
  /** Nobody accepts it: the run fails with `error`. */
  | { readonly kind: 'no_handler'; readonly error: WorkflowError };

const ADDRESSED: Route = { kind: 'addressed' };

/**
 * Pure routing: where `env` goes under `spec`. No effects; the loop announces (`event_routed`), delivers,
 * buffers, stops or fails according to the answer.
 *
 * @example
 * ```ts
 * route(spec, { id: '1', event: StopEvent.of({ result: 42 }), at: 0 }) // { kind: 'stop', result: 42 }
 * ```
 */
export function route(spec: WorkflowSpec, env: Envelope): Route {
  if (env.to !== undefined) return ADDRESSED;
  const ev = env.event;
  if (ev.type === StopEvent.type) return { kind: 'stop', result: (ev.data as { result?: unknown } | undefined)?.result };
  if (ev.type === InputRequestEvent.type) return { kind: 'input', request: ev.data as WaitingEntry & { timeout?: number } };
  const known = routesOf(spec).get(ev.type);
  if (known !== undefined) return known;
  const steps = spec.routes.get(ev.type);
  if (steps === undefined) {
    return {
      kind: 'no_handler',
      error: new WorkflowError('no_handler', `no step accepts events of type '${ev.type}'`, {
        details: { type: ev.type, ...(env.source === undefined ? {} : { source: env.source }) },
      }),
    };
  }
  const made: Route = { kind: 'steps', steps, names: spec.routeNames.get(ev.type) as readonly string[] };
  routesOf(spec).set(ev.type, made);
  return made;
}

/** A type's 'steps' route never changes for a spec: made once, not once per dispatch. */
const cache = new WeakMap<WorkflowSpec, Map<string, Route>>();

function routesOf(spec: WorkflowSpec): Map<string, Route> {
  let routes = cache.get(spec);
  if (routes === undefined) cache.set(spec, (routes = new Map()));
  return routes;
}

/** `env` addressed to `step` (same id, so the invocation id is stable across re-delivery). */
export function addressTo(env: Envelope, step: string): Envelope {
  return env.source === undefined
    ? { id: env.id, event: env.event, at: env.at, to: step }
    : { id: env.id, event: env.event, source: env.source, at: env.at, to: step };
}

/** Pure: the `event_routed` RunEvent of `env` (its source and emitting invocation when a step produced it). */
export function routedEvent(env: Envelope, steps: string[], waiters: string[]): Omit<RunEventOf<'event_routed'>, 'runId' | 'seq' | 'at'> {
  const { event, source, from } = env;
  const ev: Omit<RunEventOf<'event_routed'>, 'runId' | 'seq' | 'at'> = { kind: 'event_routed', event, steps };
  if (source !== undefined) {
    ev.source = source;
    if (from !== undefined) ev.invocationId = from;
  }
  if (waiters.length > 0) ev.waiters = waiters;
  return ev;
}
