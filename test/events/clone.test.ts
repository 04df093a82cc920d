import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clonePlain } from '../../src/events/clone.js';

describe('clonePlain', () => {
  it('gives what structuredClone gives, as a copy sharing no object with the original', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true, withSparseArray: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true }), (value) => {
        const copy = clonePlain(value);
        expect(copy).toStrictEqual(structuredClone(value));
        if (typeof value === 'object' && value !== null) expect(copy).not.toBe(value);
      }),
      { numRuns: 500 },
    );
  });

  it('copies plain data without structuredClone, and a changed copy leaves the original alone', () => {
    const value = { a: [1, { b: 'x' }], n: null, u: undefined, nan: Number.NaN };
    const copy = clonePlain(value);
    expect(copy).toStrictEqual(value);
    (copy.a[1] as { b: string }).b = 'changed';
    expect(value.a[1]).toEqual({ b: 'x' });
    expect(Object.keys(copy)).toEqual(['a', 'n', 'u', 'nan']);
  });

  it('leaves what is not plain to structuredClone: its copy, or its error', () => {
    const when = new Date(0);
    expect(clonePlain({ when }).when).toEqual(when);
    expect(clonePlain({ when }).when).not.toBe(when);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    const copied = clonePlain(cyclic);
    expect(copied['self']).toBe(copied);
    expect(() => clonePlain({ f: () => 1 })).toThrow(expect.objectContaining({ name: 'DataCloneError' }));
    const own = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    const ownCopy = clonePlain(own);
    expect(Object.getPrototypeOf(ownCopy)).toBe(Object.prototype);
    expect(Object.keys(ownCopy)).toEqual(['__proto__']);
  });

  it('copies data nested past its walk through structuredClone', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(clonePlain(deep)).toStrictEqual(deep);
  });
});
