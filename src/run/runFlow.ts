import type { SchedulerLike } from 'rxjs';
import type { Envelope } from '../events/envelope.js';
import type { StepDef } from '../workflow/types.js';
import { FlowClock } from './flowClock.js';
import { StepFlowControl, usedRateSlots, withDueTimes } from './flowControl.js';
import { Holding } from './holding.js';

/**
 * A run's flow control (DESIGN §6.3): one StepFlowControl per step with per-key limits, a rate window or a
 * debounce, sharing one clock that stops while the run is paused and one record of what they hold back.
 * Kept across hibernation, so a rate window remembers the slots it used.
 */
export class RunFlow {
  private readonly clock: FlowClock;
  private readonly holding = new Holding<Envelope>();
  private readonly steps = new Map<string, StepFlowControl>();

  constructor(
    scheduler: SchedulerLike,
    paused: boolean,
    /** A debounced envelope was superseded. */
    private readonly dropped: (step: StepDef, env: Envelope) => void,
  ) {
    this.clock = new FlowClock(scheduler);
    if (paused) this.clock.pause();
  }

  /** The step's flow control, made on first use. */
  control(step: StepDef): StepFlowControl {
    let control = this.steps.get(step.name);
    if (control === undefined) {
      control = new StepFlowControl(step.name, step.flow as NonNullable<StepDef['flow']>, {
        clock: this.clock,
        holding: this.holding,
        dropped: (env) => this.dropped(step, env),
      });
      this.steps.set(step.name, control);
    }
    return control;
  }

  /** What the steps hold back, oldest first, each with its due time. */
  held(envelopes: Iterable<Envelope>): Envelope[] {
    return withDueTimes(envelopes, this.holding);
  }

  /** The rate slots in use by step and key (snapshots keep them); undefined when there are none. */
  rateSlots(): Record<string, Record<string, number[]>> | undefined {
    return usedRateSlots(this.steps);
  }

  /** Whether a debounce or rate timer is running (its remaining time lives in the pipelines). */
  get timed(): boolean {
    return this.clock.size > 0;
  }

  /** The clocks stop while the run is paused and keep their remaining time. */
  setRunning(running: boolean): void {
    if (running) this.clock.resume();
    else this.clock.pause();
  }

  close(): void {
    for (const control of this.steps.values()) control.close();
  }
}
