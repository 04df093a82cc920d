import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { ClockTimer, FlowClock } from '../flowClock.js';
import type { HeldValue, Holding } from '../holding.js';

export interface DebounceByKeyOptions<T> {
  /** Quiet time: a value goes on only after `ms` without a newer value of its key. */
  readonly ms: number;
  /** The key a value is debounced under; default: one key for all. */
  readonly key?: (value: T) => string;
  readonly clock: FlowClock;
  /** Told of every superseded value, before the newer one is held (the run emits `event_dropped`). */
  readonly onDrop?: (value: T) => void;
  /** Where the held values are listed, each with its due time. */
  readonly holding?: Holding<T>;
  /** A due time a value already carries (restored from a snapshot): it is held until then instead of `ms`. */
  readonly dueAt?: (value: T) => number | undefined;
}

interface Entry<T> {
  readonly value: T;
  readonly timer: ClockTimer;
}

/**
 * Trailing debounce per key, on a pausable clock: each value waits `ms`; a newer value of the same key
 * replaces it (the older one goes to `onDrop`, never lost silently) and starts the wait again. Keys are
 * independent. On completion the held values go on at once, soonest due first, as `debounceTime` does.
 * Written by hand rather than `groupBy` + `debounceTime`: the held values must be listable with their due
 * times, the timers must stop while the run is paused, and an idle key must cost nothing.
 *
 * @example
 * ```ts
 * envelopes$.pipe(debounceByKey({ ms: 500, key: (env) => env.event.data.userId, clock, onDrop: report }))
 * ```
 */
export function debounceByKey<T>(options: DebounceByKeyOptions<T>): MonoTypeOperatorFunction<T> {
  const { ms, key, clock, onDrop, holding, dueAt } = options;
  return (source) =>
    new Observable<T>((subscriber) => {
      const held = new Map<string, Entry<T>>();
      const release = (k: string, entry: Entry<T>) => {
        entry.timer.unsubscribe();
        held.delete(k);
      };
      const releaseAll = () => {
        for (const entry of held.values()) entry.timer.unsubscribe();
        held.clear();
      };
      subscriber.add(releaseAll);
      if (holding !== undefined) subscriber.add(holding.add(() => list(held)));
      subscriber.add(
        source.subscribe({
          next: (value) => {
            let k: string;
            let due: number | undefined;
            try {
              k = key === undefined ? '' : key(value);
              due = dueAt?.(value);
              const older = held.get(k);
              if (older !== undefined) {
                release(k, older);
                onDrop?.(older.value);
              }
            } catch (thrown) {
              subscriber.error(thrown);
              return;
            }
            const go = () => {
              held.delete(k);
              subscriber.next(value);
            };
            held.set(k, { value, timer: due === undefined ? clock.after(ms, go) : clock.at(due, go) });
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            const due = list(held);
            releaseAll();
            for (const { value } of due) subscriber.next(value);
            subscriber.complete();
          },
        }),
      );
    });
}

/** Held values, soonest due first (ties in arrival order: the sort is stable). */
function list<T>(held: Map<string, Entry<T>>): HeldValue<T>[] {
  return [...held.values()].map(({ value, timer }) => ({ value, dueAt: timer.dueAt() })).sort((a, b) => a.dueAt - b.dueAt);
}
