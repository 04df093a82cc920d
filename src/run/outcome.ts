import { Subject, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import { highestInFrame } from './operators/highestInFrame.js';
import { OUTCOME_RANK, type Outcome } from './reducer.js';

/** What the race tells its run (the run itself: no callback objects per run). */
export interface OutcomeHost {
  halt(outcome: Outcome): void;
  announce(outcome: Outcome): void;
}

/**
 * The one way a run ends. Step errors, the StopEvent, the workflow timeout, a failed store and an error on
 * the bus all `propose` an outcome; those proposed within one scheduler frame race through `highestInFrame`
 * (error > stop > timeout). `abort()` is proposed too, but decides at once: it takes effect synchronously.
 * `decided$` emits the winner once; the loop's pipelines end with `takeUntil(decided$)`.
 */
export class OutcomeRace {
  private proposals: Subject<Outcome> | undefined;
  private racing: Subscription | undefined;
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
    // Created on the first proposal: most runs see exactly one.
    if (this.proposals === undefined) {
      this.proposals = new Subject<Outcome>();
      this.racing = this.proposals
        .pipe(highestInFrame((o) => OUTCOME_RANK[o.status], this.frame))
        .subscribe((winner) => this.decide(winner));
    }
    this.proposals.next(outcome);
  }

  private decide(outcome: Outcome): void {
    if (this.winner !== undefined) return;
    this.winner = outcome;
    this.racing?.unsubscribe();
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
