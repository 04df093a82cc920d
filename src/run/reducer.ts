import type { WorkflowError } from '../errors/WorkflowError.js';
import { isTerminal, type RunStatus } from './status.js';

/** How a run ended. */
export type Outcome =
  | { status: 'completed'; result: unknown }
  | { status: 'failed' | 'aborted' | 'timed_out'; error: WorkflowError };

/** The run's control state: everything that decides its status. */
export interface Control {
  readonly status: RunStatus;
  readonly paused: boolean;
  /** An outcome is due this frame: dispatch has stopped, the decision is pending. */
  readonly closing: boolean;
  /** Some outcome is due this frame (a timeout does not stop dispatch, but it does make abort() a no-op). */
  readonly due: boolean;
  readonly outcome: Outcome | undefined;
}

export type ControlAction =
  | { type: 'pause' }
  | { type: 'resume' }
  /** Work changed: `busy` = something queued or running; `waiting` = input requests are open. */
  | { type: 'activity'; busy: boolean; waiting: boolean }
  | { type: 'closing' }
  | { type: 'due' }
  | { type: 'end'; outcome: Outcome };

export const initialControl: Control = { status: 'running', paused: false, closing: false, due: false, outcome: undefined };

/** Among outcomes due in the same frame: step error > stop > timeout. */
export const OUTCOME_RANK: Record<Outcome['status'], number> = { failed: 3, completed: 2, timed_out: 1, aborted: 0 };

/** The one reducer for control state; terminal states absorb every action. */
export function reduce(control: Control, action: ControlAction): Control {
  if (isTerminal(control.status)) return control;
  switch (action.type) {
    case 'pause':
      return { ...control, paused: true, status: 'paused' };
    case 'resume':
      return { ...control, paused: false, status: 'running' };
    case 'activity': {
      const status: RunStatus = control.paused ? 'paused' : action.waiting && !action.busy ? 'waiting' : 'running';
      return status === control.status ? control : { ...control, status };
    }
    case 'closing':
      return control.closing ? control : { ...control, closing: true, due: true };
    case 'due':
      return control.due ? control : { ...control, due: true };
    case 'end':
      return { ...control, closing: true, due: true, outcome: action.outcome, status: action.outcome.status };
  }
}
