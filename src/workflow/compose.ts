import { catchError, defer, EMPTY, forkJoin, map, merge, mergeMap, Observable, take, throwError, type SchedulerLike } from 'rxjs';
import type { StepContext } from '../context/types.js';
import { describeThrown, engineError, WorkflowError } from '../errors/WorkflowError.js';
import type { WorkflowEvent } from '../events/event.js';
import { childRunsOf, type ChildHandle } from '../context/childRuns.js';
import type { Snapshot } from '../snapshot/schema.js';
import { deadline } from '../run/operators/deadline.js';
import { retryWithBackoff } from '../run/operators/retryWithBackoff.js';
import type { RetryPolicy } from './types.js';

/**
 * What a sub-workflow step needs of its child workflow (a `Workflow` is one). Declared structurally so this
 * module does not import the builder that imports it.
 */
export interface ChildWorkflow {
  readonly name: string;
  onScheduler(scheduler: SchedulerLike): { run(input?: unknown): ChildHandle; resume(snapshot: Snapshot): ChildHandle };
}

/** One child workflow run per accepted event. */
export interface SubworkflowOptions<E> {
  /** The child workflow. */
  workflow: ChildWorkflow;
  /** Child input from the event (default `event.data`). */
  input?: (event: E) => unknown;
  /** Event to route from the child's result (default `{ type: '<step>.output', data: result }`). */
  output?: (result: any) => WorkflowEvent;
  /** ms per attempt before the step fails `step_timeout` (the child is aborted). */
  timeout?: number;
  /** Re-run the child on failure (default no retries). */
  retry?: RetryPolicy;
}

export type Branch<E> = SubworkflowOptions<E>;

/**
 * The body of a sub-workflow: a cold Observable of the routed output event. The child runs on the parent's
 * scheduler, pauses with the parent, is part of its snapshot, and is aborted when the subscription ends.
 */
export function child$<E extends WorkflowEvent>(
  step: string,
  branch: string,
  options: SubworkflowOptions<E>,
  event: E,
  ctx: StepContext,
): Observable<WorkflowEvent> {
  const children = childRunsOf(ctx);
  let attempt$ = new Observable<unknown>((subscriber) => {
    const input = options.input === undefined ? event.data : options.input(event);
    const run = children.start(branch, (scheduler, snapshot) => {
      const wf = options.workflow.onScheduler(scheduler);
      return snapshot === undefined ? wf.run(input) : wf.resume(snapshot);
    });
    const sub = run.result$.subscribe({
      next: (result) => subscriber.next(result),
      complete: () => subscriber.complete(),
      error: (error: unknown) =>
        subscriber.error(
          engineError(new WorkflowError('subworkflow_failed', `sub-workflow '${options.workflow.name}' of step '${step}' failed: ${describeThrown(error)}`, {
            step,
            cause: error,
            details: { childRunId: run.id, branch },
          })),
        ),
    });
    return () => {
      sub.unsubscribe();
      run.abort('parent step cancelled');
    };
  });
  if (options.timeout !== undefined) {
    const ms = options.timeout;
    attempt$ = attempt$.pipe(
      deadline(ms, children.scheduler, () => engineError(new WorkflowError('step_timeout', `step '${step}' timed out after ${ms}ms`, { step, details: { timeout: ms, branch } }))),
    );
  }
  if (options.retry !== undefined && options.retry.retries > 0) {
    attempt$ = attempt$.pipe(retryWithBackoff(options.retry, children.scheduler, (error, n) => children.retried(n, error)));
  }
  return attempt$.pipe(
    map((result) => (options.output === undefined ? { type: `${step}.output`, data: result } : options.output(result))),
  );
}

/**
 * Run every branch at once. `'all'`: one event per branch in declaration order, failing on the first failure
 * (the others are aborted). `'first'`: the first success wins and the others are aborted; fails only when
 * every branch failed, with the last failure as cause.
 */
export function parallel$<E extends WorkflowEvent>(
  step: string,
  branches: readonly Branch<E>[],
  join: 'all' | 'first',
  event: E,
  ctx: StepContext,
): Observable<WorkflowEvent> {
  const runs = branches.map((b, i) => child$(step, String(i), b, event, ctx));
  if (join === 'all') {
    return runs.length === 0 ? EMPTY : forkJoin(runs).pipe(mergeMap((events) => events));
  }
  return defer(() => {
    let failures = 0;
    let last: unknown = engineError(new WorkflowError('subworkflow_failed', `parallel step '${step}' has no branches`, { step }));
    const guarded = runs.map((run$) =>
      run$.pipe(
        catchError((error: unknown) => {
          last = error;
          return ++failures === runs.length ? throwError(() => last) : EMPTY;
        }),
      ),
    );
    return runs.length === 0
      ? throwError(() => last)
      : merge(...guarded).pipe(
          take(1),
          catchError((error: unknown) =>
            throwError(() =>
              engineError(
                    new WorkflowError('subworkflow_failed', `every branch of parallel step '${step}' failed: ${describeThrown(error)}`, {
                      step,
                      cause: error,
                    }),
              ),
            ),
          ),
        );
  });
}
