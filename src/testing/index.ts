import { deepStrictEqual } from 'node:assert';
import { catchError, filter, map, of, type Observable } from 'rxjs';
import { TestScheduler, type RunHelpers } from 'rxjs/testing';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { WorkflowEvent } from '../events/event.js';
import type { RunHandle } from '../run/RunHandle.js';
import type { RunStatus } from '../run/status.js';
import type { RunEvent, RunEventKind } from '../telemetry/runEvent.js';
import type { RunArgs, Workflow } from '../workflow/workflow.js';
import type { StateShape } from '../context/state.js';

/**
 * Virtual time for whole runs: step bodies as marbles, every timer (workflow and step timeouts, retry
 * backoff, input deadlines) on one TestScheduler, and assertions on the marble of a run's events.
 *
 * @example
 * ```ts
 * const vt = virtualTime();
 * const wf = workflow('w')
 *   .step('slow', { accepts: [StartEvent] }, vt.marble('---(a|)', { a: StopEvent.of({ result: 1 }) }));
 * vt.run(({ expectObservable }) => {
 *   const run = vt.start(wf);
 *   expectObservable(outcome$(run)).toBe('---(c|)', { c: 'completed' });
 * });
 * ```
 */
export function virtualTime(assertDeepEqual: (actual: unknown, expected: unknown) => void = deepStrictEqual) {
  const scheduler = new TestScheduler(assertDeepEqual);
  return {
    scheduler,
    /** Run `callback` in virtual time (TestScheduler.run); expectations are checked at its end. */
    run<T>(callback: (helpers: RunHelpers) => T): T {
      return scheduler.run(callback);
    },
    /** Start a run of `wf` on this scheduler (call inside `run`). */
    start<R, I, S extends StateShape, In>(wf: Workflow<R, I, S, In>, ...args: RunArgs<In, S>): RunHandle<R> {
      return wf.onScheduler(scheduler).run(...args);
    },
    /** A step handler whose body is a cold marble: `'--a|'` takes two frames and emits `values.a`. */
    marble(marble: string, values?: Record<string, WorkflowEvent>, error?: unknown) {
      return () => scheduler.createColdObservable<WorkflowEvent>(marble, values, error);
    },
  };
}

/** The run's outcome as one value at the frame it was decided: its status, or the error code. */
export function outcome$(run: RunHandle): Observable<RunStatus | WorkflowError['code']> {
  return run.result$.pipe(
    map(() => 'completed' as const),
    catchError((error: unknown) => of(WorkflowError.is(error) ? error.code : ('failed' as const))),
  );
}

/**
 * A run's RunEvents of the given kinds as one-letter values, for `expectObservable(...).toBe(marble)`.
 *
 * @example
 * ```ts
 * expectObservable(kinds$(run, { s: 'step_started', c: 'step_completed', e: 'run_completed' })).toBe('(s)--c(se|)')
 * ```
 */
export function kinds$(run: RunHandle, letters: Record<string, RunEventKind>): Observable<string> {
  const byKind = new Map(Object.entries(letters).map(([letter, kind]) => [kind as string, letter]));
  return run.events$.pipe(
    filter((e: RunEvent) => byKind.has(e.kind)),
    map((e) => byKind.get(e.kind) as string),
  );
}

/**
 * A run's RunEvents mapped to marble letters by `pick` (events it returns `undefined` for are skipped): for
 * assertions `kinds$` cannot express, e.g. by step, attempt or event type.
 *
 * @example
 * ```ts
 * const attempts$ = letters$(run, (e) => (e.kind === 'step_started' && e.step === 'fetch' ? String(e.attempt) : undefined));
 * expectObservable(attempts$).toBe('1---2---3');
 * ```
 */
export function letters$(run: RunHandle, pick: (event: RunEvent) => string | undefined): Observable<string> {
  return run.events$.pipe(
    map(pick),
    filter((letter): letter is string => letter !== undefined),
  );
}
