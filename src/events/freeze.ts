/** Deep-freeze a JSON-like value in place so no step can change what another step sees. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}

/** Is `value` plain JSON (what snapshots can hold)? Returns the path of the first offending part, or undefined. */
export function findNonJson(value: unknown, path = '$', seen = new Set<object>()): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : path;
    case 'object': {
      if (value === null) return undefined;
      if (seen.has(value)) return path;
      const proto = Object.getPrototypeOf(value);
      if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return path;
      seen.add(value);
      for (const [key, child] of Object.entries(value)) {
        const bad = findNonJson(child, `${path}.${key}`, seen);
        if (bad !== undefined) return bad;
      }
      seen.delete(value);
      return undefined;
    }
    default:
      return path;
  }
}
