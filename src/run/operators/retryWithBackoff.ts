import { retry, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import type { RetryPolicy } from '../../workflow/types.js';

/** The wait before retry number `retry` (1-based) under `policy`. */
export function retryDelay(policy: RetryPolicy, retry: number): number {
  const base = policy.delay ?? 0;
  const wait = policy.backoff === 'exponential' ? base * 2 ** (retry - 1) : base;
  return policy.maxDelay === undefined ? wait : Math.min(wait, policy.maxDelay);
}

/**
 * Resubscribe to a failing source up to `policy.retries` times, waiting per {@link retryDelay} on `scheduler`.
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
    delay: (error, retryCount) => {
      onRetry(error, retryCount);
      return timer(retryDelay(policy, retryCount), scheduler);
    },
  });
}
