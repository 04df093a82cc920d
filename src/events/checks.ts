import { WorkflowError, type WorkflowErrorCode } from '../errors/WorkflowError.js';
import { describeJsonProblem, jsonProblem, UNDEFINED_ALLOWED } from './json.js';

/** The fields of a retry policy checked here (structural, so this layer need not import the workflow's types). */
interface RetryPolicy {
  retries: number;
  delay?: number;
  backoff?: string;
  maxDelay?: number;
}

/**
 * Validation at the edges (DESIGN §6.6): every value the engine would later fail to store or load is refused
 * where it enters, with a coded error naming the fix, never accepted and lost at the next restart.
 */

/** Longest run id (UTF-16 units); its percent-encoded form must also fit {@link MAX_ENCODED_RUN_ID}. */
export const MAX_RUN_ID = 128;
/** A FileStore names files after the percent-encoded id: this keeps the name and its temp sibling under 255 bytes. */
export const MAX_ENCODED_RUN_ID = 192;

/**
 * Why `runId` cannot be stored by every store, or `undefined` when it can: a non-empty, well-formed string
 * (no lone surrogates), at most 128 characters (192 once percent-encoded), without control characters or
 * path separators, and not `.` or `..`.
 */
export function runIdProblem(runId: unknown): string | undefined {
  if (typeof runId !== 'string') return `a run id must be a string, got ${typeof runId}`;
  if (runId.length === 0) return 'a run id must not be empty';
  if (runId.length > MAX_RUN_ID) return `a run id must be at most ${MAX_RUN_ID} characters, got ${runId.length}`;
  if (!isWellFormed(runId)) return 'a run id must be well-formed Unicode (it has a lone surrogate)';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(runId)) return 'a run id must not contain control characters';
  if (/[/\\]/.test(runId)) return "a run id must not contain '/' or '\\' (stores use it to name files and keys)";
  if (runId === '.' || runId === '..') return `a run id must not be '${runId}'`;
  const encoded = encodeURIComponent(runId).length;
  if (encoded > MAX_ENCODED_RUN_ID) {
    return `a run id must be at most ${MAX_ENCODED_RUN_ID} characters once percent-encoded (non-ASCII takes up to 12 each), got ${encoded}`;
  }
  return undefined;
}

/** Throws `invalid_argument` when `runId` cannot be stored; `where` names the call (`wf.run()`, `wf.start()`). */
export function checkRunId(runId: unknown, where: string): asserts runId is string {
  const why = runIdProblem(runId);
  if (why !== undefined) {
    throw new WorkflowError('invalid_argument', `${where}: ${why}; pass another runId or leave it out for a uuid`, {
      details: { runId: typeof runId === 'string' ? runId.slice(0, MAX_RUN_ID) : String(runId) },
    });
  }
}

/** A duration in ms: a finite number >= 0 (longer than a timer's 2³¹−1 ms range is fine: timers are chained). */
export function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Throws `code` unless `value` is `undefined` or a duration; `what` names the option (`step 'x': timeout`). */
export function checkDuration(value: unknown, what: string, code: WorkflowErrorCode, extra: { step?: string } = {}): void {
  if (value === undefined || isDuration(value)) return;
  throw new WorkflowError(code, `${what} must be a finite number of ms >= 0, got ${describe(value)}`, {
    ...extra,
    details: { value: describe(value) },
  });
}

/** A retry policy: `retries` a non-negative integer, `delay` and `maxDelay` durations, a known `backoff`. */
export function checkRetry(retry: RetryPolicy | undefined, what: string, extra: { step?: string } = {}): void {
  if (retry === undefined) return;
  const fail = (why: string) => new WorkflowError('invalid_workflow', `${what}: ${why}`, extra);
  if (typeof retry !== 'object' || retry === null) throw fail('retry must be { retries, delay?, backoff?, maxDelay? }');
  if (!Number.isInteger(retry.retries) || retry.retries < 0) throw fail(`retry.retries must be an integer >= 0, got ${describe(retry.retries)}`);
  checkDuration(retry.delay, `${what}: retry.delay`, 'invalid_workflow', extra);
  checkDuration(retry.maxDelay, `${what}: retry.maxDelay`, 'invalid_workflow', extra);
  if (retry.backoff !== undefined && retry.backoff !== 'fixed' && retry.backoff !== 'exponential') {
    throw fail(`retry.backoff must be 'fixed' or 'exponential', got ${describe(retry.backoff)}`);
  }
}

/** Throws `code` unless `value` is plain JSON (run input, state, answers, metadata: all go into snapshots); `what` names it (a function: worded only on failure). */
export function checkJson(value: unknown, what: string | (() => string), code: WorkflowErrorCode, allowUndefined = true): void {
  const found = jsonProblem(value, allowUndefined ? UNDEFINED_ALLOWED : undefined);
  if (found === undefined) return;
  const where = typeof what === 'string' ? what : what();
  throw new WorkflowError(code, `${where} is not plain JSON (${describeJsonProblem(found)}); it is stored in snapshots, so pass JSON values`, {
    details: { path: found.path },
  });
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  return value === null ? 'null' : typeof value;
}

function isWellFormed(s: string): boolean {
  const native = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof native === 'function') return native.call(s);
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}
