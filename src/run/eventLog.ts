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
  readonly history: RunEvent[];
  seq: number;
  private readonly buffer = new Queue<RunEvent>();
  private dropped = 0;
  private readonly live = new Subject<RunEvent>();
  private closed = false;

  constructor(private readonly options: EventLogOptions) {
    const carried = options.carried ?? [];
    this.history = options.history ? [...carried] : [];
    this.seq = options.seq ?? 0;
    for (const ev of carried) this.keep(ev);
  }

  /** Stamp, record and publish one event; returns it. */
  emit(body: RunEventBody): RunEvent {
    const ev = { ...body, runId: this.options.runId, seq: ++this.seq, at: this.options.now() } as RunEvent;
    if (this.options.history) this.history.push(ev);
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

  private keep(ev: RunEvent): void {
    this.buffer.push(ev);
    if (this.buffer.length > this.options.replay) {
      this.buffer.shift();
      this.dropped++;
    }
  }
}
