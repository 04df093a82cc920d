/** Deep-freeze a JSON-like value in place so no step can change what another step sees. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}

/** Is `value` plain JSON (what snapshots can hold)? Returns the path of the first offending part, or undefined. */
export function findNonJson(value: unknown, path = '$'): string | undefined {
  return nonJson(value, path)?.path;
}

/** The first part of `value` that is not plain JSON: its path (from `root`), what it is, and how to store it instead. */
export interface NonJson {
  path: string;
  what: string;
  fix: string;
}

/** Like {@link findNonJson}, with what the offending part is and how to fix it (for error messages). */
export function nonJson(value: unknown, root = '$'): NonJson | undefined {
  const path = walk(value, root, new Set());
  if (path === undefined) return undefined;
  return { path, ...describe(at(value, root, path)) };
}

/** A one-line sentence naming the non-JSON part of `value` and the fix, or undefined when it is JSON. */
export function explainNonJson(value: unknown, root: string): string | undefined {
  const bad = nonJson(value, root);
  return bad === undefined ? undefined : `${bad.path} is ${bad.what}, which is not JSON; ${bad.fix}`;
}

function at(value: unknown, root: string, path: string): unknown {
  if (path === root) return value;
  let current = value;
  for (const key of path.slice(root.length + 1).split('.')) current = (current as Record<string, unknown> | undefined)?.[key];
  return current;
}

function describe(value: unknown): { what: string; fix: string } {
  if (value instanceof Date) return { what: 'a Date', fix: 'store date.toISOString() (or date.getTime()) instead' };
  if (value instanceof Map) return { what: 'a Map', fix: 'store Object.fromEntries(map) (or [...map]) instead' };
  if (value instanceof Set) return { what: 'a Set', fix: 'store [...set] instead' };
  switch (typeof value) {
    case 'number':
      return { what: String(value), fix: 'store a finite number, or null' };
    case 'bigint':
      return { what: 'a bigint', fix: 'store String(n) (or Number(n)) instead' };
    case 'undefined':
      return { what: 'undefined', fix: 'leave the key out, or store null' };
    case 'function':
      return { what: 'a function', fix: 'store data, not code' };
    case 'symbol':
      return { what: 'a symbol', fix: 'store a string instead' };
    case 'object': {
      const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
      return name !== undefined && name !== 'Object' && name !== 'Array'
        ? { what: `an instance of ${name}`, fix: 'store a plain object with its fields instead' }
        : { what: 'a circular reference', fix: 'store each object once (by id) instead' };
    }
    default:
      return { what: typeof value, fix: 'store plain JSON instead' };
  }
}

function walk(value: unknown, path: string, seen: Set<object>): string | undefined {
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
        const bad = walk(child, `${path}.${key}`, seen);
        if (bad !== undefined) return bad;
      }
      seen.delete(value);
      return undefined;
    }
    default:
      return path;
  }
}
