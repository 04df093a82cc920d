import type { SchedulerLike, Unsubscribable } from 'rxjs';
import { after } from './timers.js';

/** A timer on a {@link FlowClock}: cancel it with `unsubscribe()`, read where it is due with `dueAt()`. */
export interface ClockTimer extends Unsubscribable {
  /** Absolute scheduler time at which it fires; while the clock is paused, now + the time it has left. */
  dueAt(): number;
}

class PausableTimer implements ClockTimer {
  /** Absolute due time while the clock runs; the time left while it is paused. */
  private due: number;
  private handle: Unsubscribable | undefined;

  constructor(
    private readonly clock: FlowClock,
    private readonly timers: Set<PausableTimer>,
    delay: number,
    private readonly fire: () => void,
  ) {
    this.due = clock.paused ? delay : clock.now() + delay;
    if (!clock.paused) this.arm(delay);
  }

  dueAt(): number {
    return this.clock.paused ? this.clock.now() + this.due : this.due;
  }

  /** @internal The clock stops: keep the time left. */
  stop(now: number): void {
    this.due = Math.max(0, this.due - now);
    this.handle?.unsubscribe();
    this.handle = undefined;
  }

  /** @internal The clock runs again: due after the time that was left. */
  start(now: number): void {
    const left = this.due;
    this.due = now + left;
    this.arm(left);
  }

  unsubscribe(): void {
    this.timers.delete(this);
    this.handle?.unsubscribe();
    this.handle = undefined;
  }

  private arm(delay: number): void {
    this.handle = after(this.clock.scheduler, delay, () => {
      this.handle = undefined;
      this.timers.delete(this);
      this.fire();
    });
  }
}

/**
 * The clock of a run's flow control (debounce, rate windows): timers on the run's scheduler that stop while
 * the run is paused and keep the time they had left (DESIGN §6.6 Clocks). One per run; the run calls
 * `pause()` and `resume()` with its pause gate.
 *
 * @example
 * ```ts
 * const clock = new FlowClock(scheduler);
 * const timer = clock.after(500, () => console.log('due'));
 * clock.pause();  // 500 ms stay 500 ms however long the pause lasts
 * clock.resume();
 * timer.dueAt();  // now + what was left
 * ```
 */
export class FlowClock {
  private readonly timers = new Set<PausableTimer>();
  private stopped = false;

  constructor(readonly scheduler: SchedulerLike) {}

  now(): number {
    return this.scheduler.now();
  }

  get paused(): boolean {
    return this.stopped;
  }

  /** Call `fire` after `delay` ms of running time. */
  after(delay: number, fire: () => void): ClockTimer {
    const timer = new PausableTimer(this, this.timers, Math.max(0, delay), fire);
    this.timers.add(timer);
    return timer;
  }

  /** Call `fire` at the absolute time `dueAt` (at once if it has passed); pauses push it back as well. */
  at(dueAt: number, fire: () => void): ClockTimer {
    return this.after(dueAt - this.now(), fire);
  }

  /** Stop every timer; each keeps the time it had left. Idempotent. */
  pause(): void {
    if (this.stopped) return;
    this.stopped = true;
    const now = this.now();
    for (const timer of this.timers) timer.stop(now);
  }

  /** Start the timers again, in the order they were set. Idempotent. */
  resume(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const now = this.now();
    for (const timer of [...this.timers]) timer.start(now);
  }

  /** Timers set and not yet fired or cancelled. */
  get size(): number {
    return this.timers.size;
  }
}
