import { type AsyncSubject, BehaviorSubject, type Observable } from 'rxjs';
import type { WorkflowEvent } from '../events/event.js';
import { isEmpty } from '../snapshot/build.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { EventLog } from './eventLog.js';
import type { IdleState } from './idle.js';
import type { Invocation } from './invocation.js';
import { initialControl, reduce, type Control } from './reducer.js';
import type { RunStatus } from './status.js';

/** The control state of every parked run: paused, with no outcome due (a run parks only then). */
export const parkedControl: Control = reduce(initialControl, { type: 'pause' });

/** Who holds a run that can park: its handle. */
export interface RunOwner {
  /** The run has parked: from now on `run` stands for it. */
  parked(run: ParkedRun): void;
  /** The run as it is now, woken if parked (a step that has settled may still `ctx.send`). */
  awake(): { sendFrom(invocation: Invocation, event: WorkflowEvent): void };
}

/** Whether a paused run's snapshot holds only plain data: nothing in flight, waiting, or running as a child. */
export function holdsNothingLive(snapshot: Snapshot): boolean {
  return snapshot.inFlight.length === 0 && snapshot.waiting.length === 0 && isEmpty(snapshot.answered) && isEmpty(snapshot.children);
}

/**
 * A paused, quiescent run reduced to its plain snapshot (DESIGN §6.1: "a parked run holds its plain snapshot
 * data, not live subscriptions"), plus what its followers hold on to: the event log (numbering, replay buffer,
 * live followers), the result and status subjects. Waking builds the run again from the snapshot, as a resume
 * does, with these carried over, so nobody following the run can tell it was parked.
 */
export class ParkedRun {
  constructor(
    private readonly kept: Snapshot,
    readonly log: EventLog,
    readonly result: AsyncSubject<unknown>,
    /** The status$ subject, if anyone asked for it (made here if someone asks while parked). */
    public statusSubj: BehaviorSubject<RunStatus> | undefined,
    readonly idle: IdleState | undefined,
  ) {}

  get status(): RunStatus {
    return 'paused';
  }

  snapshot(): Snapshot {
    return this.kept;
  }

  /** Quiet already: paused with nothing in flight. */
  pause(): Promise<Snapshot> {
    return Promise.resolve(this.kept);
  }

  pauseThen(onQuiet: (snapshot: Snapshot) => void): void {
    onQuiet(this.kept);
  }

  /** Nothing to save: a run with a store parks once its saves have landed. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  get events$(): Observable<RunEvent> {
    return this.log.events$;
  }

  get status$(): Observable<RunStatus> {
    return (this.statusSubj ??= new BehaviorSubject<RunStatus>('paused')).asObservable();
  }

  get result$(): Observable<unknown> {
    return this.result.asObservable();
  }

  get metadata(): Readonly<Record<string, unknown>> {
    return this.kept.metadata;
  }
}
