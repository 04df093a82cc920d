/**
 * What the engine can store: plain JSON, nested at most {@link MAX_JSON_DEPTH} levels. Values enter through
 * many doors (run input, events, state, answers, HTTP bodies); each checks here, so a checkpoint never holds
 * something it cannot load back, and a hostile depth is a coded error instead of a stack overflow deep in a
 * schema check or `JSON.stringify`. The walk is iterative: no input can overflow it.
 */

/** Deepest nesting of arrays and objects accepted anywhere (snapshots nest values a few levels more). */
export const MAX_JSON_DEPTH = 256;

export interface JsonProblem {
  /** Where: `$`, `$.items.3.name`… (cut short past 12 segments). */
  path: string;
  /** What: `NaN is not a JSON number`, `a function`, `nested deeper than 256 levels`… */
  reason: string;
}

export interface JsonCheckOptions {
  /** Nested `undefined` is accepted (JSON leaves the key out, or writes `null` in an array), as in event data; default false. */
  allowUndefined?: boolean;
  maxDepth?: number;
}

/** The options of event data, answers and run input (shared: the checks run on every event). */
export const UNDEFINED_ALLOWED: JsonCheckOptions = Object.freeze({ allowUndefined: true });
const STRICT: JsonCheckOptions = Object.freeze({});

interface Frame {
  value: unknown;
  key: string;
  parent: Frame | undefined;
  depth: number;
  exit?: object;
}

/** How deep the allocation-free walk goes before leaving a value to the full walk. */
const QUICK_DEPTH = 32;

/** Is `v` plain JSON within `limit` levels? A `false` says only "not confirmed": the full walk decides. */
function plainQuick(v: unknown, allowUndefined: boolean, limit: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'undefined':
      return allowUndefined;
    case 'object': {
      if (v === null) return true;
      if (limit <= 0) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!plainQuick(v[i], allowUndefined, limit - 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key of Object.keys(v)) if (!plainQuick((v as Record<string, unknown>)[key], allowUndefined, limit - 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** The first reason `value` is not storable JSON, or `undefined` when it is. */
export function jsonProblem(value: unknown, options: JsonCheckOptions = STRICT): JsonProblem | undefined {
  // A scalar (most event data, every streamed tick): decided here, before reading the options.
  if (typeof value === 'string' || typeof value === 'boolean' || value === null || (typeof value === 'number' && Number.isFinite(value))) return undefined;
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const allowUndefined = options.allowUndefined === true;
  // Fast path: most values are small plain JSON, which a bounded recursive walk confirms without allocating.
  // Anything it cannot confirm (a problem, a cycle, depth past the bound) gets the full walk, which says where.
  if (value === undefined || plainQuick(value, allowUndefined, Math.min(QUICK_DEPTH, maxDepth))) return undefined;
  const ancestors = new Set<object>();
  const stack: Frame[] = [{ value, key: '$', parent: undefined, depth: 0 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.exit !== undefined) {
      ancestors.delete(frame.exit);
      continue;
    }
    const v = frame.value;
    switch (typeof v) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (Number.isFinite(v)) continue;
        return problem(frame, `${String(v)} is not a JSON number`);
      case 'undefined':
        if (frame.parent === undefined || allowUndefined) continue;
        return problem(frame, 'undefined is not JSON');
      case 'object': {
        if (v === null) continue;
        if (ancestors.has(v)) return problem(frame, 'a cycle (the value contains itself)');
        const isArray = Array.isArray(v);
        const proto = Object.getPrototypeOf(v) as unknown;
        if (!isArray && proto !== Object.prototype && proto !== null) {
          return problem(frame, `${describeObject(v)} is not a plain object`);
        }
        if (frame.depth >= maxDepth) return problem(frame, `nested deeper than ${maxDepth} levels`);
        ancestors.add(v);
        stack.push({ value: undefined, key: '', parent: undefined, depth: 0, exit: v });
        const keys = Object.keys(v);
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i]!;
          stack.push({ value: (v as Record<string, unknown>)[key], key, parent: frame, depth: frame.depth + 1 });
        }
        continue;
      }
      default:
        return problem(frame, `a ${typeof v} is not JSON`);
    }
  }
  return undefined;
}

/** `jsonProblem` as one phrase for error messages: `$.a.b: NaN is not a JSON number`. */
export function describeJsonProblem(p: JsonProblem): string {
  return `${p.path}: ${p.reason}`;
}

function problem(frame: Frame, reason: string): JsonProblem {
  const keys: string[] = [];
  for (let f: Frame | undefined = frame; f !== undefined; f = f.parent) keys.push(f.key);
  keys.reverse();
  const path = keys.length > 12 ? [...keys.slice(0, 6), '…', ...keys.slice(-5)].join('.') : keys.join('.');
  return { path, reason };
}

function describeObject(v: object): string {
  const name = (v.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a prototype';
}

/** How deeply arrays and objects nest in JSON text, counted without parsing it (strings are skipped). */
export function jsonTextDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
