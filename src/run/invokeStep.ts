import { isObservable, Observable } from 'rxjs';


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
  // Hand-written rather than defer/from/map: this runs once per invocation, the hottest path of a run.
  return new Observable<StepOutput>((subscriber) => {
    const result = handler(event, ctx); // a synchronous throw errors the subscriber (Observable catches it)
    if (isObservable(result)) {
      return result.subscribe({
        next: (ev) => subscriber.next({ events: [ev], last: false }),
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    }
    if (isPromiseLike(result)) {
      result.then(
        (value) => {
          subscriber.next(batch(value));
          subscriber.complete();
        },
        (error: unknown) => subscriber.error(error),
      );
      return undefined;
    }
    subscriber.next(batch(result));
    subscriber.complete();
    return undefined;
  });
}

function batch(result: unknown): StepOutput {
  if (result === undefined || result === null) return { events: [], last: true };
  return { events: Array.isArray(result) ? result : [result], last: true };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

