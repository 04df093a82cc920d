import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { WorkflowError, type WorkflowErrorCode } from '../errors/WorkflowError.js';

/**
 * Codes in an HTTP error body: every `WorkflowErrorCode`, plus those that only exist at the HTTP edge —
 * `invalid_request` (a body or query that does not fit its schema, is not JSON or is nested too deeply),
 * `unauthorized`, `body_too_large` (413), `unsupported_media_type` (415: a write without a JSON content
 * type), `origin_not_allowed` (403) and `host_not_allowed` (421) when no token is set, and `internal_error`
 * (anything that is not a `WorkflowError`; its text is not sent).
 */
export type HttpErrorCode =
  | WorkflowErrorCode
  | 'invalid_request'
  | 'unauthorized'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'origin_not_allowed'
  | 'host_not_allowed'
  | 'internal_error';

/** Where the server reports what it cannot answer for in a response: 5xx causes, failed final checkpoints. */
export interface HttpLogger {
  error(fields: Record<string, unknown>, message: string): void;
}

/** The default logger: one line on stderr with the cause's message and stack. */
export const stderrLogger: HttpLogger = {
  error(fields, message) {
    const err = fields['err'];
    console.error(message, { ...fields, err: err instanceof Error ? (err.stack ?? err.message) : err });
  },
};

/** The JSON body of every error response: `{ error: { code, message, details? } }`. */
export interface HttpErrorBody {
  error: { code: HttpErrorCode; message: string; details?: unknown };
}

/**
 * An error raised by a route, carrying the HTTP status it maps to.
 *
 * @example
 * ```ts
 * throw new HttpError(400, 'invalid_request', 'the request body is not valid JSON');
 * ```
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: HttpErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  toBody(): HttpErrorBody {
    return this.details === undefined
      ? { error: { code: this.code, message: this.message } }
      : { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** Which HTTP status a `WorkflowError` code becomes. Codes that describe the caller's input are 4xx. */
const STATUS: Record<WorkflowErrorCode, ContentfulStatusCode> = {
  unknown_request: 400,
  invalid_event: 400,
  invalid_workflow: 400,
  invalid_snapshot: 400,
  invalid_argument: 400,
  invalid_state: 400,
  not_found: 404,
  not_running: 409,
  store_conflict: 409,
  snapshot_version: 409,
  store_failed: 503,
  step_failed: 500,
  step_timeout: 500,
  timeout: 500,
  stalled: 500,
  no_handler: 500,
  aborted: 500,
  input_timeout: 500,
  subworkflow_failed: 500,
};

/** Turn anything a route threw into an `HttpError` (unknown throws become a 500 without leaking detail). */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (WorkflowError.is(error)) {
    // Store errors name files; a client needs neither the server's paths nor their layout.
    return new HttpError(STATUS[error.code] ?? 500, error.code, redactPaths(error.message), withoutPaths(error.details));
  }
  return new HttpError(500, 'internal_error', 'internal error');
}

/** Absolute file paths (`/a/b/c.json`, `C:\\a\\c.json`) in a message become their last segment (`c.json`). */
export function redactPaths(message: string): string {
  return message.replace(/(?<![\w.:/\\%-])(?:[A-Za-z]:)?[\\/](?:[^\s'"`\\/]+[\\/])+([^\s'"`\\/,;:)]*)/g, (_m, last: string) => last);
}

const PATH_KEYS = new Set(['file', 'dir', 'path']);

function withoutPaths(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (details === undefined) return undefined;
  const kept = Object.entries(details).filter(([key]) => !PATH_KEYS.has(key));
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}
