import { asyncScheduler, Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/**
 * The run loop's two kinds of "later". Under the default (async) scheduler they are real: zero-delay work
 * is a microtask, and a yield is a macrotask (`setImmediate`) so timers and I/O get their turn. Under any
 * other scheduler (a TestScheduler, a custom one) both go through that scheduler, so virtual time is exact.
 */

const clocks = new WeakMap<SchedulerLike, () => number>();

/** A reading of `heldBy`'s clock, given to every read of it until released (see {@link holdClock}). */
let heldBy: SchedulerLike | undefined;
let heldAt = 0;

/** `scheduler.now` as a function, one per scheduler (not one per run); the held reading while one is held. */
export function nowOf(scheduler: SchedulerLike): () => number {
  let now = clocks.get(scheduler);
  if (now === undefined) clocks.set(scheduler, (now = () => (heldBy === scheduler ? heldAt : scheduler.now())));
  return now;
}

/**
 * Read `scheduler`'s clock once for a synchronous cascade (a step's outputs: its completion, their envelopes,
 * their routing and the steps they start): every read of it gives that reading until {@link releaseClock}. A
 * clock read is ~86 ns on a VM and a cascade read it four times per event, all within the same millisecond.
 * Released before user code runs (a step's handler, an `events$` subscriber), which may take its time. False
 * when a hold is already in place (a nested cascade): only whoever took it needs to release it.
 */
export function holdClock(scheduler: SchedulerLike): boolean {
  if (heldBy !== undefined) return false;
  heldAt = scheduler.now();
  heldBy = scheduler;
  return true;
}

/** Read clocks afresh from now on. */
export function releaseClock(): void {
  heldBy = undefined;
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
