import type { OperatorFunction, SchedulerLike, Unsubscribable } from 'rxjs';
import { operate } from '../../rx/operate.js';
import { after } from '../timers.js';

/** Time spent with the clock running, readable at any moment (for snapshots). */
export class Stopwatch {
  private since: number | undefined;

  constructor(
    private readonly now: () => number,
    private spent = 0,
  ) {}

  /** ms accumulated so far, including the current running stretch. */
  elapsed(): number {
    return this.spent + (this.since === undefined ? 0 : this.now() - this.since);
  }

  /** Run the clock; returns the ms accumulated so far (one clock read). */
  start(): number {
    if (this.since !== undefined) return this.elapsed();
    this.since = this.now();
    return this.spent;
  }

  set(running: boolean): void {
    if (running) this.since ??= this.now();
    else if (this.since !== undefined) {
      this.spent += this.now() - this.since;
      this.since = undefined;
    }
  }
}

/**
 * A budget of running time: `spent` is called once the clock has been running for `budgetMs` in total.
 * `set(true)` starts (or continues) the clock, `set(false)` stands it still; stretches add up, so a workflow
 * timeout ignores paused time. The run drives one directly from its status changes; `budgetTimer` is the
 * same as an operator.
 */
export class Budget {
  private deadline: Unsubscribable | undefined;
  private running: boolean | undefined;

  constructor(
    private readonly budgetMs: number,
    private readonly scheduler: SchedulerLike,
    private readonly watch: Stopwatch,
    private readonly spent: () => void,
  ) {}

  set(running: boolean): void {
    if (running === this.running) return;
    this.running = running;
    this.stop();
    if (!running) return this.watch.set(false);
    this.deadline = after(this.scheduler, this.budgetMs - this.watch.start(), () => {
      this.deadline = undefined;
      this.spent();
    });
  }

  /** Whether a deadline is armed (the clock runs and the budget is not spent). */
  get armed(): boolean {
    return this.deadline !== undefined;
  }

  stop(): void {
    this.deadline?.unsubscribe();
    this.deadline = undefined;
  }
}

/**
 * Emit once when the clock has been running for `budgetMs` in total. The source says whether the clock
 * runs (true) or stands still (false); stretches add up, so a workflow timeout ignores paused time.
 *
 * @example
 * ```ts
 * status$.pipe(map(s => s === 'running'), budgetTimer(60_000, scheduler, new Stopwatch(() => scheduler.now())))
 * ```
 */
export function budgetTimer(budgetMs: number, scheduler: SchedulerLike, watch: Stopwatch): OperatorFunction<boolean, number> {
  return operate<boolean, number>((subscriber) => {
    const budget = new Budget(budgetMs, scheduler, watch, () => {
      subscriber.next(0);
      subscriber.complete();
    });
    subscriber.add(() => budget.stop());
    return {
      next: (value) => budget.set(value),
      // With the clock running the budget still runs out; standing still, it never will.
      complete: () => (budget.armed ? undefined : subscriber.complete()),
    };
  });
}
