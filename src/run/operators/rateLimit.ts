import { Observable, type MonoTypeOperatorFunction, type Unsubscribable } from 'rxjs';
import type { ClockTimer, FlowClock } from '../flowClock.js';
import type { HeldValue, Holding } from '../holding.js';

export interface RateLimitOptions<T> {
  /** Starts allowed per window. */
  readonly limit: number;
  /** Window length in ms: a slot frees `interval` ms after the start it counted. */
  readonly interval: number;
  /** The key a value is limited under; default: one key for all. */
  readonly key?: (value: T) => string;
  readonly clock: FlowClock;
  /** Where the waiting values are listed, each with the time its slot frees. */
  readonly holding?: Holding<T>;
  /** A due time a value already carries (restored from a snapshot): it does not start before then. */
  readonly dueAt?: (value: T) => number | undefined;
}

interface Waiter<T> {
  readonly value: T;
  readonly start: (value: T) => void;
  readonly notBefore: number | undefined;
}

/** One key's window: the slots in use (each a timer freeing it) and the values waiting, in order. */
interface KeyWindow<T> {
  readonly slots: Set<ClockTimer>;
  readonly queue: Waiter<T>[];
  /** Armed while the head waits for its restored due time. */
  wake: ClockTimer | undefined;
}

/**
 * A per-key rate window on a pausable clock: at most `limit` starts per `interval` ms per key; a slot frees
 * `interval` ms after the start it counted; values over the limit wait in arrival order. Shared state, so a
 * run can take a slot *inside* a concurrency slot (`mergeMapByKey(v => window.acquire(v)…)`), which is what
 * makes the rate count real starts when a step has both limits. An idle key costs nothing.
 *
 * @example
 * ```ts
 * const window = new RateWindow({ limit: 10, interval: 60_000, clock });
 * const cancel = window.take(env, (env) => invoke(env)); // now, or when a slot frees
 * ```
 */
export class RateWindow<T> {
  private readonly keys = new Map<string, KeyWindow<T>>();
  private readonly listing: Unsubscribable | undefined;

  constructor(private readonly options: RateLimitOptions<T>) {
    this.listing = options.holding?.add(() => this.held());
  }

  /**
   * Call `start(value)` when a slot of the value's key is free (synchronously if one is); `unsubscribe()` on
   * the result withdraws a value still waiting. Throws what the key function throws.
   */
  take(value: T, start: (value: T) => void): Unsubscribable {
    const k = this.options.key === undefined ? '' : this.options.key(value);
    const waiter: Waiter<T> = { value, start, notBefore: this.options.dueAt?.(value) };
    let w = this.keys.get(k);
    if (w === undefined) this.keys.set(k, (w = { slots: new Set(), queue: [], wake: undefined }));
    w.queue.push(waiter);
    this.drain(k, w);
    return {
      unsubscribe: () => {
        const at = (w as KeyWindow<T>).queue.indexOf(waiter);
        if (at < 0) return;
        (w as KeyWindow<T>).queue.splice(at, 1);
        this.drain(k, w as KeyWindow<T>);
      },
    };
  }

  /** Values waiting, in order, each with the time it would start if nothing is paused. */
  held(): HeldValue<T>[] {
    const { limit, interval, clock } = this.options;
    const all: HeldValue<T>[] = [];
    for (const w of this.keys.values()) {
      if (w.queue.length === 0) continue;
      // Free times of the `limit` slots, soonest first; each waiter takes the soonest and holds it `interval`.
      const free = [...w.slots].map((s) => s.dueAt());
      while (free.length < limit) free.push(clock.now());
      free.sort((a, b) => a - b);
      let previous = Number.NEGATIVE_INFINITY;
      for (const { value, notBefore } of w.queue) {
        const dueAt = Math.max(free.shift() as number, notBefore ?? previous, previous);
        all.push({ value, dueAt });
        previous = dueAt;
        const freesAt = dueAt + interval;
        const at = free.findIndex((t) => t > freesAt);
        free.splice(at < 0 ? free.length : at, 0, freesAt);
      }
    }
    return all;
  }

