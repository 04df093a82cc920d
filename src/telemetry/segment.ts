import type { Observable } from 'rxjs';
import { operate } from '../rx/operate.js';
import type { RunEvent } from './runEvent.js';

/**
 * The part of a run's `events$` that belongs to this process. `events$` replays the whole run to a new
 * subscriber, and a resumed run replays its snapshot's history first; telemetry must not log or trace that
 * again. So of the events replayed at subscription, only those from the latest `run_started` or
 * `run_resumed` on are passed on (everything but `gap` if neither was replayed), then the live stream.
 *
 * Attach right after `wf.run()` / `wf.resume()`: a consumer attached after an in-process pause and resume
 * starts at that `run_resumed`.
 *
 * @example
 * ```ts
 * currentSegment(run.events$).subscribe((e) => console.log(e.seq, e.kind)); // a resumed run: run_resumed first
 * ```
 */
export function currentSegment(events$: Observable<RunEvent>): Observable<RunEvent> {
  return events$.pipe(
    operate<RunEvent>((subscriber) => {
      let replayed: RunEvent[] | undefined = [];
      let completed = false;
      return {
        next: (ev) => {
          if (replayed === undefined) subscriber.next(ev);
          else replayed.push(ev);
        },
        complete: () => {
          if (replayed === undefined) subscriber.complete();
          else completed = true; // the run had already ended: complete after passing on the replay
        },
        // Everything delivered during subscribe() was replayed; what comes later is live.
        subscribed: () => {
          const batch = replayed ?? [];
          replayed = undefined;
          let from = batch.length - 1;
          while (from >= 0 && batch[from]?.kind !== 'run_started' && batch[from]?.kind !== 'run_resumed') from--;
          for (const ev of batch.slice(Math.max(from, 0))) {
            if (subscriber.closed) break;
            if (ev.kind !== 'gap') subscriber.next(ev);
          }
          if (completed) subscriber.complete();
        },
      };
    }),
  );
}
