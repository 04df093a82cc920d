import { Observable, Subject } from 'rxjs';
import type { RunEvent, RunEventBody } from '../telemetry/runEvent.js';
import { Queue } from './queue.js';

export interface EventLogOptions {
  runId: string;
  now: () => number;
  /** How many RunEvents a late subscriber can replay (not counting `gap`). */
  replay: number;
  /** Keep the full history for snapshots. */
  history: boolean;
  /** Events carried over from a snapshot (a resumed run continues its numbering). */
  carried?: readonly RunEvent[];
  seq?: number;
}

/**
 * The run's RunEvents: numbered, kept for history, replayed to late subscribers (bounded, with an
 * explicit `gap` event when older ones were dropped), and pushed live.
 */
export class EventLog {
  seq: number;
  /**
   * The latest RunEvents, oldest first: one FIFO serves both the history (for snapshots) and the replay
   * buffer (for late subscribers), holding as many as the larger of the two needs.
   */
  private readonly kept = new Queue<RunEvent>();
  /** How many events the history keeps (0 without history). */
  private historyCap: number;
  /** Events that fell out of `kept`. */
  private dropped = 0;
  private readonly live = new Subject<RunEvent>();
  private closed = false;

  constructor(private readonly options: EventLogOptions) {
    this.historyCap = options.history ? Number.POSITIVE_INFINITY : 0;
    this.seq = options.seq ?? 0;
    for (const ev of options.carried ?? []) this.keep(ev);
  }

  /** The history for snapshots: every RunEvent so far, or the latest `historyLimit` of them. */
  get history(): RunEvent[] {
    return this.kept.tail(this.historyCap);
  }

  /**
   * Keep at most `limit` events in the history from now on (the oldest are dropped at once, then one per
   * new event). `seq` is untouched, so a bounded history still numbers and resumes correctly.
   * `limit` is a non-negative integer (the workflow's `historyLimit`, checked when the workflow compiles).
   */
  limitHistory(limit: number): void {
    this.historyCap = Math.min(this.historyCap, limit);
    this.trim();
  }

  /** Stamp, record and publish one event; returns it. */
  emit(body: RunEventBody): RunEvent {
    // Callers pass a fresh literal: stamping it in place avoids a copy per event on the hot path.
    const ev = body as RunEvent & { runId: string; seq: number; at: number };
    ev.runId = this.options.runId;
    ev.seq = ++this.seq;
    ev.at = this.options.now();
    this.keep(ev);
    this.live.next(ev);
    return ev;
  }

  /** Replays what is buffered (after a `gap` if some was dropped), then continues live until the run ends. */
  readonly events$ = new Observable<RunEvent>((subscriber) => {
    const replayed = this.kept.tail(this.options.replay);
    const missed = this.dropped + this.kept.length - replayed.length;
    if (missed > 0) {
      subscriber.next({ kind: 'gap', missed, runId: this.options.runId, seq: 0, at: this.options.now() });
    }
    // A subscriber reacting to a replayed event (respond, abort) can make the run emit more before the replay
    // ends: those are delivered too, in order, before the subscriber goes live.
    let upTo = this.seq;
    for (let batch = replayed; batch.length > 0; ) {
      for (const ev of batch) {
        if (subscriber.closed) return undefined;
        subscriber.next(ev);
      }
      const since = upTo;
      upTo = this.seq;
      batch = since === upTo ? [] : this.kept.tail(upTo - since).filter((ev) => ev.seq > since);
    }
    if (this.closed) {
      subscriber.complete();
      return undefined;
    }
    return this.live.subscribe(subscriber);
  });

  close(): void {
    this.closed = true;
    this.live.complete();
  }

  private keep(ev: RunEvent): void {
    this.kept.push(ev);
    this.trim();
  }

  private trim(): void {
    const cap = Math.max(this.historyCap, this.options.replay);
    while (this.kept.length > cap) {
      this.kept.shift();
      this.dropped++;
    }
  }
}
