import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { operate } from '../../rx/operate.js';

/**
 * Collect what arrives within one scheduler frame and emit only the best by `rank` (higher wins; ties keep
 * the first), then complete. Used to decide between outcomes due at the same instant
 * (step error > stop > timeout), whatever order their timers happened to fire in.
 *
 * @example
 * ```ts
 * merge(errors$, stops$, timeouts$).pipe(highestInFrame((o) => RANK[o.kind], frameScheduler))
 * ```
 */
export function highestInFrame<T>(rank: (value: T) => number, scheduler: SchedulerLike): OperatorFunction<T, T> {
  return operate<T>((subscriber) => {
    let best: { value: T; rank: number } | undefined;
    const decide = () => {
      if (best === undefined) return;
      subscriber.next(best.value);
      subscriber.complete();
    };
    return {
      next: (value) => {
        const r = rank(value); // a throwing rank errors the result
        if (best === undefined) {
          best = { value, rank: r };
          subscriber.add(scheduler.schedule(decide));
        } else if (r > best.rank) {
          best = { value, rank: r };
        }
      },
      complete: () => (best === undefined ? subscriber.complete() : undefined),
    };
  });
}
