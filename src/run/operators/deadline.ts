import type { MonoTypeOperatorFunction, SchedulerLike } from 'rxjs';
import { operate } from '../../rx/operate.js';
import { after } from '../timers.js';

/**
 * Error with `makeError()` unless the source completes within `ms` of subscription.
 * Unlike RxJS `timeout`, which times the gap between values, this bounds the whole lifetime, which is what
 * a step timeout means for a step that emits several events.
 *
 * @example
 * ```ts
 * invocation$.pipe(deadline(5_000, scheduler, () => new WorkflowError('step_timeout', 'too slow')))
 * ```
 */
export function deadline<T>(ms: number, scheduler: SchedulerLike, makeError: () => unknown): MonoTypeOperatorFunction<T> {
  return operate<T>((subscriber) => {
    const expire = () => {
      // Building the error may throw; the subscriber must still be told.
      let error: unknown;
      try {
        error = makeError();
      } catch (thrown) {
        error = thrown;
      }
      subscriber.error(error);
    };
    subscriber.add(after(scheduler, ms, expire));
    return {};
  });
}
