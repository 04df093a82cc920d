import type { Context } from 'hono';
import { z } from 'zod';
import { MAX_JSON_DEPTH, jsonTextDepth } from '../events/json.js';
import { HttpError } from './errors.js';

const statuses = ['running', 'paused', 'waiting', 'completed', 'failed', 'aborted', 'timed_out'] as const;

/**
 * `POST /api/workflows/:name/runs` — the run's input, optional seed state, and optional run id (with one,
 * starting is idempotent: a run of that id that exists is followed, not started again).
 */
export const startBody = z.strictObject({
  input: z.json().optional(),
  state: z.record(z.string(), z.json()).optional(),
  runId: z.string().min(1).max(200).optional(),
});

/** `POST /api/runs` — the same, naming the workflow in the body. */
export const startRunBody = startBody.extend({ workflow: z.string().min(1) });

/** `POST /api/runs/:id/respond` — answer an open input request. */
export const respondBody = z.strictObject({
  requestId: z.string().min(1),
  response: z.json(),
});

/** `POST /api/runs/:id/abort` — an optional reason, kept in the error's `details.reason`. */
/** `POST /api/runs/:id/retry`: nothing to say yet (a JSON object, so the write guard's content type holds). */
export const retryBody = z.strictObject({});

export const abortBody = z.strictObject({ reason: z.string().max(1_000).optional() });

/** `GET /api/runs?workflow=&status=&q=&limit=&offset=` */
export const listQuery = z.strictObject({
  workflow: z.string().min(1).optional(),
  status: z.enum(statuses).optional(),
  q: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  offset: z.coerce.number().int().nonnegative().optional(),
});

/**
 * `Last-Event-ID` header (or `?lastEventId=` for clients that cannot set headers): the last seq seen, in
 * plain decimal digits only (`0x10`, `1e3`, ` 7` and `-0` are refused, never read as some other number).
 */
export const lastEventId = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, 'must be a seq in decimal digits')
    .transform(Number),
]);

/** Parse a JSON body (an empty body counts as `{}`) against `schema`; bad JSON or shape → 400 `invalid_request`. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== '') {
    // Counted before parsing, so a hostile depth is a 400 and never a stack overflow in the schema check.
    if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
      throw new HttpError(400, 'invalid_request', `the request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`);
    }
    try {
      value = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'invalid_request', 'the request body is not valid JSON');
    }
  }
  return check(schema, value, 'body');
}

/** Validate `value` (a body or a query) or throw 400 `invalid_request` listing each problem with its path. */
export function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  throw new HttpError(400, 'invalid_request', `invalid request ${what}: ${z.prettifyError(parsed.error)}`, { issues });
}
