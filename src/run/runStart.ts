import type { SchedulerLike } from 'rxjs';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import type { ParkedRun } from './parked.js';
import { Budget, type Stopwatch } from './operators/budgetTimer.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { StepDef } from '../workflow/types.js';
import type { WorkflowSpec } from '../workflow/spec.js';

/** Where a run starts from: a fresh input, or a snapshot being resumed. */
export type RunStart =
  | { kind: 'new'; input: unknown; runId?: string; state?: Record<string, unknown>; replay?: number }
  | {
      kind: 'resume';
      snapshot: Snapshot;
      retry?: boolean;
      /** What came before (the store's journal): replayed by `events$` once it has arrived. */
      earlier?: Promise<readonly RunEvent[]>;
      /** A version-1 snapshot's history: written to the journal with the first checkpoint. */
      history?: readonly RunEvent[];
    }
  /** A parked run woken in this process: paused as it was, its followers carried over (see ParkedRun). */
  | { kind: 'wake'; parked: ParkedRun };

/** The steps of `spec` that still have a rate limit, with the slots a snapshot says they used. */
export function rateSlotsOf(spec: WorkflowSpec, rateSlots: Snapshot['rateSlots']): [StepDef, Record<string, number[]>][] {
  if (rateSlots === undefined) return [];
  return Object.entries(rateSlots).flatMap(([name, slots]) => {
    const step = spec.steps.find((s) => s.name === name && s.flow?.rateLimit !== undefined);
    return step === undefined ? [] : [[step, slots] as [StepDef, Record<string, number[]>]];
  });
}

/**
 * The workflow timeout (default 300 000 ms, `null` none): `spent` gets its error once the run has been
 * `running` for that long in total (paused and waiting time does not count).
 */
export function workflowBudget(spec: WorkflowSpec, scheduler: SchedulerLike, watch: Stopwatch, spent: (error: WorkflowError) => void): Budget | undefined {
  const timeout = spec.options.timeout === undefined ? 300_000 : spec.options.timeout;
  if (timeout === null) return undefined;
  return new Budget(timeout, scheduler, watch, () => spent(new WorkflowError('timeout', `workflow '${spec.name}' timed out after ${timeout}ms`, { details: { timeout } })));
}

/** An envelope's `groupBy` key, its step; an envelope addressed to a step the workflow lacks (a bad snapshot) fails the run. */
export function groupKey(spec: WorkflowSpec, env: Envelope): string {
  const to = env.to as string;
  if (!spec.stepsByName.has(to)) throw new WorkflowError('invalid_snapshot', `an event is addressed to step '${to}', which workflow '${spec.name}' does not have`, { details: { step: to } });
  return to;
}
