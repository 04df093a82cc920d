import { retry, throwError, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { WorkflowError } from '../../errors/WorkflowError.js';
import type { RetryPolicy } from '../../workflow/types.js';

/** The wait before retry number `retry` (1-based) under `policy`. */
export function retryDelay(policy: RetryPolicy, retry: number): number {
  const base = policy.delay ?? 0;
  const wait = policy.backoff === 'exponential' ? base * 2 ** (retry - 1) : base;
  return policy.maxDelay === undefined ? wait : Math.min(wait, policy.maxDelay);
}

/** Whether `error` may be retried under `policy` (a throwing `retryIf` counts as "no"). */
export function isRetryable(policy: RetryPolicy, error: unknown): boolean {
  if (WorkflowError.is(error) && !error.retryable) return false;
  if (policy.retryIf === undefined) return true;
  try {
    return policy.retryIf(error) === true;
  } catch {
    return false;
  }
}

/**
 * Resubscribe to a failing source up to `policy.retries` times, waiting per {@link retryDelay} on `scheduler`.
 * An error that {@link isRetryable} refuses ends the stream at once, without `onRetry`.
 * `onRetry(error, failedAttempt)` runs before each wait; if it throws, that error ends the stream.
 *
 * @example
 * ```ts
 * attempt$.pipe(retryWithBackoff({ retries: 3, delay: 100, backoff: 'exponential' }, scheduler, log))
 * ```
 */
export function retryWithBackoff<T>(
  policy: RetryPolicy,
  scheduler: SchedulerLike,
  onRetry: (error: unknown, failedAttempt: number) => void = () => {},
): MonoTypeOperatorFunction<T> {
  return retry({
    count: policy.retries,
    delay: (error: unknown, retryCount) => {
      if (!isRetryable(policy, error)) return throwError(() => error);
      onRetry(error, retryCount);
      return timer(retryDelay(policy, retryCount), scheduler);
    },
  });
}
