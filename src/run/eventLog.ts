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
  /** Kept RunEvents, oldest first; a FIFO so a bounded history drops its oldest in O(1). */
  private readonly kept = new Queue<RunEvent>();
  private historyLimit = Number.POSITIVE_INFINITY;
  private readonly buffer = new Queue<RunEvent>();
  private dropped = 0;
  private readonly live = new Subject<RunEvent>();
  private closed = false;

  constructor(private readonly options: EventLogOptions) {
    const carried = options.carried ?? [];
    if (options.history) for (const ev of carried) this.kept.push(ev);
    this.seq = options.seq ?? 0;
    for (const ev of carried) this.keep(ev);
  }

  /** The history for snapshots: every RunEvent so far, or the latest `historyLimit` of them. */
  get history(): RunEvent[] {
    return this.kept.toArray();
  }

  /**
   * Keep at most `limit` events in the history from now on (the oldest are dropped at once, then one per
   * new event). `seq` is untouched, so a bounded history still numbers and resumes correctly.
   * `limit` is a non-negative integer (the workflow's `historyLimit`, checked when the workflow compiles).
   */
  limitHistory(limit: number): void {
    this.historyLimit = limit;
    this.trimHistory();
  }

  /** Stamp, record and publish one event; returns it. */
  emit(body: RunEventBody): RunEvent {
    // Callers pass a fresh literal: stamping it in place avoids a copy per event on the hot path.
    const ev = body as RunEvent & { runId: string; seq: number; at: number };
    ev.runId = this.options.runId;
    ev.seq = ++this.seq;
    ev.at = this.options.now();
    if (this.options.history) {
      this.kept.push(ev);
      this.trimHistory();
    }
    this.keep(ev);
    this.live.next(ev);
    return ev;
  }

  /** Replays what is buffered (after a `gap` if some was dropped), then continues live until the run ends. */
  readonly events$ = new Observable<RunEvent>((subscriber) => {
    if (this.dropped > 0) {
      subscriber.next({ kind: 'gap', missed: this.dropped, runId: this.options.runId, seq: 0, at: this.options.now() });
    }
    for (const ev of this.buffer.toArray()) {
      if (subscriber.closed) return undefined;
      subscriber.next(ev);
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

  private trimHistory(): void {
    while (this.kept.length > this.historyLimit) this.kept.shift();
  }

  private keep(ev: RunEvent): void {
    this.buffer.push(ev);
    if (this.buffer.length > this.options.replay) {
      this.buffer.shift();
      this.dropped++;
    }
  }
}
