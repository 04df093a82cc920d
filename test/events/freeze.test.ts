import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../src/events/freeze.js';

/** Every object and array in `value`, at any depth. */
function containers(value: unknown, into: object[] = []): object[] {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    into.push(v);
    for (const child of Object.values(v)) stack.push(child);
  }
  return into;
}

/** `leaf` under `depth` levels of alternating objects and arrays, each level with some JSON beside it. */
function deep(depth: number, leaf: unknown, filler: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { before: filler, inner: value } : [filler, value];
  return value;
}

describe('deepFreeze', () => {
  it('freezes every object and array of a JSON value, shallow or nested up to 80 levels', () => {
    fc.assert(
      fc.property(fc.nat({ max: 80 }), fc.jsonValue(), fc.jsonValue(), (depth, leaf, filler) => {
        const value = deep(depth, structuredClone(leaf), structuredClone(filler));
        expect(deepFreeze(value)).toBe(value);
        const all = containers(value);
        expect(all.filter((c) => !Object.isFrozen(c))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves scalars alone and freezes a value nested thousands of levels deep without overflowing', () => {
    expect(deepFreeze(3)).toBe(3);
    expect(deepFreeze(null)).toBe(null);
    const value = deep(20_000, { end: true }, 1);
    deepFreeze(value);
    expect(containers(value).every((c) => Object.isFrozen(c))).toBe(true);
  });
});
