import type { z } from 'zod';
import type { StateShape } from '../context/state.js';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { StateSchema, WorkflowOptions } from './types.js';
import { Workflow } from './workflow.js';

type Out<T> = T extends z.ZodType ? z.output<T> : unknown;
type In<T> = T extends z.ZodType ? z.input<T> : unknown;
type StateOf<T> = T extends StateSchema ? z.output<T> : StateShape;

/** Options without schemas: `workflow<R>()` then types only the result, unchecked. */
export type UntypedWorkflowOptions = WorkflowOptions & { input?: undefined; result?: undefined; state?: undefined };

/**
 * Start building a workflow. Give it zod schemas for its edges and they type and check them: `input` types
 * `StartEvent`'s data in handlers and `run()`'s argument, `result` types `run.result`, `state` types `ctx.state`.
 * `workflow<R>(name)` without schemas still types the result as `R`, unchecked.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { StartEvent, StopEvent, workflow } from 'sluice';
 * const hello = workflow('hello', { input: z.string(), result: z.string() })
 *   .step('greet', { accepts: [StartEvent] }, (ev) => StopEvent.of({ result: `hi ${ev.data}` }));
 * const greeting: string = await hello.run('Ada').result;
 * ```
 */
export function workflow<R = unknown>(name: string, options?: UntypedWorkflowOptions): Workflow<R>;
export function workflow<
  IS extends z.ZodType | undefined = undefined,
  RS extends z.ZodType | undefined = undefined,
  SS extends StateSchema | undefined = undefined,
>(
  name: string,
  options: WorkflowOptions & { input?: IS; result?: RS; state?: SS },
): Workflow<Out<RS>, Out<IS>, StateOf<SS>, In<IS>>;
export function workflow(name: string, options: WorkflowOptions = {}): Workflow<unknown> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new WorkflowError('invalid_workflow', 'workflow(name): name must be a non-empty string');
  }
  return new Workflow(name, options);
}
