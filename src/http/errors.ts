import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { WorkflowError, type WorkflowErrorCode } from '../errors/WorkflowError.js';

/**
 * Codes in an HTTP error body: every `WorkflowErrorCode`, plus those that only exist at the HTTP edge —
 * `invalid_request` (a body or query that does not fit its schema, or is not JSON), `unauthorized`, and
 * `internal_error` (anything that is not a `WorkflowError`; its text is not sent).
 */
export type HttpErrorCode = WorkflowErrorCode | 'invalid_request' | 'unauthorized' | 'internal_error';

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
  invalid_state: 400,
  not_found: 404,
  not_running: 409,
  store_conflict: 409,
  snapshot_version: 409,
  store_failed: 503,
  step_failed: 500,
  step_timeout: 500,
  timeout: 500,
  no_handler: 500,
  aborted: 500,
  input_timeout: 500,
  subworkflow_failed: 500,
};

/** Turn anything a route threw into an `HttpError` (unknown throws become a 500 without leaking detail). */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (WorkflowError.is(error)) {
    return new HttpError(STATUS[error.code], error.code, error.message, error.details);
  }
  return new HttpError(500, 'internal_error', 'internal error');
}
