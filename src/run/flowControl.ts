import { mergeMap, Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import type { FlowKey, StepFlow } from '../workflow/flowOptions.js';
import type { FlowClock } from './flowClock.js';
import type { Holding } from './holding.js';
import { debounceByKey } from './operators/debounceByKey.js';
import { mergeMapByKey } from './operators/mergeMapByKey.js';
import { RateWindow, rateLimitWith } from './operators/rateLimit.js';

/** What a step's flow control needs from its run. */
export interface FlowHost {
  /** The run's flow clock: stopped while the run is paused. */
  readonly clock: FlowClock;
  /** Where debounced and rate-limited envelopes are listed with their due times. */
  readonly holding: Holding<Envelope>;
  /** A debounced envelope was superseded: the run forgets it and emits `event_dropped`. */
  dropped(env: Envelope): void;
}

/**
 * One step's flow control, composed from the flow operators in the order that makes each limit mean what it
 * says: debounce first (only survivors compete), then the concurrency limit (per key or in all), and the rate
 * window *inside* a concurrency slot, so the rate counts real starts. The rate window outlives the pipeline
 * (a hibernated run keeps the slots it used); `close()` at the end of the run.
 *
 * @example
 * ```ts
 * const control = new StepFlowControl('charge', flow, host);
 * group$.pipe(control.pipeline((env) => invocations.invocation(step, env))).subscribe();
 * ```
 */
export class StepFlowControl {
  private readonly window: RateWindow<Envelope> | undefined;

  constructor(
    private readonly step: string,
    private readonly flow: StepFlow,
    private readonly host: FlowHost,
  ) {
    const rate = flow.rateLimit;
    if (rate !== undefined) {
      this.window = new RateWindow<Envelope>({
        limit: rate.limit,
        interval: rate.interval,
        ...(rate.key === undefined ? {} : { key: this.keyOf('rateLimit', rate.key) }),
        clock: host.clock,
        holding: host.holding,
        dueAt: (env) => env.dueAt,
      });
    }
  }

  /** The step's pipeline from delivered envelopes to their invocations (which emit nothing). */
  pipeline(invoke: (env: Envelope) => Observable<never>): OperatorFunction<Envelope, never> {
    const { flow, host } = this;
    const window = this.window;
    const start = window === undefined ? invoke : (env: Envelope) => throughWindow(window, env, invoke);
    return (envelopes$) => {
      let survivors$ = envelopes$;
      if (flow.debounce !== undefined) {
        const { ms, key } = flow.debounce;
        survivors$ = survivors$.pipe(
          debounceByKey<Envelope>({
            ms,
            ...(key === undefined ? {} : { key: this.keyOf('debounce', key) }),
            clock: host.clock,
            onDrop: (env) => host.dropped(env),
            holding: host.holding,
            dueAt: (env) => env.dueAt,
          }),
        );
      }
      if (flow.concurrencyKey !== undefined) {
        return survivors$.pipe(mergeMapByKey(start, { limit: flow.concurrency, key: this.keyOf('concurrency', flow.concurrencyKey) }));
      }
      if (window !== undefined && flow.concurrency === Number.POSITIVE_INFINITY) {
        // No slot to wait for: a granted rate slot is a start, so the waiting values need no inner
        // subscription each (mergeMap's removal is quadratic in them, notes/rxjs-performance.md).
        return survivors$.pipe(rateLimitWith(window), mergeMap(invoke));
      }
      return survivors$.pipe(mergeMap(start, flow.concurrency));
    };
  }

  close(): void {
    this.window?.close();
  }

  /** The rate slots in use, per key, as the times they free; undefined when none is (or no rateLimit). */
  usedSlots(): Record<string, number[]> | undefined {
    const slots = this.window?.usedSlots();
    return slots === undefined || Object.keys(slots).length === 0 ? undefined : slots;
  }

  /** Count the rate slots a snapshot kept (ignored when the step has no rateLimit any more). */
  restoreSlots(slots: Readonly<Record<string, readonly number[]>>): void {
    this.window?.restoreSlots(slots);
  }

  /** A user key function on envelopes; what it throws fails the run as the step's error, named. */
  private keyOf(option: string, key: FlowKey): (env: Envelope) => string {
    return (env) => {
      let k: unknown;
      try {
        k = key(env.event);
      } catch (thrown) {
        throw new WorkflowError('step_failed', `step '${this.step}': the ${option} key function threw: ${describeThrown(thrown)}`, {
          step: this.step,
          cause: thrown,
        });
      }
      if (typeof k === 'string') return k;
      if (typeof k === 'number' && Number.isFinite(k)) return String(k);
      throw new WorkflowError('step_failed', `step '${this.step}': the ${option} key function returned ${describeThrown(k)}; it must return a string`, {
        step: this.step,
      });
    };
  }
}

/** Start `env` once the rate window grants it a slot; unsubscribing first withdraws it from the window. */
function throughWindow(window: RateWindow<Envelope>, env: Envelope, invoke: (env: Envelope) => Observable<never>): Observable<never> {
  return new Observable<never>((subscriber) => {
    let running: Subscription | undefined;
    const ticket = window.take(env, () => {
      running = invoke(env).subscribe(subscriber);
    });
    return () => {
      ticket.unsubscribe();
      running?.unsubscribe();
    };
  });
}

/** Rate slots in use by step and key, as snapshots keep them; undefined when no step has one in use. */
export function usedRateSlots(steps: ReadonlyMap<string, StepFlowControl>): Record<string, Record<string, number[]>> | undefined {
  let out: Record<string, Record<string, number[]>> | undefined;
  for (const [name, control] of steps) {
    const slots = control.usedSlots();
    if (slots !== undefined) (out ??= {})[name] = slots;
  }
  return out;
}

/**
 * Envelopes held back by a run's steps, each with its due time where a debounce or rate window decides it
 * (for `snapshot.pending` and for hibernation, so the times survive both).
 *
 * @example
 * ```ts
 * pending.push(...withDueTimes(invocations.held, holding));
 * ```
 */
export function withDueTimes(held: Iterable<Envelope>, holding: Holding<Envelope>): Envelope[] {
  const due = new Map<Envelope, number>();
  for (const h of holding.list()) if (h.dueAt !== undefined) due.set(h.value, h.dueAt);
  const out: Envelope[] = [];
  for (const env of held) {
    const dueAt = due.get(env);
    out.push(dueAt === undefined || dueAt === env.dueAt ? env : { ...env, dueAt });
  }
  return out;
}
