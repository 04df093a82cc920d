import { asyncScheduler, Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/**
 * The run loop's two kinds of "later". Under the default (async) scheduler they are real: zero-delay work
 * is a microtask, and a yield is a macrotask (`setImmediate`) so timers and I/O get their turn. Under any
 * other scheduler (a TestScheduler, a custom one) both go through that scheduler, so virtual time is exact.
 */

const clocks = new WeakMap<SchedulerLike, () => number>();

/** `scheduler.now` as a function, one per scheduler (not one per run). */
export function nowOf(scheduler: SchedulerLike): () => number {
  let now = clocks.get(scheduler);
  if (now === undefined) clocks.set(scheduler, (now = () => scheduler.now()));
  return now;
}

/** Zero-delay work: the next microtask under the default scheduler, else `scheduler` itself. */
export function zeroDelayScheduler(scheduler: SchedulerLike): SchedulerLike {
  return scheduler === asyncScheduler ? microtaskScheduler : scheduler;
}

/** Where the loop yields to let the process breathe: the macrotask queue, else `scheduler` itself. */
export function yieldScheduler(scheduler: SchedulerLike): SchedulerLike {
  return scheduler === asyncScheduler ? macrotaskScheduler : scheduler;
}

/**
 * `queueMicrotask` as a SchedulerLike: one microtask per action. RxJS's asapScheduler keeps one array of
 * actions and `shift()`s it, so 100 000 runs resuming in one turn cost O(n²) there (measured: resuming
 * 100 000 parked runs spent most of its time in AsapScheduler.flush and arrRemove). Delays above zero go to
 * the async scheduler.
 */
export const microtaskScheduler: SchedulerLike = {
  now: () => asyncScheduler.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    if (delay > 0) return asyncScheduler.schedule(work, delay, state);
    const action = new Subscription() as unknown as SchedulerAction<T>;
    queueMicrotask(() => {
      if (!action.closed) work.call(action, state);
    });
    return action as unknown as Subscription;
  },
};

/**
 * `setImmediate` as a SchedulerLike: runs after the I/O and timers that are due, unlike a microtask
 * (asap) and without the 1 ms floor of `setTimeout`. Delays above zero go to the async scheduler.
 */
export const macrotaskScheduler: SchedulerLike = {
  now: () => asyncScheduler.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    if (delay > 0) return asyncScheduler.schedule(work, delay, state);
    const action = new Subscription(() => clearImmediate(handle)) as unknown as SchedulerAction<T>;
    const handle = setImmediate(() => work.call(action, state));
    return action as unknown as Subscription;
  },
};
