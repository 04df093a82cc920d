import type { SchedulerLike, Unsubscribable } from 'rxjs';
import { Queue } from './queue.js';

/** What the queue dispatches into. */
export interface DispatchTarget<T> {
  /** May dispatch go on (gate open, no outcome due)? */
  canDispatch(): boolean;
  dispatch(item: T): void;
  /** Continue after a yield (the run's `pump`, which also recomputes status). */
  wake(): void;
}

/** When the queue yields: after `budget` dispatches, or once `sliceMs` of `clock` time passed, whichever first. */
export interface YieldPolicy {
  readonly budget: number;
  /** A real clock (ms) for the time slice; without one only the count applies (virtual time stays exact). */
  readonly clock?: () => number;
  readonly sliceMs?: number;
}

const REAL_TIME: YieldPolicy = { budget: 1_000, clock: () => performance.now() };
const VIRTUAL_TIME: YieldPolicy = { budget: 1_000 };

/** 1 000 dispatches before a yield, or about 5 ms under real time (virtual time counts only). Shared by all runs. */
export function yieldPolicy(realTime: boolean): YieldPolicy {
  return realTime ? REAL_TIME : VIRTUAL_TIME;
}

/**
 * The run's mailbox: a FIFO drained by a trampoline (re-entrant `drain` calls return at once, so a
 * synchronous chain of any length never grows the stack) that yields to `yieldTo` after a budget of
 * dispatches or a time slice, whichever comes first. The budget spans drains: steps that resolve in
 * microtasks drain one envelope at a time, and still yield, so timers, I/O and control are never starved.
 * While a yield is pending nothing is dispatched.
 *
 * Starts held: nothing is dispatched before `start()`, so a subscriber attached right after `run()` sees
 * every event.
 */
export class DispatchQueue<T> {
  readonly items = new Queue<T>();
  private draining = true;
  /** An item is taken from the queue and not yet handed on (see `handing`). */
  private inHand = false;
  private yielding: Unsubscribable | undefined;
  /** Dispatches since the last yield, and when the first of them happened. */
  private used = 0;
  private sliceStart = 0;
  /** When the last dispatch happened: a gap of a whole slice means the process was free, not busy. */
  private lastDispatch = 0;

  constructor(
    private readonly target: DispatchTarget<T>,
    private readonly yieldTo: SchedulerLike,
    private readonly policy: YieldPolicy,
  ) {}

  get length(): number {
    return this.items.length;
  }

  /** Held before `start()`, or inside a drain: what the queue holds is not final yet. */
  get dispatching(): boolean {
    return this.draining;
  }

  /**
   * An item is being dispatched: taken from the queue, not yet delivered. Whoever reacts to its announcement
   * (a subscriber pausing the run) must not take the run for quiet: the item is in neither the queue nor a step.
   */
  get handing(): boolean {
    return this.inHand;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Release the hold (the next `drain` dispatches). */
  start(): void {
    this.draining = false;
  }

  /** Dispatch while the target allows, until the budget or the time slice is spent; whether it dispatched any. */
  drain(): boolean {
    if (this.draining || this.yielding !== undefined) return false;
    this.draining = true;
    let dispatched = false;
    const { budget, clock, sliceMs = 5 } = this.policy;
    try {
      while (this.target.canDispatch() && this.items.length > 0) {
        const now = clock?.();
        // The loop sat idle (waiting on I/O, a timer, a sleep) for a whole slice: nothing was starved, start afresh.
        if (now !== undefined && this.used > 0 && now - this.lastDispatch >= sliceMs) this.used = 0;
        if (this.used === 0) {
          if (now !== undefined) this.sliceStart = now;
        } else if (this.used >= budget || (now !== undefined && now - this.sliceStart >= sliceMs)) {
          this.yielding = this.yieldTo.schedule(() => {
            this.yielding = undefined;
            this.used = 0;
            this.target.wake();
          });
          break;
        }
        this.used++;
        if (now !== undefined) this.lastDispatch = now;
        dispatched = true;
        this.inHand = true;
        this.target.dispatch(this.items.shift() as T);
        this.inHand = false;
      }
    } finally {
      this.draining = this.inHand = false;
    }
    return dispatched;
  }

  /** Cancel a pending yield (the run ended). */
  stop(): void {
    this.yielding?.unsubscribe();
    this.yielding = undefined;
    this.draining = true;
  }
}
