import { map, type Observable, type SchedulerLike, type Subscription, type Unsubscribable } from 'rxjs';
import { describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import type { WorkflowEvent } from '../events/event.js';
import type { WaitForOptions } from '../context/types.js';
import type { DurableWait } from '../snapshot/schema.js';
import type { Invocation } from './invocation.js';
import { budgetTimer, Stopwatch } from './operators/budgetTimer.js';
import type { RunStatus } from './status.js';
import { after } from './timers.js';

export type { DurableWait };

export type { WaitForOptions };

interface Wait {
  entry: DurableWait;
  invocation?: Invocation;
  resolve?: (value: unknown) => void;
  reject?: (error: unknown) => void;
  match?: (event: WorkflowEvent) => boolean;
  timer?: Unsubscribable;
  watch?: Stopwatch;
  /** Restored event wait, not asked again yet: events of its type kept until its step brings `match`. */
  candidates?: WorkflowEvent[];
}

/** What durable waits need from their run. */
export interface WaitHost {
  readonly scheduler: SchedulerLike;
  /** The run's status: a waitFor deadline runs while it is not `paused`; wake-ups wait for the resume. */
  readonly status$: Observable<RunStatus>;
  readonly paused: boolean;
  park(inv: Invocation): void;
  unpark(inv: Invocation): void;
  /** Open waits changed (the run recomputes its status). */
  changed(): void;
}

/** Longest single timer; longer sleeps are chained (DESIGN §6.6: exact, never a busy loop). */
const MAX_DELAY = 2 ** 31 - 1;

/** `fire` at the absolute scheduler time `dueAt` (at once if past), chained beyond a timer's range. */
function at(scheduler: SchedulerLike, dueAt: number, fire: () => void): Unsubscribable {
  let current: Unsubscribable;
  const arm = () => {
    const delay = dueAt - scheduler.now();
    current = delay > MAX_DELAY ? after(scheduler, MAX_DELAY, arm) : after(scheduler, delay, fire);
  };
  arm();
  return { unsubscribe: () => current.unsubscribe() };
}

/**
 * The run's `ctx.sleep`s and `ctx.waitFor`s: open waits, their clocks, and what they got while their
 * invocation was being re-delivered (`answered`, kept like input answers). Ids are `<invocationId>:<n>`,
 * the counter shared with `requestInput`. A sleep's due time is absolute; a wake-up due while the run is
 * paused is handed over on resume. A waitFor's timeout runs only while the run is not paused.
 *
 * @example
 * ```ts
 * await waits.sleep(inv, 60_000);                        // ctx.sleep(60_000)
 * const takers = waits.offer(event);                     // on every routed event: the waits it resolved
 * ```
 */
export class Waits {
  private readonly waiting = new Map<string, Wait>();
  private readonly answered = new Map<string, unknown>();
  private held: { wait: Wait; value: unknown }[] = [];

  constructor(
    private readonly host: WaitHost,
    restored?: { waiting: readonly DurableWait[]; answered: Record<string, unknown> },
  ) {
    if (restored === undefined) return;
    for (const [id, value] of Object.entries(restored.answered)) this.answered.set(id, value);
    for (const entry of restored.waiting) this.track({ entry: { ...entry }, ...(entry.kind === 'event' ? { candidates: [] } : {}) });
  }

  get open(): number {
    return this.waiting.size;
  }

  /** Does invocation `invocationId` have an open wait (restored from a snapshot)? */
  isWaiting(invocationId: string): boolean {
    for (const id of this.waiting.keys()) if (id.startsWith(`${invocationId}:`)) return true;
    return false;
  }

  /** Is some open wait for events of `type` (so such an event is not `no_handler`)? */
  waitsFor(type: string): boolean {
    for (const w of this.waiting.values()) if (w.entry.kind === 'event' && w.entry.type === type) return true;
    return false;
  }

  /** `ctx.sleep(ms)`: park until `now + ms` (or the due time kept for this id). */
  sleep(inv: Invocation, ms: number): Promise<void> {
    checkMs('ctx.sleep', ms);
    const requestId = `${inv.id}:${++inv.requests}`;
    if (this.answered.has(requestId)) return Promise.resolve();
    return this.park(inv, requestId, () => ({ entry: { kind: 'sleep', requestId, dueAt: this.host.scheduler.now() + ms } })) as Promise<void>;
  }

  /** `ctx.waitFor(type, { match, timeout })`: park until a matching event is offered, or `undefined` after the timeout. */
  waitFor(inv: Invocation, type: string, options: WaitForOptions = {}): Promise<WorkflowEvent | undefined> {
    if (options.match !== undefined && typeof options.match !== 'function') {
      throw new WorkflowError('invalid_event', 'ctx.waitFor: `match` must be a function (event) => boolean');
    }
    if (options.timeout !== undefined) checkMs('ctx.waitFor timeout', options.timeout);
    const requestId = `${inv.id}:${++inv.requests}`;
    if (this.answered.has(requestId)) return Promise.resolve((this.answered.get(requestId) ?? undefined) as WorkflowEvent | undefined);
    const restored = this.waiting.get(requestId);
    if (restored?.candidates !== undefined) {
      // Events that came while this invocation was being re-delivered: the first that matches is its answer.
      const candidates = restored.candidates;
      delete restored.candidates;
      const match = options.match;
      for (const ev of candidates) {
        if (match === undefined || match(ev)) {
          this.close(restored);
          this.answered.set(requestId, ev);
          return Promise.resolve(ev);
        }
      }
    }
    const promise = this.park(inv, requestId, () => {
      const entry: DurableWait = { kind: 'event', requestId, type };
      if (options.timeout !== undefined) {
        entry.deadline = this.host.scheduler.now() + options.timeout;
        entry.remainingMs = options.timeout;
      }
      return { entry };
    });
    if (options.match !== undefined) (this.waiting.get(requestId) as Wait).match = options.match;
    return promise as Promise<WorkflowEvent | undefined>;
  }

  /**
   * An event was sent or emitted: each open wait for its type that matches takes it (a copy each, in the
   * order they were opened). Returns the request ids that took it, for `event_routed.waiters`.
   */
  offer(event: WorkflowEvent): string[] {
    const takers: string[] = [];
    for (const w of [...this.waiting.values()]) {
      if (w.entry.kind !== 'event' || w.entry.type !== event.type) continue;
      if (w.candidates !== undefined) {
        w.candidates.push(event);
        takers.push(w.entry.requestId);
        continue;
      }
      let matched: boolean;
      try {
        matched = w.match === undefined || w.match(event) === true;
      } catch (thrown) {
        this.close(w);
        this.settle(w, undefined, new WorkflowError('step_failed', `ctx.waitFor('${event.type}') match threw: ${describeThrown(thrown)}`, { cause: thrown }));
        continue;
      }
      if (!matched) continue;
      takers.push(w.entry.requestId);
      this.close(w);
      this.settle(w, event);
    }
    if (takers.length > 0) this.host.changed();
    return takers;
  }

  /** Hand over the wake-ups that came while paused. */
  resumed(): void {
    const held = this.held;
    this.held = [];
    for (const { wait, value } of held) this.deliver(wait, value);
  }

  /** The invocation settled: what was kept for its waits is no longer needed. */
  forget(inv: Invocation): void {
    for (let n = 1; n <= inv.requests; n++) {
      const id = `${inv.id}:${n}`;
      this.answered.delete(id);
      const w = this.waiting.get(id);
      if (w !== undefined) this.close(w);
    }
  }

  /** The run ended: stop every clock. */
  stop(): void {
    for (const w of this.waiting.values()) w.timer?.unsubscribe();
  }

  snapshot(): { waiting: DurableWait[]; answered: Record<string, unknown> } {
    return {
      waiting: [...this.waiting.values()].map(({ entry, watch }) => {
        if (entry.kind === 'sleep' || entry.remainingMs === undefined || watch === undefined) return { ...entry };
        return { ...entry, remainingMs: Math.max(0, entry.remainingMs - watch.elapsed()) };
      }),
      answered: Object.fromEntries(this.answered),
    };
  }

  private park(inv: Invocation, requestId: string, open: () => Wait): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let w = this.waiting.get(requestId);
      if (w === undefined) this.track((w = open()));
      w.invocation = inv;
      w.resolve = resolve;
      w.reject = reject;
      this.host.park(inv);
      this.host.changed();
    });
  }

  /** Keep the wait open and arm its clock. */
  private track(w: Wait): void {
    this.waiting.set(w.entry.requestId, w);
    const { entry } = w;
    if (entry.kind === 'sleep') {
      w.timer = at(this.host.scheduler, entry.dueAt, () => this.timeUp(w));
    } else if (entry.remainingMs !== undefined) {
      const scheduler = this.host.scheduler;
      w.watch = new Stopwatch(() => scheduler.now());
      w.timer = this.host.status$
        .pipe(
          map((s) => s !== 'paused'),
          budgetTimer(entry.remainingMs, scheduler, w.watch),
        )
        .subscribe(() => this.timeUp(w));
    }
  }

  private timeUp(w: Wait): void {
    if (this.waiting.get(w.entry.requestId) !== w) return;
    this.close(w);
    this.settle(w, undefined);
    this.host.changed();
  }

  private close(w: Wait): void {
    this.waiting.delete(w.entry.requestId);
    (w.timer as Subscription | undefined)?.unsubscribe();
  }

  /** The wait is over with `value` (an event, or undefined for a wake-up or timeout), or failed. */
  private settle(w: Wait, value: unknown, error?: unknown): void {
    if (w.resolve === undefined) {
      // Restored, not asked again yet: the re-delivered call finds it (JSON has no undefined: null).
      this.answered.set(w.entry.requestId, value ?? null);
      return;
    }
    if (error !== undefined) {
      this.unpark(w);
      (w.reject as (e: unknown) => void)(error);
      return;
    }
    this.answered.set(w.entry.requestId, value ?? null);
    if (this.host.paused) this.held.push({ wait: w, value });
    else this.deliver(w, value);
  }

  private deliver(w: Wait, value: unknown): void {
    this.unpark(w);
    (w.resolve as (v: unknown) => void)(value);
  }

  private unpark(w: Wait): void {
    if (w.invocation !== undefined && !w.invocation.settled) this.host.unpark(w.invocation);
  }
}

function checkMs(what: string, ms: unknown): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new WorkflowError('invalid_event', `${what}: ${describeThrown(ms)} is not a number of ms >= 0`, { details: { ms } });
  }
}
