import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deepFreeze, freezePlain } from '../../src/events/freeze.js';

/** Every object and array in `value`, at any depth, each once (a cycle too). */
function containers(value: unknown): object[] {
  const into = new Set<object>();
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || into.has(v)) continue;
    into.add(v);
    for (const child of Object.values(v)) stack.push(child);
  }
  return [...into];
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

  it('freezes what lies inside a part already frozen on its top level (a user\'s Object.freeze)', () => {
    const value = { event: Object.freeze({ type: 'T', data: { list: [1, { n: 2 }] } }) };
    deepFreeze(value);
    expect(containers(value).filter((c) => !Object.isFrozen(c))).toEqual([]);
    deepFreeze(Object.freeze(value)); // already frozen to the bottom: nothing changes, nothing throws
    expect(value.event.data.list).toEqual([1, { n: 2 }]);
  });
});

describe('freezePlain', () => {
  it('freezes plain data all the way down, through parts frozen on their top level, and says so', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (leaf, filler) => {
        const value = { top: Object.freeze({ inner: structuredClone(leaf) }), filler: structuredClone(filler) };
        expect(freezePlain(value)).toBe(true);
        expect(containers(value).filter((c) => !Object.isFrozen(c))).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('leaves anything but plain data as it was, frozen nowhere, and says false', () => {
    const cyclic: Record<string, unknown> = { a: { b: 1 } };
    cyclic['self'] = cyclic;
    const cases: Record<string, unknown>[] = [
      { at: { when: new Date(0) } },
      { fn: { call: () => 1 } },
      { big: [1, 2n] },
      { holes: [1, , 3] },
      { tooDeep: deep(70, 1, 0) },
      cyclic,
    ];
    for (const value of cases) {
      expect(freezePlain(value)).toBe(false);
      expect(containers(value).filter((c) => Object.isFrozen(c))).toEqual([]);
    }
    expect(freezePlain(7)).toBe(true);
  });
});
