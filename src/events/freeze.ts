import { jsonProblem } from './json.js';

/**
 * Deep-freeze a JSON-like value in place so no step can change what another step sees (iterative: any depth).
 * It walks into parts already frozen too: a shallow-frozen object (a user's `Object.freeze`) can hold mutable
 * ones. The value must be acyclic (every caller has checked it is JSON).
 */
export function deepFreeze<T>(value: T): T {
  if (!isObject(value)) return value;
  // One stack for every call, so freezing allocates nothing; `base` keeps a nested call (a getter's) apart.
  const base = pending.length;
  try {
    for (let v: object | undefined = value; v !== undefined; v = pending.length > base ? pending.pop() : undefined) {
      if (!Object.isFrozen(v)) Object.freeze(v);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (isObject(v[i])) pending.push(v[i] as object);
      } else {
        // `for…in` reads the map's enum cache where `Object.keys` would copy it.
        for (const key in v) {
          const child = (v as Record<string, unknown>)[key];
          if (isObject(child) && Object.hasOwn(v, key)) pending.push(child);
        }
      }
    }
  } finally {
    if (pending.length !== base) pending.length = base; // after a throw (a getter, a typed array); setting length is a runtime call
  }
  return value;
}

const pending: object[] = [];
const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null;

/** How deep {@link freezePlain} looks before leaving a value to be copied instead (a cycle ends there too). */
const PLAIN_DEPTH = 64;

/**
 * Deep-freeze `value` in place when it is plain data (scalars, arrays without holes, objects of `Object.prototype`
 * or none) within {@link PLAIN_DEPTH} levels, and say whether it was; anything else (a class instance, a
 * function, a cycle) is left as it was. For values no JSON check has seen: what it returns true for is frozen all
 * the way down, so a store can keep it instead of a copy.
 */
export function freezePlain(value: unknown): boolean {
  if (!plain(value, PLAIN_DEPTH)) return false;
  deepFreeze(value);
  return true;
}

function plain(v: unknown, depth: number): boolean {
  if (typeof v !== 'object') return typeof v !== 'function' && typeof v !== 'symbol' && typeof v !== 'bigint';
  if (v === null) return true;
  if (depth === 0) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !plain(v[i], depth - 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in v) if (Object.hasOwn(v, key) && !plain((v as Record<string, unknown>)[key], depth - 1)) return false;
  return true;
}

/** Is `value` plain JSON (what snapshots can hold)? Returns the path (from `root`) of the first offending part, or undefined. */
export function findNonJson(value: unknown, root = '$'): string | undefined {
  const found = jsonProblem(value);
  return found === undefined ? undefined : root + found.path.slice(1);
}

/**
 * A one-line sentence naming the non-JSON part of `value` (its path from `root`), what it is and how to store it
 * instead, or undefined when it is JSON. The walk is {@link jsonProblem}'s; this only words the fix.
 */
export function explainNonJson(value: unknown, root: string): string | undefined {
  const found = jsonProblem(value);
  if (found === undefined) return undefined;
  const path = root + found.path.slice(1);
  const fix = found.path.includes('…') ? undefined : describe(at(value, found.path));
  return fix === undefined ? `${path}: ${found.reason}, which is not JSON; store plain JSON instead` : `${path} is ${fix.what}, which is not JSON; ${fix.fix}`;
}

function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.').slice(1)) current = (current as Record<string, unknown> | undefined)?.[key];
  return current;
}

/** What a non-JSON leaf is and what to store instead; undefined for plain containers (a cycle, too deep). */
function describe(value: unknown): { what: string; fix: string } | undefined {
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
        : undefined;
    }
    default:
      return undefined;
  }
}
