import { Observable, Subject, type Subscriber, type TeardownLogic } from 'rxjs';
import type { RunEvent, RunEventBody } from '../telemetry/runEvent.js';
import { Queue } from './queue.js';
import { releaseClock } from './schedulers.js';

export interface EventLogOptions {
  runId: string;
  now: () => number;
  /** How many RunEvents a late subscriber can replay (not counting `gap`). */
  replay: number;
  /** Keep the RunEvents not yet in a checkpoint, for the store's journal (a store is set and history is on). */
  journal: boolean;
  /** The last seq of the snapshot a resumed run starts from (numbering continues after it). */
  seq?: number;
  /**
   * A resumed run's earlier RunEvents (its store's journal, or a version-1 snapshot's history): replayed
   * to subscribers before what the run emits here, once they have arrived.
   */
  earlier?: Promise<readonly RunEvent[]> | undefined;
}

/**
 * The run's RunEvents: numbered, replayed to late subscribers (bounded, with an explicit `gap` event when
 * older ones were not kept), pushed live, and — with a store — held until a checkpoint takes them to the
 * journal. Nothing here grows with the run's length: the replay buffer is bounded, and the journal part
 * holds only what the next save will write (DESIGN §6.1).
 */
export class EventLog {
  seq: number;
  /** The latest RunEvents, oldest first, at most `replay` of them. */
  private readonly kept = new Queue<RunEvent>();
  /** Events before the oldest in `kept` that a late subscriber does not get (reported as a `gap`). */
  private dropped = 0;
  /** Emitted but not yet written to the journal; undefined when there is no journal. */
  private unsaved: RunEvent[] | undefined;
  /** Pending until a resumed run's earlier events have arrived. */
  private earlier: Promise<void> | undefined;
  /** Made when the first subscriber follows live: most runs are never followed. */
  private live: Subject<RunEvent> | undefined;
  private closed = false;
  private followed: Observable<RunEvent> | undefined;
  // The options, as fields: a parked run keeps its log, and an options object would be kept with it.
  private readonly runId: string;
  private readonly now: () => number;
  private readonly replay: number;
  private readonly resumedAt: number;

  constructor(options: EventLogOptions) {
    this.runId = options.runId;
    this.now = options.now;
    this.replay = options.replay;
    this.seq = this.resumedAt = options.seq ?? 0;
    if (options.journal) this.unsaved = [];
    if (options.earlier !== undefined) {
      // Until they arrive, every earlier event counts as not kept; those that come back are put in front.
      this.dropped = this.seq;
      const arrived = options.earlier.then(
        (events) => this.prepend(events),
        () => undefined, // a store that cannot be read: subscribers get a gap for the whole earlier part
      );
      this.earlier = arrived;
      // Cleared by the first reaction, so no follower subscribing later waits on it: those already waiting run next.
      void arrived.then(() => (this.earlier = undefined));
    }
  }

  /** Stamp, record and publish one event; returns it. `at`: a reading of the run's clock taken just before, if any. */
  emit(body: RunEventBody, at = this.now()): RunEvent {
    // Callers pass a fresh literal: stamping it in place avoids a copy per event on the hot path.
    const ev = body as RunEvent & { runId: string; seq: number; at: number };
    ev.runId = this.runId;
    ev.seq = ++this.seq;
    ev.at = at;
    this.kept.push(ev);
    if (this.kept.length > this.replay) {
      this.kept.shift();
      this.dropped++;
    }
    this.unsaved?.push(ev);
    // Subject.next allocates (RxJS's ES5 build iterates with helper objects) even with no one listening.
    if (this.live?.observed === true) {
      releaseClock(); // a subscriber may take its time: what follows reads the clock afresh
      this.live.next(ev);
    }
    return ev;
  }

  /** The RunEvents since the last call, for the checkpoint about to be saved (the log forgets them). */
  takeJournal(): RunEvent[] {
    const journal = this.unsaved;
    if (journal === undefined || journal.length === 0) return [];
    this.unsaved = [];
    return journal;
  }

  /** Replays what is buffered (after a `gap` if some was not kept), then continues live until the run ends. */
  get events$(): Observable<RunEvent> {
    return (this.followed ??= new Observable<RunEvent>((subscriber) => {
      const earlier = this.earlier;
      if (earlier === undefined) return this.follow(subscriber);
      let teardown: TeardownLogic;
      void earlier.then(() => {
        if (!subscriber.closed) teardown = this.follow(subscriber);
      });
      return () => {
        if (typeof teardown === 'function') teardown();
        else teardown?.unsubscribe();
      };
    }));
  }

  close(): void {
    this.closed = true;
    this.live?.complete();
  }

  private follow(subscriber: Subscriber<RunEvent>): TeardownLogic {
    if (this.dropped > 0) subscriber.next({ kind: 'gap', missed: this.dropped, runId: this.runId, seq: 0, at: this.now() });
    // A subscriber reacting to a replayed event (respond, abort) can make the run emit more before the replay
    // ends: those are delivered too, in order, before the subscriber goes live.
    let upTo = this.seq;
    for (let batch = this.kept.toArray(); batch.length > 0; ) {
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
    return (this.live ??= new Subject<RunEvent>()).subscribe(subscriber);
  }

  /** Put the earlier events (up to the resumed seq) in front of what the run emitted since, within `replay`. */
  private prepend(events: readonly RunEvent[]): void {
    const upTo = this.resumedAt;
    const room = this.replay - this.kept.length;
    if (room <= 0) return;
    const fitting = events.filter((ev) => ev.seq <= upTo).slice(-room);
    this.kept.unshiftAll(fitting);
    this.dropped -= fitting.length;
  }
}
