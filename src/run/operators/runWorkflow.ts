import { defer, finalize, mergeMap, type OperatorFunction } from 'rxjs';
import type { RunHandle } from '../RunHandle.js';

export interface RunWorkflowOptions {
  /** Most runs in flight at once (default unlimited). */
  concurrency?: number;
}

/**
 * Turn a stream of inputs into a stream of results: one run per input, up to `concurrency` at once,
 * results in completion order. A failed run errors the stream with its `WorkflowError` (add `catchError`
 * inside your own `mergeMap` for per-input recovery); unsubscribing aborts the runs in flight.
 *
 * @example
 * ```ts
 * from(['a', 'b', 'c']).pipe(runWorkflow(qa, { concurrency: 2 })).subscribe(console.log);
 * ```
 */
export function runWorkflow<I, R>(wf: { run(input: I): RunHandle<R> }, options: RunWorkflowOptions = {}): OperatorFunction<I, R> {
  return mergeMap(
    (input: I) =>
      defer(() => {
        const run = wf.run(input);
        return run.result$.pipe(finalize(() => run.abort('unsubscribed')));
      }),
    options.concurrency ?? Number.POSITIVE_INFINITY,
  );
}
