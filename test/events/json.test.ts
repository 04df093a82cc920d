import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonProblem } from '../../src/events/json.js';

/** A path into a value: an object key or an array index per level. */
const segment = fc.oneof(fc.constantFrom('a', 'items', 'x-y'), fc.nat({ max: 3 }));

/** `leaf` placed at `path`, each level holding some plain JSON beside it. */
function nest(path: (string | number)[], leaf: unknown, filler: unknown): unknown {
  let value = leaf;
  for (let i = path.length - 1; i >= 0; i--) {
    const at = path[i]!;
    if (typeof at === 'number') {
      const array: unknown[] = Array.from({ length: at }, () => filler);
      array.push(value, filler);
      value = array;
    } else {
      value = { before: filler, [at]: value, after: filler };
    }
  }
  return value;
}

class Money {
  constructor(readonly cents: number) {}
}

const bad: [string, unknown, RegExp][] = [
  ['NaN', Number.NaN, /^NaN is not a JSON number$/],
  ['Infinity', -Infinity, /^-Infinity is not a JSON number$/],
  ['a Date', new Date(0), /^a Date is not a plain object$/],
  ['a Map', new Map(), /^a Map is not a plain object$/],
  ['a class instance', new Money(1), /^a Money is not a plain object$/],
  ['a function', () => 1, /^a function is not JSON$/],
  ['a bigint', 1n, /^a bigint is not JSON$/],
  ['a symbol', Symbol('s'), /^a symbol is not JSON$/],
];

describe('jsonProblem', () => {
  it('accepts any JSON value, shallow or nested past the quick walk’s 32 levels', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(segment, { maxLength: 60 }), (json, path) => {
        expect(jsonProblem(json)).toBeUndefined();
        expect(jsonProblem(nest(path, json, 1))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('names each kind of non-JSON leaf and where it is, at any depth', () => {
    fc.assert(
      fc.property(fc.constantFrom(...bad), fc.array(segment, { maxLength: 60 }), fc.jsonValue(), ([, leaf, reason], path, filler) => {
        const found = jsonProblem(nest(path, leaf, filler));
        expect(found?.reason).toMatch(reason);
        if (path.length <= 11) expect(found?.path).toBe(['$', ...path].join('.'));
        else expect(found?.path).toContain('…');
      }),
      { numRuns: 300 },
    );
  });

  it('reports a cycle, depth past the limit and nested undefined (allowed when asked)', () => {
    const cyclic: Record<string, unknown> = { a: [1] };
    (cyclic['a'] as unknown[]).push(cyclic);
    expect(jsonProblem(cyclic)).toEqual({ path: '$.a.1', reason: 'a cycle (the value contains itself)' });
    expect(jsonProblem(nest(['a', 'a', 'a'], {}, 1), { maxDepth: 3 })).toEqual({ path: '$.a.a.a', reason: 'nested deeper than 3 levels' });
    expect(jsonProblem(nest(['a', 'a'], {}, 1), { maxDepth: 3 })).toBeUndefined();
    expect(jsonProblem({ a: [1, undefined] })).toEqual({ path: '$.a.1', reason: 'undefined is not JSON' });
    expect(jsonProblem({ a: [1, undefined] }, { allowUndefined: true })).toBeUndefined();
    expect(jsonProblem(undefined)).toBeUndefined();
    expect(jsonProblem(Object.assign(Object.create(null) as object, { a: 1 }))).toBeUndefined();
  });
});
