import { defer, groupBy, map, mergeMap, Observable, tap, type ObservableInput, type OperatorFunction } from 'rxjs';
import type { HeldValue, Holding } from '../holding.js';

export interface MergeMapByKeyOptions<T> {
  /** Inner subscriptions alive at once per key. */
  readonly limit: number;
  readonly key: (value: T) => string;
  /** Where the values waiting for a free slot are listed, in arrival order. */
  readonly holding?: Holding<T>;
}

/** A value on its way, with its key computed once. */
interface Keyed<T> {
  readonly key: string;
  readonly value: T;
}

/** One live key: how many of its values arrived and have not finished (its group closes at 0). */
interface Live {
  count: number;
  close: (() => void) | undefined;
}

/**
 * `mergeMap` with its concurrency limit applied per key: `groupBy(key)` → `mergeMap(project, limit)` per
 * group. A group closes (groupBy's `duration`) as soon as its key has nothing running or waiting, so keys
 * seen once cost nothing afterwards and a long run's memory does not grow with the keys it has seen.
 * Each group's mergeMap holds at most `limit` inner subscriptions (notes/rxjs-performance.md).
 *
 * @example
 * ```ts
 * orders$.pipe(mergeMapByKey((order) => charge(order), { limit: 1, key: (order) => order.customerId }))
 * ```
 */
export function mergeMapByKey<T, R>(project: (value: T) => ObservableInput<R>, options: MergeMapByKeyOptions<T>): OperatorFunction<T, R> {
  const { limit, key, holding } = options;
  return (source) =>
    defer(() => {
      const live = new Map<string, Live>();
      // Arrival order across keys, for listing: a value leaves when its inner subscription starts.
      const arrived = new Set<Keyed<T>>();
      const finished = (k: string) => {
        const entry = live.get(k) as Live;
        if (--entry.count > 0) return;
        live.delete(k);
        entry.close?.();
      };
      const keyed$ = source.pipe(
        map((value): Keyed<T> => ({ key: key(value), value })),
        tap((item) => {
          let entry = live.get(item.key);
          if (entry === undefined) live.set(item.key, (entry = { count: 0, close: undefined }));
          entry.count++;
          arrived.add(item);
        }),
      );
      const out$ = keyed$.pipe(
        groupBy((item) => item.key, {
          duration: (group) =>
            new Observable<void>((closer) => {
              (live.get(group.key) as Live).close = () => closer.next();
            }),
        }),
        mergeMap((group) =>
          group.pipe(
            mergeMap((item) => {
              arrived.delete(item);
              // Counted off on completion only: on error or unsubscribe the whole operator is going away.
              return defer(() => project(item.value)).pipe(tap({ complete: () => finished(item.key) }));
            }, limit),
          ),
        ),
      );
      if (holding === undefined) return out$;
      return new Observable<R>((subscriber) => {
        subscriber.add(holding.add(() => [...arrived].map(({ value }): HeldValue<T> => ({ value }))));
        subscriber.add(out$.subscribe(subscriber));
      });
    });
}
