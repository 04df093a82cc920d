import { Observable } from 'rxjs';
import type { z } from 'zod';
import { WorkflowError } from '../errors/WorkflowError.js';
import { checkDuration, checkJson, checkRetry, checkRunId } from '../events/checks.js';
import type { EventType } from '../events/event.js';
import { resolveFlow, type FlowOptions } from './flowOptions.js';
import type { RunHandle } from '../run/RunHandle.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { Acceptable, RetryPolicy, StepDef } from './types.js';

/* What every step kind of the builder shares: the checks of its options and the common part of its definition. */

function isAcceptable(a: unknown): a is Acceptable {
  return (typeof a === 'string' && a.length > 0) || (typeof a === 'object' && a !== null && typeof (a as { type?: unknown }).type === 'string');
}

function typeName(a: Acceptable): string {
  return typeof a === 'string' ? a : a.type;
}

export function baseStep(
  name: string,
  kind: StepDef['kind'],
  accepts: readonly Acceptable[],
  emits: readonly Acceptable[] | undefined,
  collects?: readonly Acceptable[],
): Pick<StepDef, 'name' | 'kind' | 'accepts' | 'emits' | 'collects' | 'schemas'> {
  const schemas = new Map<string, z.ZodType>();
  for (const a of accepts) {
    if (typeof a !== 'string' && a.schema !== undefined) schemas.set(a.type, (a as EventType).schema as z.ZodType);
  }
  return {
    name,
    kind,
    accepts: [...new Set(accepts.map(typeName))],
    emits: emits === undefined ? undefined : new Set(emits.map(typeName)),
    collects: collects === undefined || collects.length === 0 ? undefined : new Set(collects.map(typeName)),
    schemas,
  };
}

/** Input, state and run id go into every checkpoint: refuse at the call what could not be stored or loaded. */
export function checkRunOptions(input: unknown, options: { runId?: string | undefined; state?: unknown }): void {
  if (options.runId !== undefined) checkRunId(options.runId, 'wf.run()');
  checkJson(input, 'wf.run(input): the input', 'invalid_event');
  const state = options.state;
  if (state !== undefined && (typeof state !== 'object' || state === null || Array.isArray(state))) {
    throw new WorkflowError('invalid_argument', 'wf.run(input, { state }): state must be a plain object of JSON values');
  }
  if (state !== undefined) checkJson(state, 'wf.run(input, { state })', 'invalid_snapshot', false);
}

export function checkStepOptions(
  workflowName: string,
  name: string,
  options: { accepts?: unknown; collects?: unknown; concurrency?: unknown; timeout?: unknown; retry?: RetryPolicy | undefined },
): void {
  const fail = (why: string) =>
    new WorkflowError('invalid_workflow', `workflow '${workflowName}', step '${name}': ${why}`, { step: name });
  if (typeof name !== 'string' || name.length === 0) throw fail('a step needs a non-empty name');
  if (!Array.isArray(options?.accepts) || options.accepts.length === 0) throw fail('`accepts` must list at least one event type');
  const collects = options.collects;
  if (collects !== undefined && (!Array.isArray(collects) || !collects.every(isAcceptable))) {
    throw fail('`collects` must list event types (EventTypes or type names)');
  }
  const what = `workflow '${workflowName}', step '${name}'`;
  checkDuration(options.timeout, `${what}: timeout`, 'invalid_workflow', { step: name });
  checkRetry(options.retry, what, { step: name });
}

/** A step's concurrency and, when it has per-key limits, a rate limit or a debounce, its `flow`. */
export function flowOf(workflowName: string, name: string, options: FlowOptions<any>): Pick<StepDef, 'concurrency' | 'flow'> {
  const flow = resolveFlow(workflowName, name, options);
  const plain = flow.concurrencyKey === undefined && flow.rateLimit === undefined && flow.debounce === undefined;
  return plain ? { concurrency: flow.concurrency } : { concurrency: flow.concurrency, flow };
}

/** A `.parallel` step's branches (each branch's timeout and retry) and its `join`; throws `invalid_workflow`. */
export function checkParallelOptions(workflowName: string, name: string, options: { branches?: readonly { timeout?: number | undefined; retry?: RetryPolicy | undefined }[]; join?: unknown }): void {
  (options.branches ?? []).forEach((b, i) => {
    const what = `workflow '${workflowName}', step '${name}', branch ${i}`;
    checkDuration(b.timeout, `${what}: timeout`, 'invalid_workflow', { step: name });
    checkRetry(b.retry, what, { step: name });
  });
  if (options.join !== 'all' && options.join !== 'first') {
    throw new WorkflowError('invalid_workflow', `workflow '${workflowName}', step '${name}': join must be 'all' or 'first'`, { step: name });
  }
}

/** `wf.run$()`: a cold Observable of one run's RunEvents; each subscription starts a run, unsubscribing aborts it. */
export function runEvents$(start: () => RunHandle): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    const run = start();
    subscriber.add(
      run.events$.subscribe({
        next: (ev) => subscriber.next(ev),
        complete: () => run.result$.subscribe({ error: (e) => subscriber.error(e), complete: () => subscriber.complete() }),
      }),
    );
    return () => run.abort('unsubscribed');
  });
}
