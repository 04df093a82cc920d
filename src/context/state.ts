import { WorkflowError } from '../errors/WorkflowError.js';
import { deepFreeze, findNonJson } from '../events/freeze.js';

/**
 * The run's shared key/value state (`ctx.state`). Values must be plain JSON because they are part of
 * every snapshot; they are stored as frozen copies, so change them with `set` or `update`.
 *
 * @example
 * ```ts
 * ctx.state.set('seen', 1);
 * ctx.state.update('seen', (n = 0) => n + 1);
 * ctx.state.get('seen'); // 2
 * ```
 */
export interface RunState {
  get<T = unknown>(key: string): T | undefined;
  set(key: string, value: unknown): void;
  update<T = unknown>(key: string, fn: (current: T | undefined) => T): T;
}

/** The state record behind `ctx.state`; `record` is what snapshots carry. */
export class StateStore implements RunState {
  readonly record: Record<string, unknown>;
  private sealed = false;

  /** After the run ends its state is final (it is in the final snapshot): further sets throw `not_running`. */
  seal(): void {
    this.sealed = true;
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
    const bad = findNonJson(value);
    if (bad !== undefined) {
      throw new WorkflowError(
        'invalid_snapshot',
        `ctx.state.set('${key}'): ${bad} is not plain JSON; state is part of every snapshot, so it must be JSON`,
        { details: { key, path: bad } },
      );
    }
    this.record[key] = value === undefined ? undefined : deepFreeze(structuredClone(value));
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
