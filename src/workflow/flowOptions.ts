import { WorkflowError } from '../errors/WorkflowError.js';
import type { WorkflowEvent } from '../events/event.js';

/** A key for per-key flow control: events with the same key share a limit, a rate window or a debounce. */
export type FlowKey<E = WorkflowEvent> = (event: E) => string;

/**
 * Step option `concurrency`: most invocations running at once — in all (a number), or per key.
 *
 * @example
 * ```ts
 * { concurrency: { limit: 1, key: (ev) => ev.data.customerId } } // one at a time per customer, all customers at once
 * ```
 */
export type ConcurrencyOption<E = WorkflowEvent> = number | { readonly limit: number; readonly key: FlowKey<E> };

/**
 * Step option `rateLimit`: at most `limit` invocations start per `interval` ms (per key when `key` is given);
 * a slot frees `interval` ms after the start it counted; the others wait in order.
 *
 * @example
 * ```ts
 * { rateLimit: { limit: 60, interval: 60_000 } } // an API allowing 60 calls a minute
 * ```
 */
export interface RateLimitOption<E = WorkflowEvent> {
  readonly limit: number;
  readonly interval: number;
  readonly key?: FlowKey<E>;
}

/**
 * Step option `debounce`: an invocation starts only after `ms` without a newer event (of the same key when
 * `key` is given); each superseded event is reported as an `event_dropped` RunEvent.
 *
 * @example
 * ```ts
 * { debounce: { ms: 500, key: (ev) => ev.data.documentId } } // re-index a document once its edits pause
 * ```
 */
export interface DebounceOption<E = WorkflowEvent> {
  readonly ms: number;
  readonly key?: FlowKey<E>;
}

/** The flow-control options a `.step`, `.subworkflow` or `.parallel` takes. */
export interface FlowOptions<E = WorkflowEvent> {
  concurrency?: ConcurrencyOption<E>;
  rateLimit?: RateLimitOption<E>;
  debounce?: DebounceOption<E>;
}

/** A step's flow control as the run loop reads it: every limit resolved, keys taking the whole event. */
export interface StepFlow {
  /** Most invocations at once, per `concurrencyKey` when there is one (Infinity: unlimited). */
  readonly concurrency: number;
  readonly concurrencyKey: FlowKey | undefined;
  readonly rateLimit: { readonly limit: number; readonly interval: number; readonly key: FlowKey | undefined } | undefined;
  readonly debounce: { readonly ms: number; readonly key: FlowKey | undefined } | undefined;
}

/** Longest delay a timer takes in one go; flow-control intervals must fit (2³¹−1 ms, about 24.8 days). */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Check a step's flow options and resolve them; throws `invalid_workflow` naming the step and the fix.
 *
 * @example
 * ```ts
 * resolveFlow('shop', 'charge', { concurrency: { limit: 1, key: (ev) => ev.data.customer } }).concurrency; // 1
 * ```
 */
export function resolveFlow(workflowName: string, step: string, options: FlowOptions<any>): StepFlow {
  const fail = (why: string) => new WorkflowError('invalid_workflow', `workflow '${workflowName}', step '${step}': ${why}`, { step });
  const { concurrency, rateLimit, debounce } = options;

  let limit = Number.POSITIVE_INFINITY;
  let concurrencyKey: FlowKey | undefined;
  if (typeof concurrency === 'number') {
    if (!(concurrency >= 1)) throw fail('`concurrency` must be a number >= 1 (or { limit, key })');
    limit = concurrency;
  } else if (concurrency !== undefined) {
    if (!isObject(concurrency)) throw fail('`concurrency` must be a number >= 1 or { limit, key }');
    onlyKeys(fail, 'concurrency', concurrency, ['limit', 'key']);
    if (!isCount(concurrency.limit)) throw fail('`concurrency.limit` must be a whole number >= 1');
    if (typeof concurrency.key !== 'function') throw fail('`concurrency.key` must be a function (event) => string; for one limit over all events pass a number');
    limit = concurrency.limit;
    concurrencyKey = concurrency.key;
  }

  let rate: StepFlow['rateLimit'];
  if (rateLimit !== undefined) {
    if (!isObject(rateLimit)) throw fail('`rateLimit` must be { limit, interval, key? }');
    onlyKeys(fail, 'rateLimit', rateLimit, ['limit', 'interval', 'key']);
    if (!isCount(rateLimit.limit)) throw fail('`rateLimit.limit` must be a whole number >= 1 (starts per interval)');
    if (!isDelay(rateLimit.interval) || rateLimit.interval === 0) {
      throw fail(`\`rateLimit.interval\` must be a number of ms > 0 and <= ${MAX_DELAY}`);
    }
    if (rateLimit.key !== undefined && typeof rateLimit.key !== 'function') throw fail('`rateLimit.key` must be a function (event) => string');
    rate = { limit: rateLimit.limit, interval: rateLimit.interval, key: rateLimit.key };
  }

  let quiet: StepFlow['debounce'];
  if (debounce !== undefined) {
    if (!isObject(debounce)) throw fail('`debounce` must be { ms, key? }');
    onlyKeys(fail, 'debounce', debounce, ['ms', 'key']);
    if (!isDelay(debounce.ms)) throw fail(`\`debounce.ms\` must be a number of ms >= 0 and <= ${MAX_DELAY}`);
    if (debounce.key !== undefined && typeof debounce.key !== 'function') throw fail('`debounce.key` must be a function (event) => string');
    quiet = { ms: debounce.ms, key: debounce.key };
  }

  return { concurrency: limit, concurrencyKey, rateLimit: rate, debounce: quiet };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}

function isDelay(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_DELAY;
}

/** A misspelt option (`interval` as `intervalMs`) would otherwise be silently ignored. */
function onlyKeys(fail: (why: string) => Error, option: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) throw fail(`\`${option}\` has an unknown field '${k}'; it takes ${allowed.join(', ')}`);
  }
}
