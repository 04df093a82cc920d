import { describeThrown, WorkflowError } from '../errors/WorkflowError.js';
import type { Envelope } from '../events/envelope.js';
import { checkEvent, isEvent, type WorkflowEvent } from '../events/event.js';
import { deepFreeze } from '../events/freeze.js';
import { uuid } from '../events/ids.js';
import type { StepDef } from '../workflow/types.js';
import type { WorkflowSpec } from '../workflow/spec.js';

/**
 * Check what a step produced (returned, or `ctx.send`), or what `run.send()` was given: an event, of a type
 * in the step's `emits` when declared, valid against the schema of its type. Throws `invalid_event` naming
 * the step; returns the event (parsed by its schema when it has one).
 */
export function checkOutput(spec: WorkflowSpec, value: unknown, step: StepDef | undefined): WorkflowEvent {
  const where = step === undefined ? 'run.send()' : `step '${step.name}'`;
  const stepInfo = step === undefined ? {} : { step: step.name };
  if (!isEvent(value)) {
    throw new WorkflowError('invalid_event', `${where} produced ${describeThrown(value)}, which is not an event`, stepInfo);
  }
  if (step?.emits !== undefined && !step.emits.has(value.type)) {
    throw new WorkflowError(
      'invalid_event',
      `${where} emitted '${value.type}', which is not in its emits [${[...step.emits].join(', ')}]`,
      { ...stepInfo, details: { type: value.type } },
    );
  }
  try {
    return checkEvent(value, spec.schemas.get(value.type));
  } catch (error) {
    const e = error as WorkflowError;
    throw new WorkflowError('invalid_event', `${where}: ${e.message}`, { ...stepInfo, cause: e.cause });
  }
}

/**
 * A fresh envelope for `event` (frozen, so no step can change what another sees); `from`: the invocation that
 * produced it. Two shapes only (with a source, `from` is always there, if undefined), so the loop's reads stay fast.
 */
export function envelopeOf(event: WorkflowEvent, at: number, source?: string, from?: string): Envelope {
  return source === undefined
    ? { id: uuid(), event: deepFreeze(event), at }
    : { id: uuid(), event: deepFreeze(event), source, at, from };
}
