/**
 * Deep copies of stored data. `structuredClone` serialises through V8's ValueSerializer and costs ~10–20 µs
 * even for a half-kilobyte snapshot (it was most of a MemoryStore save); plain data — what snapshots, state
 * and metadata hold — is copied here by a walk instead, and anything else still goes to `structuredClone`,
 * so the result (and every error it throws) is the same as before, only sooner for the common case.
 */

/** How deep the walk copies before leaving the value to `structuredClone` (which also decides on cycles). */
const WALK_DEPTH = 64;

/** Thrown inside the walk when it meets what only `structuredClone` knows how to copy (or refuse). */
const NOT_PLAIN: unique symbol = Symbol('not plain');

/** A deep copy of `value`, equal to what `structuredClone(value)` gives. */
export function clonePlain<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return structuredClone(value);
  try {
    return copy(value, WALK_DEPTH) as T;
  } catch (thrown) {
    if (thrown === NOT_PLAIN) return structuredClone(value);
    throw thrown; // a getter that threw: structuredClone would have thrown the same
  }
}

function copy(v: unknown, depth: number): unknown {
  if (typeof v !== 'object') {
    if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') throw NOT_PLAIN;
    return v;
  }
  if (v === null) return v;
  if (depth === 0) throw NOT_PLAIN;
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) throw NOT_PLAIN; // a hole: structuredClone keeps it
      out.push(copy(v[i], depth - 1));
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const key in v) {
    if (!Object.hasOwn(v, key)) continue; // an enumerable property of Object.prototype: not the value's own
    if (key === '__proto__') throw NOT_PLAIN; // an own "__proto__" key: assigning it would set the prototype
    out[key] = copy((v as Record<string, unknown>)[key], depth - 1);
  }
  return out;
}
