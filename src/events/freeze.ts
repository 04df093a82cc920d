import { jsonProblem } from './json.js';

/** Deep-freeze a JSON-like value in place so no step can change what another step sees (iterative: any depth). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const stack: object[] = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    Object.freeze(v);
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null && !Object.isFrozen(child)) stack.push(child);
    }
  }
  return value;
}

/** Is `value` plain JSON (what snapshots can hold)? Returns the path of the first offending part, or undefined. */
export function findNonJson(value: unknown): string | undefined {
  return jsonProblem(value)?.path;
}
