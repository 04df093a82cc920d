import { Observable, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RunEvent, RunEventKind } from 'sluice';
import { currentSegment } from '../../src/telemetry/segment.js';

const ev = (kind: RunEventKind, seq: number): RunEvent => ({ kind, seq, runId: 'r', at: seq }) as RunEvent;

/** Like a run's events$: replays `replayed` synchronously, then follows `live` (or completes if `ended`). */
function events$(replayed: RunEvent[], live = new Subject<RunEvent>(), ended = false): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    for (const e of replayed) subscriber.next(e);
    if (ended) return subscriber.complete();
    return live.subscribe(subscriber);
  });
}

const seqs = (source: Observable<RunEvent>): { seen: number[]; done: () => boolean; stop: () => void } => {
  const seen: number[] = [];
  let completed = false;
  const sub = source.subscribe({ next: (e) => seen.push(e.seq), complete: () => (completed = true) });
  return { seen, done: () => completed, stop: () => sub.unsubscribe() };
};

describe('currentSegment', () => {
  it('passes a fresh run from its run_started on, then the live events', () => {
    const live = new Subject<RunEvent>();
    const { seen } = seqs(currentSegment(events$([ev('run_started', 1)], live)));
    live.next(ev('event_routed', 2));
    expect(seen).toEqual([1, 2]);
  });

  it('skips the history a resumed run replays: it starts at the latest run_resumed', () => {
    const replayed = [ev('run_started', 1), ev('run_paused', 2), ev('run_resumed', 3), ev('step_started', 4), ev('run_resumed', 5)];
    expect(seqs(currentSegment(events$(replayed))).seen).toEqual([5]);
  });

  it('without a start in the replay passes everything replayed except gap', () => {
    const replayed = [ev('gap', 0), ev('step_started', 7), ev('step_completed', 8)];
    expect(seqs(currentSegment(events$(replayed))).seen).toEqual([7, 8]);
  });

  it('replays a run that already ended, then completes', () => {
    const watch = seqs(currentSegment(events$([ev('run_started', 1), ev('run_completed', 2)], undefined, true)));
    expect(watch.seen).toEqual([1, 2]);
    expect(watch.done()).toBe(true);
  });

  it('unsubscribes from the run when unsubscribed', () => {
    const live = new Subject<RunEvent>();
    const watch = seqs(currentSegment(events$([ev('run_started', 1)], live)));
    expect(live.observed).toBe(true);
    watch.stop();
    expect(live.observed).toBe(false);
  });
});
