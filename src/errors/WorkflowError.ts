/**
 * Every failure sluice reports is a `WorkflowError` whose `code` comes from this closed union,
 * so callers branch on `code`, never on message text.
 */
export type WorkflowErrorCode =
  | 'step_failed'
  | 'step_timeout'
  | 'timeout'
  | 'no_handler'
  | 'aborted'
  | 'invalid_event'
  | 'invalid_workflow'
  | 'invalid_snapshot'
  | 'snapshot_version'
  | 'unknown_request'
  | 'input_timeout'
  | 'not_found'
  | 'subworkflow_failed'
  | 'not_running'
  | 'store_failed'
  | 'store_conflict';

/** The JSON form of an error inside RunEvents and snapshots. */
export interface ErrorInfo {
  code: WorkflowErrorCode;
  message: string;
  step?: string;
}

export interface WorkflowErrorOptions {
  step?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

/**
 * The one error class sluice throws or rejects with.
 *
 * @example
 * ```ts
 * try { await run.result } catch (e) {
 *   if (e instanceof WorkflowError && e.code === 'step_timeout') console.log('slow step', e.step);
 * }
 * ```
 */
export class WorkflowError extends Error {
  override readonly name = 'WorkflowError';
  readonly code: WorkflowErrorCode;
  readonly step: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: WorkflowErrorCode, message: string, options: WorkflowErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.step = options.step;
    this.details = options.details;
  }

  /**
   * The error back from its plain JSON view (a RunEvent's or a stored outcome's `error`), e.g. when a
   * result crosses a process boundary.
   *
   * @example
   * ```ts
   * throw WorkflowError.fromInfo({ code: 'not_found', message: 'no such run' });
   * ```
   */
  static fromInfo(info: ErrorInfo): WorkflowError {
    return new WorkflowError(info.code, info.message, info.step === undefined ? {} : { step: info.step });
  }

  /** Plain JSON view used in RunEvents (`run_failed.error`, `checkpoint_failed.error`). */
  toInfo(): ErrorInfo {
    return this.step === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, step: this.step };
  }
}

/** Describe any thrown value in one line, including `undefined` and non-Error throws. */
export function describeThrown(value: unknown): string {
  if (value instanceof Error) return value.message || value.name;
  if (value === undefined) return 'undefined was thrown';
  try {
    return typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Wrap anything a store threw into `store_failed`, keeping `WorkflowError`s as they are. */
export function asStoreError(value: unknown, what: string): WorkflowError {
  if (value instanceof WorkflowError) return value;
  return new WorkflowError('store_failed', `${what}: ${describeThrown(value)}`, { cause: value });
}

/** Errors the engine itself raises inside a step (its timeouts, sub-workflow failures); users' throws are wrapped. */
const engineMade = new WeakSet<WorkflowError>();

/** Mark an error as raised by the engine, so a failing step reports it with its own code. */
export function engineError(error: WorkflowError): WorkflowError {
  engineMade.add(error);
  return error;
}

export const isEngineError = (value: unknown): value is WorkflowError =>
  value instanceof WorkflowError && engineMade.has(value);
