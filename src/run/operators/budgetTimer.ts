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

  set(running: boolean): void {
    if (running && this.since === undefined) this.since = this.now();
    else if (!running && this.since !== undefined) {
      this.spent += this.now() - this.since;
      this.since = undefined;
    }
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
  // Hand-written (not distinctUntilChanged/switchMap/timer/take): every run arms one, so it must be cheap.
  return operate<boolean, number>((subscriber) => {
    let deadline: Unsubscribable | undefined;
    let running: boolean | undefined;
    const stop = () => {
      deadline?.unsubscribe();
      deadline = undefined;
    };
    subscriber.add(stop);
    return {
      next: (value) => {
        if (value === running) return;
        running = value;
        watch.set(value);
        stop();
        if (value) {
          deadline = after(scheduler, budgetMs - watch.elapsed(), () => {
            subscriber.next(0);
            subscriber.complete();
          });
        }
      },
      // With the clock running the budget still runs out; standing still, it never will.
      complete: () => (deadline === undefined ? subscriber.complete() : undefined),
    };
  });
}
