import { defer, from, isObservable, map, Observable, of } from 'rxjs';


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
  return defer(() => {
    const result = handler(event, ctx);
    if (isObservable(result)) return result.pipe(map((ev) => ({ events: [ev], last: false })));
    if (isPromiseLike(result)) return from(result).pipe(map(batch));
    return of(batch(result));
  });
}

function batch(result: unknown): StepOutput {
  if (result === undefined || result === null) return { events: [], last: true };
  return { events: Array.isArray(result) ? result : [result], last: true };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

