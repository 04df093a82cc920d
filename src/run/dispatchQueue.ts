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

/**
 * The run's mailbox: a FIFO drained by a trampoline (re-entrant `drain` calls return at once, so a
 * synchronous chain of any length never grows the stack) that yields to `yieldTo` after `budget` dispatches,
 * so pause, abort and snapshot are never starved by a busy queue.
 *
 * Starts held: nothing is dispatched before `start()`, so a subscriber attached right after `run()` sees
 * every event.
 */
export class DispatchQueue<T> {
  readonly items = new Queue<T>();
  private draining = true;
  private yielding: Unsubscribable | undefined;

  constructor(
    private readonly target: DispatchTarget<T>,
    private readonly yieldTo: SchedulerLike,
    private readonly budget: number,
  ) {}

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Release the hold (the next `drain` dispatches). */
  start(): void {
    this.draining = false;
  }

  /** Dispatch while the target allows; yields after `budget` dispatches. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    let budget = this.budget;
    try {
      while (this.target.canDispatch() && this.items.length > 0) {
        if (budget-- === 0) {
          this.yielding ??= this.yieldTo.schedule(() => {
            this.yielding = undefined;
            this.target.wake();
          });
          break;
        }
        this.target.dispatch(this.items.shift() as T);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Cancel a pending yield (the run ended). */
  stop(): void {
    this.yielding?.unsubscribe();
    this.yielding = undefined;
    this.draining = true;
  }
}
