import { engineError, WorkflowError } from '../errors/WorkflowError.js';
import type { WorkflowEvent } from '../events/event.js';
import type { StepDef } from '../workflow/types.js';

/** What fan-in needs of an invocation: its step, and the events it has taken so far (by type, in order). */
export interface Collector {
  readonly step: StepDef;
  collected: Record<string, WorkflowEvent[]> | undefined;
}

/**
 * Fan-in (`ctx.collect`, DESIGN §3.2, §6.1, §6.6): a buffer per **declared** type (some step's `collects`),
 * filled as events are routed; nothing else is buffered, so a run's memory does not grow with what it routes.
 *
 * Collecting is replay-safe: what an invocation takes is remembered on it (and travels with its in-flight
 * entry in snapshots), so a later attempt, or a re-delivery after a resume, gets back exactly the same
 * events — each attempt reads them again from the start, in the order it asks.
 */
export class FanIn {
  constructor(
    /** Type → uncollected events, oldest first (the snapshot's `collected`). */
    readonly buffers: Record<string, WorkflowEvent[]>,
    private readonly declared: ReadonlySet<string>,
  ) {}

  /** A routed event: buffered when its type is declared. */
  offer(event: WorkflowEvent): void {
    if (this.declared.has(event.type)) (this.buffers[event.type] ??= []).push(event);
  }

  /**
   * `n` events of `type` for `inv`: first those it took before and has not had back in this attempt
   * (`cursor` counts them per type), then fresh ones from the buffer; `undefined` (taking nothing) until
   * there are enough. Throws `invalid_workflow` when the step did not declare the type.
   */
  take(inv: Collector, type: string, n: number, cursor: Record<string, number>): WorkflowEvent[] | undefined {
    const step = inv.step;
    if (step.collects?.has(type) !== true) {
      throw engineError(
        new WorkflowError(
          'invalid_workflow',
          `step '${step.name}' collects '${type}' events, which it does not declare: add \`collects: [${type}]\` to the options of step '${step.name}' (only declared types are buffered)`,
          { step: step.name, details: { type }, retryable: false },
        ),
      );
    }
    const before = inv.collected?.[type] ?? [];
    const from = cursor[type] ?? 0;
    const again = Math.min(n, before.length - from);
    const buffer = this.buffers[type] ?? [];
    if (buffer.length < n - again) return undefined;
    const taken = before.slice(from, from + again);
    if (again < n) {
      const fresh = buffer.splice(0, n - again);
      taken.push(...fresh);
      // A pipe step's context lives as long as the run and is never re-delivered: nothing to remember.
      if (step.kind !== 'pipe') ((inv.collected ??= {})[type] ??= []).push(...fresh);
    }
    cursor[type] = from + n;
    return taken;
  }
}

/** A restored fan-in buffer keeps only the declared types (an older snapshot buffered every routed type). */
export function declaredOnly(collected: Record<string, WorkflowEvent[]>, declared: ReadonlySet<string>): Record<string, WorkflowEvent[]> {
  const kept: Record<string, WorkflowEvent[]> = {};
  for (const type of Object.keys(collected)) if (declared.has(type)) kept[type] = collected[type] as WorkflowEvent[];
  return kept;
}
