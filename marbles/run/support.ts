import { expect } from 'vitest';
import { filter, map, Observable, scan, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { RunEvent, RunEventKind, RunEventOf, RunHandle } from 'sluice';
import { virtualTime } from 'sluice/testing';

/** A virtual-time kit whose marble assertions fail through vitest. */
export const newVirtualTime = () => virtualTime((actual, expected) => expect(actual).toEqual(expected));

export type VirtualTime = ReturnType<typeof newVirtualTime>;

type StepKind = 'step_started' | 'step_completed' | 'step_failed' | 'step_retried';

/** RunEvents of one step kind, as a letter per step name (steps not listed are left out). */
export function stepLetters$(run: RunHandle, kind: StepKind, letters: Record<string, string>): Observable<string> {
  return run.events$.pipe(
    filter((e): e is RunEventOf<StepKind> => e.kind === kind && (e as RunEventOf<StepKind>).step in letters),
    map((e) => letters[e.step] as string),
  );
}

/** The data of every routed event of `type`, at the frame it was routed. */
export function routedData$(run: RunHandle, type: string): Observable<unknown> {
  return run.events$.pipe(
    filter((e): e is RunEventOf<'event_routed'> => e.kind === 'event_routed' && e.event.type === type),
    map((e) => e.event.data),
  );
}

/** Sub-workflow RunEvents (`child`) of the given inner kinds, as letters. */
export function childKinds$(run: RunHandle, letters: Partial<Record<RunEventKind, string>>): Observable<string> {
  return run.events$.pipe(
    filter((e): e is RunEventOf<'child'> => e.kind === 'child' && e.event.kind in letters),
    map((e) => letters[e.event.kind] as string),
  );
}

/**
 * Everything the source emits within one frame, as one array at the end of that frame. Two values in one
 * frame need a `(ab)` group, which takes four frames of the marble; batching per frame lets a marble show
 * "two at frame 0, two at frame 3" as `a--a`.
 */
export function perFrame<T>(scheduler: SchedulerLike): OperatorFunction<T, T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let batch: T[] | undefined;
      const flush = () => {
        if (batch === undefined) return;
        const out = batch;
        batch = undefined;
        subscriber.next(out);
      };
      subscriber.add(
        source.subscribe({
          next: (value) => {
            if (batch === undefined) {
              batch = [];
              subscriber.add(scheduler.schedule(flush));
            }
            batch.push(value);
          },
          error: (error) => subscriber.error(error),
          complete: () => {
            flush();
            subscriber.complete();
          },
        }),
      );
    });
}

/** How many invocations of `step` are running after each step_started / step_completed / step_failed. */
export function running$(run: RunHandle, step: string): Observable<number> {
  return run.events$.pipe(
    filter((e: RunEvent) => (e.kind === 'step_started' || e.kind === 'step_completed' || e.kind === 'step_failed') && e.step === step),
    scan((n, e) => (e.kind === 'step_started' ? n + 1 : n - 1), 0),
  );
}

/** Call `fn` at `frame`, before anything the run schedules for that frame later on. */
export function at(vt: VirtualTime, frame: number, fn: () => void): void {
  vt.scheduler.schedule(fn, frame);
}

/** Call `fn` at `frame`, after everything already due in that frame (e.g. a step's marble emission). */
export function lateAt(vt: VirtualTime, frame: number, fn: () => void): void {
  vt.scheduler.schedule(() => vt.scheduler.schedule(fn), frame);
}
