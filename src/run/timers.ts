import { config, type SchedulerLike, type Subscription, type Unsubscribable } from 'rxjs';

/** A pending deadline; `unsubscribe()` cancels it. */
class Deadline implements Unsubscribable {
  cancelled = false;

  constructor(
    readonly due: number,
    readonly order: number,
    readonly fire: () => void,
    private readonly queue: TimerQueue,
  ) {}

  unsubscribe(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.queue.cancelled();
  }
}

/**
 * Many deadlines on one scheduler action, scheduled for the soonest live one. Runs set a workflow timeout
 * (and often step timeouts) that almost never fires; one action per scheduler instead of one per deadline
 * makes arming and cancelling them a heap push and a flag.
 */
class TimerQueue {
  private readonly heap: Deadline[] = [];
  private action: Subscription | undefined;
  private actionDue = Number.POSITIVE_INFINITY;
  private live = 0;
  private order = 0;

  constructor(private readonly scheduler: SchedulerLike) {}

  add(delay: number, fire: () => void): Deadline {
    const now = this.scheduler.now();
    const deadline = new Deadline(now + Math.max(0, delay), this.order++, fire, this);
    this.push(deadline);
    this.live++;
    this.arm(now);
    return deadline;
  }

  cancelled(): void {
    this.live--;
    if (this.live === 0) {
      // Nothing left to wait for: drop the action so an idle process can exit. (Keeping it for the next run
      // would save a timer per run, but a test's fake timers can wipe a kept timer between tests.)
      this.heap.length = 0;
      this.disarm();
    } else if (this.heap.length > 64 && this.heap.length > 2 * this.live) {
      const keep = this.heap.filter((d) => !d.cancelled);
      this.heap.length = 0;
      for (const d of keep) this.push(d);
    }
  }

  private readonly flush = (): void => {
    this.action = undefined;
    this.actionDue = Number.POSITIVE_INFINITY;
    const now = this.scheduler.now();
    let failures: unknown[] | undefined;
    while (this.heap.length > 0 && (this.heap[0] as Deadline).due <= now) {
      const deadline = this.pop();
      if (deadline.cancelled) continue;
      deadline.cancelled = true;
      this.live--;
      // One throwing callback must not stop the later deadlines on this scheduler.
      try {
        deadline.fire();
      } catch (error) {
        (failures ??= []).push(error);
      }
    }
    this.arm(); // callbacks take time: read the clock again
    // Reported as RxJS reports an error nobody handles, after the queue is armed again.
    for (const error of failures ?? []) reportUnhandledError(error);
  };

  private arm(now = this.scheduler.now()): void {
    while (this.heap.length > 0 && (this.heap[0] as Deadline).cancelled) this.pop();
    const next = this.heap[0];
    if (next === undefined) return this.disarm();
    if (this.action !== undefined && next.due >= this.actionDue) return;
    this.disarm();
    // Timers cannot wait longer than MAX_DELAY at once (Node turns more into 1 ms): chain the waits.
    const wait = Math.min(Math.max(0, next.due - now), MAX_DELAY);
    this.actionDue = Math.min(next.due, now + wait);
    this.action = this.scheduler.schedule(this.flush, wait);
  }

  private disarm(): void {
    this.action?.unsubscribe();
    this.action = undefined;
    this.actionDue = Number.POSITIVE_INFINITY;
  }

  // A binary min-heap on (due, order): equal deadlines fire in the order they were set.
  private before(a: Deadline, b: Deadline): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order);
  }

  private push(deadline: Deadline): void {
    const heap = this.heap;
    heap.push(deadline);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i] as Deadline, heap[parent] as Deadline)) break;
      [heap[i], heap[parent]] = [heap[parent] as Deadline, heap[i] as Deadline];
      i = parent;
    }
  }

  private pop(): Deadline {
    const heap = this.heap;
    const top = heap[0] as Deadline;
    const last = heap.pop() as Deadline;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.before(heap[l] as Deadline, heap[m] as Deadline)) m = l;
        if (r < heap.length && this.before(heap[r] as Deadline, heap[m] as Deadline)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m] as Deadline, heap[i] as Deadline];
        i = m;
      }
    }
    return top;
  }
}

const queues = new WeakMap<SchedulerLike, TimerQueue>();

/** The longest delay a timer takes at once (2^31 − 1 ms, about 24.8 days). */
export const MAX_DELAY = 2 ** 31 - 1;

function reportUnhandledError(error: unknown): void {
  const handler = config.onUnhandledError;
  if (handler !== null) handler(error);
  else
    setTimeout(() => {
      throw error;
    });
}

/**
 * Call `fire` after `delay` ms of `scheduler` time; the result's `unsubscribe()` cancels it. Deadlines on
 * one scheduler share one scheduled action, so a virtual-time scheduler sees them at their exact frames.
 *
 * @example
 * ```ts
 * const timeout = after(scheduler, 5_000, () => fail('too slow'));
 * timeout.unsubscribe(); // done in time
 * ```
 */
export function after(scheduler: SchedulerLike, delay: number, fire: () => void): Unsubscribable {
  let queue = queues.get(scheduler);
  if (queue === undefined) {
    queue = new TimerQueue(scheduler);
    queues.set(scheduler, queue);
  }
  return queue.add(delay, fire);
}
