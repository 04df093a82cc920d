import type { z } from 'zod';
import { WorkflowError } from '../errors/WorkflowError.js';
import { InputRequestEvent, InputResponseEvent, StartEvent, StopEvent } from '../events/event.js';
import { isDuration } from '../events/checks.js';
import { stopSchema } from './edges.js';
import type { StepDef, WorkflowOptions } from './types.js';

/** Everything a run needs from its workflow, computed once per workflow object. */
export interface WorkflowSpec {
  readonly name: string;
  readonly version: string;
  readonly options: WorkflowOptions;
  readonly steps: readonly StepDef[];
  /** Event type → accepting steps in registration order. */
  readonly routes: ReadonlyMap<string, readonly StepDef[]>;
  /** Event type → names of the accepting steps (what `event_routed.steps` reports). */
  readonly routeNames: ReadonlyMap<string, readonly string[]>;
  /** Step name → step: the `groupBy` key of an envelope is the step it is addressed to. */
  readonly stepsByName: ReadonlyMap<string, StepDef>;
  /** Steps with no concurrency limit or flow control: their pipeline starts each envelope as it arrives. */
  readonly unlimited: ReadonlySet<string>;
  /** Pipe steps keep operator state (buffers) in live subscriptions, so such runs never hibernate. */
  readonly hasPipes: boolean;
  /** Event type → schema to check plain (not `.of()`-built) events against. */
  readonly schemas: ReadonlyMap<string, z.ZodType>;
  /** Fan-in types some step declares (`collects`): the only ones buffered. */
  readonly collects: ReadonlySet<string>;
}

const BUILT_IN = [StartEvent, StopEvent, InputRequestEvent, InputResponseEvent];

/** Validate and index a workflow; throws `invalid_workflow`. */
export function compile(name: string, options: WorkflowOptions, steps: readonly StepDef[]): WorkflowSpec {
  if (steps.length === 0) {
    throw invalid(
      name,
      'it has no steps. Builder calls return a new workflow and leave the old one as it was: keep what .step() returns (const wf = workflow(name).step(…), or wf = wf.step(…))',
    );
  }
  const timeout = options.timeout;
  if (timeout !== undefined && timeout !== null && !isDuration(timeout)) {
    throw invalid(name, `timeout must be a finite number of ms >= 0 or null (no timeout), got ${String(timeout)}`);
  }
  const onIdle: unknown = options.onIdle;
  if (onIdle !== undefined && onIdle !== 'wait' && onIdle !== 'fail') throw invalid(name, `onIdle must be 'wait' or 'fail', got ${JSON.stringify(onIdle) ?? String(onIdle)}`);
  const names = new Set<string>();
  const routes = new Map<string, StepDef[]>();
  const schemas = new Map<string, z.ZodType>();
  for (const t of BUILT_IN) if (t.schema !== undefined) schemas.set(t.type, t.schema);
  for (const step of steps) {
    if (names.has(step.name)) throw invalid(name, `two steps are named '${step.name}'`);
    names.add(step.name);
    for (const type of step.accepts) {
      const list = routes.get(type) ?? [];
      list.push(step);
      routes.set(type, list);
    }
    for (const [type, schema] of step.schemas) if (!schemas.has(type)) schemas.set(type, schema);
  }
  if (!routes.has(StartEvent.type)) throw invalid(name, 'no step accepts StartEvent');
  if (options.result !== undefined) schemas.set(StopEvent.type, stopSchema(options.result));
  const routeNames = new Map([...routes].map(([type, list]) => [type, Object.freeze(list.map((s) => s.name))] as const));
  const hasPipes = steps.some((s) => s.kind === 'pipe');
  const stepsByName = new Map(steps.map((step) => [step.name, step] as const));
  // A step with flow control keeps its state (debounce, rate window, per-key slots) in one pipeline.
  const unlimited = new Set(steps.filter((s) => s.kind === 'step' && s.concurrency === Number.POSITIVE_INFINITY && s.flow === undefined).map((s) => s.name));
  return {
    name,
    version: versionOf(steps),
    options,
    steps,
    routes,
    routeNames,
    stepsByName,
    unlimited,
    hasPipes,
    schemas,
    collects: new Set(steps.flatMap((s) => [...(s.collects ?? [])])),
  };
}

function invalid(name: string, why: string): WorkflowError {
  return new WorkflowError('invalid_workflow', `workflow '${name}' is invalid: ${why}`, { details: { workflow: name } });
}

/** A stable hash of step names and accepted types: a snapshot only resumes on the same shape. */
function versionOf(steps: readonly StepDef[]): string {
  const text = JSON.stringify(steps.map((s) => [s.name, [...s.accepts].sort()]));
  // FNV-1a, 32 bit: stable across processes and platforms, no dependency.
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}
