import { WorkflowError } from '../errors/WorkflowError.js';
import { clonePlain } from '../events/clone.js';
import { deepFreeze, explainNonJson, findNonJson } from '../events/freeze.js';

/** `ctx.state` of a workflow without a `state` schema (see {@link RunState}). */
export interface UntypedRunState {
  get<T = unknown>(key: string): T | undefined;
  set(key: string, value: unknown): void;
  update<T = unknown>(key: string, fn: (current: T | undefined) => T): T;
}

/** The shape of a run's state when the workflow declares none: any key, values unknown. */
export type StateShape = Record<string, unknown>;

/**
 * `ctx.state` typed by the workflow's `state` schema: keys and value types come from it. (Without a schema
 * it is {@link UntypedRunState}, whose `get<T>()` is a cast.)
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { StartEvent, StopEvent, workflow } from 'sluice';
 * workflow('count', { state: z.object({ seen: z.number() }) })
 *   .step('count', { accepts: [StartEvent] }, (_ev, ctx) => {
 *     const seen = ctx.state.update('seen', (n = 0) => n + 1); // number
 *     return StopEvent.of({ result: seen });
 *   });
 * ```
 */
export interface TypedRunState<S extends StateShape> {
  get<K extends keyof S & string>(key: K): S[K] | undefined;
  set<K extends keyof S & string>(key: K, value: S[K]): void;
  update<K extends keyof S & string>(key: K, fn: (current: S[K] | undefined) => S[K]): S[K];
}

/**
 * The run's shared key/value state (`ctx.state`). Values must be plain JSON because they are part of
 * every snapshot; they are stored as frozen copies, so change them with `set` or `update`.
 *
 * @example
 * ```ts
 * import type { RunState } from 'sluice';
 * function bump(state: RunState): number {
 *   state.set('seen', 1);
 *   return state.update<number>('seen', (n = 0) => n + 1); // 2
 * }
 * ```
 */
export type RunState<S extends StateShape = StateShape> = 0 extends 1 & S
  ? any // a `Workflow<any>`'s steps: any state
  : string extends keyof S
    ? UntypedRunState
    : TypedRunState<S>;

/** The state record behind `ctx.state`; `record` is what snapshots carry. */
export class StateStore implements UntypedRunState {
  readonly record: Record<string, unknown>;
  private sealed = false;

  /** After the run ends its state is final (it is in the final snapshot): further sets throw `not_running`. */
  seal(): void {
    this.sealed = true;
  }

  /** Whether the run has ended and its state is final. */
  get isSealed(): boolean {
    return this.sealed;
  }

  constructor(initial: Record<string, unknown> = {}) {
    this.record = Object.create(null) as Record<string, unknown>;
    for (const [key, value] of Object.entries(initial)) this.set(key, value);
  }

  get<T = unknown>(key: string): T | undefined {
    return this.record[key] as T | undefined;
  }

  set(key: string, value: unknown): void {
    if (this.sealed) {
      throw new WorkflowError('not_running', `ctx.state.set('${key}'): the run has ended; its state is final`, { details: { key } });
    }
    const bad = findNonJson(value, key);
    if (bad !== undefined) {
      throw new WorkflowError(
        'invalid_snapshot',
        `ctx.state.set('${key}'): ${explainNonJson(value, key)} (state is part of every snapshot)`,
        { details: { key, path: bad } },
      );
    }
    this.record[key] = value === undefined ? undefined : deepFreeze(clonePlain(value));
  }

  update<T = unknown>(key: string, fn: (current: T | undefined) => T): T {
    const next = fn(this.get<T>(key));
    this.set(key, next);
    return this.get<T>(key) as T;
  }

  /** A plain copy for snapshots. */
  toJSON(): Record<string, unknown> {
    return { ...this.record };
  }
}

type StagedOp = { key: string; set: unknown } | { key: string; update: (current: unknown) => unknown };

/**
 * One invocation's view of the run state (DESIGN §6.6): its writes are staged and only reach the run's
 * state when the invocation settles (`commit`), in the same synchronous step as its outputs. It reads its
 * own writes; others see committed state. An `update(key, fn)` runs `fn` at once (for the value this
 * invocation reads) and again at commit on the value current then, so concurrent increments are never lost
 * — `fn` must be pure. A snapshot therefore never holds the writes of an invocation it shows in flight, and
 * a re-delivered invocation never applies them twice; a failed or retried attempt's writes are dropped.
 *
 * @example
 * ```ts
 * ctx.state.update('count', (n = 0) => n + 1); // visible to this invocation now, to others once it settles
 * ```
 */
export class StagedState implements RunState {
  private readonly ops: StagedOp[] = [];
  private readonly view = new Map<string, unknown>();
  private committed = false;

  constructor(private readonly base: RunState) {}

  get<T = unknown>(key: string): T | undefined {
    return (this.view.has(key) ? this.view.get(key) : this.base.get(key)) as T | undefined;
  }

  /** Once the run has ended (or this invocation committed) writes go straight to the run's state, which refuses them when final. */
  private get direct(): boolean {
    return this.committed || (this.base as { isSealed?: boolean }).isSealed === true;
  }

  set(key: string, value: unknown): void {
    if (this.direct) return this.base.set(key, value);
    const frozen = checked(key, value, 'set');
    this.ops.push({ key, set: frozen });
    this.view.set(key, frozen);
  }

  update<T = unknown>(key: string, fn: (current: T | undefined) => T): T {
    if (this.direct) return this.base.update(key, fn);
    const next = checked(key, fn(this.get<T>(key)), 'update') as T;
    this.ops.push({ key, update: fn as (current: unknown) => unknown });
    this.view.set(key, next);
    return next;
  }

  /** Apply the staged writes to the run's state, in order; later writes of this invocation go straight there. */
  commit(): void {
    if (this.committed) return;
    this.committed = true;
    for (const op of this.ops) {
      if ('set' in op) this.base.set(op.key, op.set);
      else this.base.update(op.key, op.update);
    }
  }
}

function checked(key: string, value: unknown, verb: string): unknown {
  const bad = findNonJson(value, key);
  if (bad !== undefined) {
    throw new WorkflowError('invalid_snapshot', `ctx.state.${verb}('${key}'): ${explainNonJson(value, key)} (state is part of every snapshot)`, {
      details: { key, path: bad },
    });
  }
  return value === undefined ? undefined : deepFreeze(clonePlain(value));
}
