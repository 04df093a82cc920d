import { Subject, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import { OUTCOME_RANK, type Outcome } from './reducer.js';

/** What the race tells its run (the run itself: no callback objects per run). */
export interface OutcomeHost {
  halt(outcome: Outcome): void;
  announce(outcome: Outcome): void;
}

/**
 * The one way a run ends. Step errors, the StopEvent, the workflow timeout, a failed store and an error on
 * the bus all `propose` an outcome; those proposed within one scheduler frame race, and the highest wins
 * (error > stop > timeout; ties keep the first), whatever order their timers happened to fire in. `abort()`
 * is proposed too, but decides at once: it takes effect synchronously. `decided$` emits the winner once;
 * the loop's pipelines end with `takeUntil(decided$)`.
 */
export class OutcomeRace {
  /** The best outcome proposed in the current frame, and the frame's end. */
  private best: Outcome | undefined;
  private frameEnd: Subscription | undefined;
  private readonly decidedSubject = new Subject<Outcome>();
  private winner: Outcome | undefined;
  /** Emits the decided outcome once, then completes. */
  get decided$(): Observable<Outcome> {
    return this.decidedSubject;
  }

  constructor(
    /** The frame scheduler: the zero-delay scheduler of the run. */
    private readonly frame: SchedulerLike,
    /** `halt` runs with the winner before `decided$` emits (the pipelines end), `announce` right after. */
    private readonly host: OutcomeHost,
  ) {}

  get decided(): Outcome | undefined {
    return this.winner;
  }

  propose(outcome: Outcome): void {
    if (this.winner !== undefined) return;
    if (outcome.status === 'aborted') return this.decide(outcome);
    if (this.best === undefined) {
      this.best = outcome;
      this.frameEnd = this.frame.schedule(() => this.decide(this.best as Outcome));
    } else if (OUTCOME_RANK[outcome.status] > OUTCOME_RANK[this.best.status]) {
      this.best = outcome;
    }
  }

  private decide(outcome: Outcome): void {
    if (this.winner !== undefined) return;
    this.winner = outcome;
    this.frameEnd?.unsubscribe();
    this.host.halt(outcome);
    this.decidedSubject.next(outcome);
    this.decidedSubject.complete();
    this.host.announce(outcome);
  }
}

/** The error a decided outcome gives to pause waiters, in-flight signals and late callers. */
export function outcomeError(outcome: Outcome): WorkflowError {
  return outcome.status === 'completed' ? new WorkflowError('not_running', 'the run completed') : outcome.error;
}

/** An error on the bus is a bug or a bad snapshot; it fails the run with a code instead of stalling it. */
export function busError(error: unknown): WorkflowError {
  return WorkflowError.is(error) ? error : new WorkflowError('step_failed', `the run loop failed: ${describeThrown(error)}`, { cause: error });
}
