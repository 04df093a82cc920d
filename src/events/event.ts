import { z } from 'zod';
import { describeThrown, engineError, WorkflowError } from '../errors/WorkflowError.js';
import { describeJsonProblem, jsonProblem, UNDEFINED_ALLOWED } from './json.js';

/** An event is plain JSON: a routing `type` and its `data`. */
export interface WorkflowEvent<D = unknown, N extends string = string> {
  readonly type: N;
  readonly data: D;
}

/**
 * A named, optionally schema-checked kind of event, made by {@link event}.
 *
 * @example
 * ```ts
 * const Query = event('Query', z.object({ text: z.string() }));
 * const ev = Query.of({ text: 'hi' });   // { type: 'Query', data: { text: 'hi' } }
 * Query.is(ev);                          // true, and narrows ev.data
 * ```
 */
export interface EventType<D = unknown, N extends string = string, I = D> {
  readonly type: N;
  readonly schema: z.ZodType<D> | undefined;
  /** Build an event, validating `data` against the schema (`invalid_event` when it does not fit). */
  of(data: I): WorkflowEvent<D, N>;
  /** Type guard: is `ev` an event of this type (and, with a schema, is its data valid)? */
  is(ev: unknown): ev is WorkflowEvent<D, N>;
}

/** The data type carried by an EventType. */
export type DataOf<E> = E extends EventType<infer D, string, any> ? D : never;
/** The event produced by an EventType. */
export type EventOf<E> = E extends EventType<infer D, infer N, any> ? WorkflowEvent<D, N> : never;

/**
 * Declare an event type.
 *
 * @example
 * ```ts
 * const Answer = event('Answer', z.object({ text: z.string() }));
 * const Ping = event('Ping');   // data is `unknown`, unchecked
 * ```
 */
export function event<N extends string>(type: N): EventType<unknown, N>;
export function event<N extends string, S extends z.ZodType>(type: N, schema: S): EventType<z.output<S>, N, z.input<S>>;
export function event<N extends string>(type: N, schema?: z.ZodType): EventType<unknown, N> {
  if (typeof type !== 'string' || type.length === 0) {
    throw new WorkflowError('invalid_event', 'event(type): type must be a non-empty string');
  }
  return {
    type,
    schema,
    of(data: unknown) {
      // Not remembered in `validated`: a WeakMap entry per event costs more than checking its JSON again.
      if (schema === undefined || quickValid(schema, data)) return { type, data: checkJson(type, data) };
      const ev = { type, data: validate(type, schema, data) };
      validated.set(ev, schema);
      return ev;
    },
    is(ev: unknown): ev is WorkflowEvent<unknown, N> {
      if (!isEvent(ev) || ev.type !== type) return false;
      if (schema === undefined || quickValid(schema, ev.data)) return true;
      try {
        return schema.safeParse(ev.data).success;
      } catch {
        return false; // nested beyond the stack: not an event of this type
      }
    },
  };
}

/** Events built by a schema's `.of()` are already checked; routing skips re-validating them against the same schema. */
// Keyed by the schema that checked it: a workflow may check a type again with another schema (its `result`).
const validated = new WeakMap<object, z.ZodType>();

/** Check a plain event's data against `schema` unless `.of()` already did; returns the event or throws `invalid_event`. */
export function checkEvent(ev: WorkflowEvent, schema: z.ZodType | undefined): WorkflowEvent {
  if (schema === undefined || quickValid(schema, ev.data)) {
    checkJson(ev.type, ev.data);
    return ev;
  }
  if (validated.get(ev) === schema) return ev;
  const checked = { type: ev.type, data: validate(ev.type, schema, ev.data) };
  validated.set(checked, schema);
  return checked;
}

function validate(type: string, schema: z.ZodType, data: unknown): unknown {
  let parsed: ReturnType<z.ZodType['safeParse']>;
  try {
    parsed = schema.safeParse(data);
  } catch (error) {
    // Only a value nested past the stack gets here (zod reports every other problem as an issue).
    const found = jsonProblem(data);
    throw new WorkflowError('invalid_event', `invalid data for event '${type}': ${found === undefined ? describeThrown(error) : describeJsonProblem(found)}`, {
      cause: error,
      details: { type },
    });
  }
  if (parsed.success) return checkJson(type, parsed.data);
  // Engine-made and not retryable: a bad payload built in a step fails the run `invalid_event`, as a returned
  // literal does, and retrying the same code would build the same payload.
  throw engineError(
    new WorkflowError('invalid_event', `invalid data for event '${type}': ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
      details: { type },
      retryable: false,
    }),
  );
}

/** Event data is stored in snapshots: it must be plain JSON (an `undefined` property is left out, as JSON does). */
function checkJson(type: string, data: unknown): unknown {
  const found = jsonProblem(data, UNDEFINED_ALLOWED);
  if (found === undefined) return data;
  throw new WorkflowError('invalid_event', `the data of event '${type}' is not plain JSON at ${describeJsonProblem(found)}; events are stored in snapshots, so send JSON values`, {
    details: { type, path: found.path },
  });
}

/** Is `value` shaped like an event (`{ type: string, data }`)? */
export function isEvent(value: unknown): value is WorkflowEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    (value as { type: string }).type.length > 0
  );
}

/** The run's first event; its data is the run input. */
export const StartEvent = event('StartEvent');

const STOP_SCHEMA = z.object({ result: z.unknown().optional() }).loose();

/**
 * Does `data` fit `schema` as it is, decided without zod? For the StopEvent schema (every run ends with one) and
 * a plain object: zod accepts any, and would only copy it (half a microsecond, more before the JIT has warmed).
 */
function quickValid(schema: z.ZodType, data: unknown): boolean {
  if (schema !== STOP_SCHEMA || typeof data !== 'object' || data === null) return false;
  const proto = Object.getPrototypeOf(data) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Routing a StopEvent ends the run `completed` with `data.result` as the result. */
export const StopEvent = event('StopEvent', STOP_SCHEMA);

/** Park the run until `run.respond(requestId, response)`; `timeout` (ms) is an optional deadline. */
export const InputRequestEvent = event(
  'InputRequestEvent',
  z.object({
    requestId: z.string().min(1),
    prompt: z.string(),
    metadata: z.unknown().optional(),
    timeout: z.number().positive().optional(),
  }),
);

/** What `run.respond()` routes for a returned InputRequestEvent. */
export const InputResponseEvent = event(
  'InputResponseEvent',
  z.object({ requestId: z.string(), response: z.unknown() }),
);

