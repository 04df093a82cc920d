import { isObservable, Observable, type Unsubscribable } from 'rxjs';


/** One batch of a step's outputs; `last` marks the final batch of a Promise or plain result. */
export interface StepOutput {
  events: readonly unknown[];
  last: boolean;
}

/**
 * The one place where step bodies, and so Promises, enter the Observable world. A handler may return an
 * event, an array, nothing, a Promise of those, or an Observable of events; the first three arrive as one
 * `last` batch, an Observable's emissions arrive one by one as they come. Replacing the handler with one that
 * returns `cold()` marbles is how tests run whole workflows in virtual time.
 *
 * @example
 * ```ts
 * invokeStep(async (ev) => Answer.of({ text: 'hi' }), ev, ctx).subscribe(console.log)
 * // { events: [{ type: 'Answer', data: { text: 'hi' } }], last: true }
 * ```
 */
export function invokeStep<E, C>(
  handler: (event: E, ctx: C) => unknown,
  event: E,
  ctx: C,
): Observable<StepOutput> {
  return new Observable<StepOutput>((subscriber) => runStep(handler, event, ctx, subscriber));
}

/** Where `runStep` delivers a handler's outputs; it stops delivering once `closed`. */
export interface StepSink {
  readonly closed: boolean;
  next(output: StepOutput): void;
  error(thrown: unknown): void;
  complete(): void;
}

/**
 * Call `handler` and feed what it returns into `sink` (what `invokeStep` subscribes with). Returns the
 * subscription of an Observable result, to be stopped with the invocation. Throws what the handler throws
 * synchronously. The run loop calls it directly for a single attempt without a deadline, sparing an
 * Observable and a subscriber per invocation.
 */
export function runStep<E, C>(
  handler: (event: E, ctx: C) => unknown,
  event: E,
  ctx: C,
  sink: StepSink,
): Unsubscribable | undefined {
  const result = handler(event, ctx);
  if (isObservable(result)) {
    return result.subscribe({
      next: (ev) => sink.next({ events: [ev], last: false }),
      error: (error: unknown) => sink.error(error),
      complete: () => sink.complete(),
    });
  }
  if (isPromiseLike(result)) {
    result.then(
      (value) => {
        if (sink.closed) return;
        sink.next(batch(value));
        sink.complete();
      },
      (error: unknown) => {
        if (!sink.closed) sink.error(error);
      },
    );
    return undefined;
  }
  sink.next(batch(result));
  sink.complete();
  return undefined;
}

function batch(result: unknown): StepOutput {
  if (result === undefined || result === null) return { events: [], last: true };
  return { events: Array.isArray(result) ? result : [result], last: true };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

