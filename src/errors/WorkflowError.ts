/**
 * Every failure sluice reports is a `WorkflowError` whose `code` comes from this closed union,
 * so callers branch on `code`, never on message text.
 */
export type WorkflowErrorCode =
  | 'step_failed'
  | 'step_timeout'
  | 'timeout'
  /** The run went idle (nothing queued, running, waiting or sleeping) under the workflow option `onIdle: 'fail'`. */
  | 'stalled'
  | 'no_handler'
  | 'aborted'
  | 'invalid_event'
  | 'invalid_workflow'
  | 'invalid_snapshot'
  /** A value handed to an engine call that could never be stored or honoured (a run id, a prompt, a timeout). */
  | 'invalid_argument'
  /** A `ctx.state` value (or a `run()` state seed) that does not fit the workflow's `state` schema. */
  | 'invalid_state'
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
  /** A failing step's error that must not be retried (see `NonRetryableError`). */
  retryable?: boolean;
}

/**
 * The brand every `WorkflowError` carries, registered globally with `Symbol.for` so that two copies of sluice in
 * one process (an ESM and a CommonJS build, or a `.ts` module served through tsx) recognise each other's errors.
 */
const BRAND: unique symbol = Symbol.for('sluice.WorkflowError') as never;

/**
 * The one error class sluice throws or rejects with.
 *
 * `WorkflowError.is(x)` and `x instanceof WorkflowError` recognise errors made by any copy of sluice loaded in the
 * process (they check a `Symbol.for` brand, not the class identity).
 *
 * @example
 * ```ts
 * import { WorkflowError } from 'sluice';
 * function explain(e: unknown): string {
 *   return WorkflowError.is(e) && e.code === 'step_timeout' ? `slow step ${e.step}` : String(e);
 * }
 * ```
 */
export class WorkflowError extends Error {
  override readonly name: string = 'WorkflowError';
  readonly code: WorkflowErrorCode;
  readonly step: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  /** `false` when a failing step must not be retried (its remaining attempts are skipped). */
  readonly retryable: boolean;
  declare readonly [BRAND]: true;

  constructor(code: WorkflowErrorCode, message: string, options: WorkflowErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.step = options.step;
    this.details = options.details;
    this.retryable = options.retryable ?? true;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Whether `value` is a `WorkflowError` from this or any other copy of sluice in the process. */
  static is(value: unknown): value is WorkflowError {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  /** `instanceof WorkflowError` uses the brand, so it holds across copies; subclasses keep the usual check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return this === WorkflowError ? WorkflowError.is(value) : Function.prototype[Symbol.hasInstance].call(this, value);
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
  if (WorkflowError.is(value)) return value;
  return new WorkflowError('store_failed', `${what}: ${describeThrown(value)}`, { cause: value });
}

/**
 * Errors the engine itself raises inside a step (its timeouts, sub-workflow failures, `EventType.of` validation);
 * users' throws are wrapped. A `Symbol.for` mark, so it holds across copies of sluice like the brand.
 */
const ENGINE = Symbol.for('sluice.engineError');

/** Mark an error as raised by the engine, so a failing step reports it with its own code. */
export function engineError(error: WorkflowError): WorkflowError {
  Object.defineProperty(error, ENGINE, { value: true });
  return error;
}

export const isEngineError = (value: unknown): value is WorkflowError =>
  WorkflowError.is(value) && (value as unknown as Record<symbol, unknown>)[ENGINE] === true;

/**
 * Throw it from a step to fail the step at once: its remaining retry attempts are skipped. The run fails with
 * `step_failed` (the error is its `cause`), as for any step failure.
 *
 * @example
 * ```ts
 * import { NonRetryableError } from 'sluice';
 * function charge(card: string): void {
 *   if (card.length !== 16) throw new NonRetryableError(`card number ${card} is malformed; retrying will not help`);
 * }
 * ```
 */
export class NonRetryableError extends WorkflowError {
  override readonly name: string = 'NonRetryableError';

  constructor(message: string, options: Omit<WorkflowErrorOptions, 'retryable'> = {}) {
    super('step_failed', message, { ...options, retryable: false });
  }
}
