import { Observable, type OperatorFunction, type Subscriber } from 'rxjs';

/** What a hand-written operator does with its source's notifications; a missing one passes it on. */
export interface OperatorHandlers<T> {
  next?(value: T): void;
  error?(error: unknown): void;
  complete?(): void;
  /** Runs once the source is subscribed (values it emitted synchronously have been handled). */
  subscribed?(): void;
}

/**
 * The one helper behind sluice's hand-written operators, as `operate`/`createOperatorSubscriber` are behind
 * RxJS's own (rxjs/src/internal/util/lift.ts, operators/OperatorSubscriber.ts, which RxJS does not export):
 * error routing and teardown written once. `init(subscriber)` sets up state and timers (adding their
 * teardowns to `subscriber`) and returns the handlers; whatever `init` or a handler throws errors the
 * result, and unsubscribing the result unsubscribes the source.
 *
 * @example
 * ```ts
 * const double = operate<number, number>((subscriber) => ({ next: (n) => subscriber.next(n * 2) }));
 * ```
 */
export function operate<T, R = T>(init: (subscriber: Subscriber<R>) => OperatorHandlers<T>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let handlers: OperatorHandlers<T>;
      try {
        handlers = init(subscriber);
      } catch (thrown) {
        subscriber.error(thrown);
        return;
      }
      const guard = (fn: () => void) => {
        try {
          fn();
        } catch (thrown) {
          subscriber.error(thrown);
        }
      };
      const { next, error, complete, subscribed } = handlers;
      subscriber.add(
        source.subscribe({
          next: next === undefined ? (value) => subscriber.next(value as unknown as R) : (value) => guard(() => next(value)),
          error: error === undefined ? (e: unknown) => subscriber.error(e) : (e: unknown) => guard(() => error(e)),
          complete: complete === undefined ? () => subscriber.complete() : () => guard(complete),
        }),
      );
      if (subscribed !== undefined) guard(subscribed);
    });
}
