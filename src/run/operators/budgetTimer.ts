import { distinctUntilChanged, EMPTY, switchMap, take, timer, type OperatorFunction, type SchedulerLike } from 'rxjs';

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
  return (running$) =>
    running$.pipe(
      distinctUntilChanged(),
      switchMap((running) => {
        watch.set(running);
        return running ? timer(Math.max(0, budgetMs - watch.elapsed()), scheduler) : EMPTY;
      }),
      take(1),
    );
}
