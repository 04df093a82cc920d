import type { Workflow } from '../workflow/workflow.js';

/** One step of a workflow as the API shows it. `emits` is `null` when the step did not declare its outputs. */
export interface StepView {
  name: string;
  kind: 'step' | 'pipe';
  accepts: string[];
  emits: string[] | null;
}

/** An arrow of the step graph: `from` emits `type`, which `to` accepts. `from` is `null` for `StartEvent`. */
export interface EdgeView {
  from: string | null;
  to: string;
  type: string;
}

/** `GET /api/workflows` rows: the declared shape of a workflow, from each step's `accepts` and `emits`. */
export interface WorkflowView {
  name: string;
  version: string;
  steps: StepView[];
  edges: EdgeView[];
}

/**
 * Describe a workflow's step graph. Edges come from declared `emits` only: a step without `emits` has no
 * outgoing arrows (what it sends is only known at run time, and shows in the event timeline).
 *
 * @example
 * ```ts
 * describeWorkflow(qa).edges; // [{ from: null, to: 'search', type: 'StartEvent' }, { from: 'search', to: 'answer', type: 'Query' }]
 * ```
 */
export function describeWorkflow(wf: Workflow): WorkflowView {
  const steps: StepView[] = wf.steps.map((s) => ({
    name: s.name,
    kind: s.kind,
    accepts: [...s.accepts],
    emits: s.emits === undefined ? null : [...s.emits],
  }));
  const edges: EdgeView[] = [];
  for (const to of steps) if (to.accepts.includes('StartEvent')) edges.push({ from: null, to: to.name, type: 'StartEvent' });
  for (const from of steps) {
    for (const type of from.emits ?? []) {
      for (const to of steps) if (to.accepts.includes(type)) edges.push({ from: from.name, to: to.name, type });
    }
  }
  return { name: wf.name, version: wf.version, steps, edges };
}