  /**
   * The slots in use, per key, as the times they free (absolute scheduler ms; while the clock is paused, now
   * + the time they have left): what a snapshot keeps so a resumed run does not start over with a full window.
   */
  usedSlots(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [k, w] of this.keys) if (w.slots.size > 0) out[k] = [...w.slots].map((s) => s.dueAt()).sort((a, b) => a - b);
    return out;
  }

  /**
   * Count slots used before a snapshot (see {@link usedSlots}): each stays in use until its free time; times
   * already past are dropped, and at most `limit` per key are kept (the latest).
   */
  restoreSlots(slots: Readonly<Record<string, readonly number[]>>): void {
    const { limit, clock } = this.options;
    for (const [k, times] of Object.entries(slots)) {
      const future = times.filter((t) => t > clock.now()).sort((a, b) => a - b).slice(-limit);
      if (future.length === 0) continue;
      let w = this.keys.get(k);
      if (w === undefined) this.keys.set(k, (w = { slots: new Set(), queue: [], wake: undefined }));
      for (const t of future) this.useSlot(k, w, t - clock.now());
    }
  }

  /** Cancel every timer and forget every waiter. */
  close(): void {
    this.listing?.unsubscribe();
    for (const w of this.keys.values()) {
      for (const slot of w.slots) slot.unsubscribe();
      w.wake?.unsubscribe();
    }
    this.keys.clear();
  }

  /** Values waiting in every key. */
  get waiting(): number {
    let n = 0;
    for (const w of this.keys.values()) n += w.queue.length;
    return n;
  }

  /** Take a slot of key `k` that frees after `ms` of running time. */
  private useSlot(k: string, w: KeyWindow<T>, ms: number): void {
    const slot: ClockTimer = this.options.clock.after(ms, () => {
      w.slots.delete(slot);
      this.drain(k, w);
    });
    w.slots.add(slot);
  }

  private drain(k: string, w: KeyWindow<T>): void {
    const { limit, interval, clock } = this.options;
    while (w.queue.length > 0 && w.slots.size < limit) {
      const head = w.queue[0] as Waiter<T>;
      if (head.notBefore !== undefined && head.notBefore > clock.now()) {
        w.wake ??= clock.at(head.notBefore, () => {
          w.wake = undefined;
          this.drain(k, w);
        });
        return;
      }
      w.queue.shift();
      this.useSlot(k, w, interval);
      head.start(head.value);
    }
    if (w.queue.length === 0) {
      w.wake?.unsubscribe();
      w.wake = undefined;
      if (w.slots.size === 0 && this.keys.get(k) === w) this.keys.delete(k);
    }
  }
}

/**
 * Let values through at most `limit` per `interval` ms per key, the others waiting in order (see
 * {@link RateWindow}); completes when the source has completed and nothing waits any more.
 *
 * @example
 * ```ts
 * calls$.pipe(rateLimit({ limit: 3, interval: 1_000, key: (c) => c.provider, clock }))
 * ```
 */
export function rateLimit<T>(options: RateLimitOptions<T>): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const window = new RateWindow(options);
      subscriber.add(() => window.close());
      subscriber.add(source.pipe(rateLimitWith(window)).subscribe(subscriber));
    });
}

/**
 * {@link rateLimit} through a window that outlives the subscription (a run keeps its windows across
 * hibernation); unsubscribing withdraws the values still waiting, the slots already used stay counted.
 *
 * @example
 * ```ts
 * envelopes$.pipe(rateLimitWith(window), mergeMap(invoke))
 * ```
 */
export function rateLimitWith<T>(window: RateWindow<T>): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const tickets = new Set<Unsubscribable>();
      let done = false;
      subscriber.add(() => {
        for (const ticket of tickets) ticket.unsubscribe();
        tickets.clear();
      });
      subscriber.add(
        source.subscribe({
          next: (value) => {
            let ticket: Unsubscribable | undefined;
            let started = false;
            try {
              ticket = window.take(value, (v) => {
                started = true;
                if (ticket !== undefined) tickets.delete(ticket);
                subscriber.next(v);
                if (done && tickets.size === 0) subscriber.complete();
              });
            } catch (thrown) {
              subscriber.error(thrown);
              return;
            }
            if (!started) tickets.add(ticket);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            done = true;
            if (tickets.size === 0) subscriber.complete();
          },
        }),
      );
    });
}
