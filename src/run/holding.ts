import type { Unsubscribable } from 'rxjs';

/** A value a flow operator holds back, and when it is due to go on where a clock decides that. */
export interface HeldValue<T> {
  readonly value: T;
  /** Absolute scheduler time (debounce or rate-window due time); absent when only a free slot is awaited. */
  readonly dueAt?: number;
}

/**
 * Where flow operators (`debounceByKey`, `rateLimit`, `mergeMapByKey`) report what they hold back, so a run
 * can list it in a snapshot at any moment. Each subscribed operator adds one lister while it is subscribed;
 * `list()` asks them all, in the order they were added, each in its own order (arrival or due order).
 *
 * @example
 * ```ts
 * const holding = new Holding<Envelope>();
 * bus.pipe(debounceByKey({ ms: 500, clock, holding }), mergeMapByKey(invoke, { limit: 1, key, holding }));
 * holding.list(); // [{ value: env, dueAt: 1_700_000_000_500 }, { value: env2 }]
 * ```
 */
export class Holding<T> {
  private readonly listers = new Set<() => Iterable<HeldValue<T>>>();

  /** Register a lister; unsubscribe when the operator is torn down. */
  add(lister: () => Iterable<HeldValue<T>>): Unsubscribable {
    this.listers.add(lister);
    return { unsubscribe: () => void this.listers.delete(lister) };
  }

  list(): HeldValue<T>[] {
    const all: HeldValue<T>[] = [];
    for (const lister of this.listers) for (const held of lister()) all.push(held);
    return all;
  }
}
