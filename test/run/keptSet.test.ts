import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeptSet } from '../../src/run/keptSet.js';

describe('KeptSet', () => {
  it('behaves as a Set for any sequence of adds, deletes and clears (size, membership, insertion order)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), value: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant('delete' as const), value: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant('clear' as const), value: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const kept = new KeptSet<number>();
        const model = new Set<number>();
        for (const { kind, value } of ops) {
          if (kind === 'add') {
            kept.add(value);
            model.add(value);
          } else if (kind === 'delete') {
            expect(kept.delete(value)).toBe(model.delete(value));
          } else {
            kept.clear();
            model.clear();
          }
          expect(kept.size).toBe(model.size);
          expect([...kept]).toEqual([...model]);
          for (let v = 0; v < 10; v++) expect(kept.has(v)).toBe(model.has(v));
        }
      }),
    );
  });

  it('is empty when new and after its last entry is deleted', () => {
    const kept = new KeptSet<string>();
    expect(kept.size).toBe(0);
    expect([...kept]).toEqual([]);
    kept.add('a');
    expect(kept.delete('a')).toBe(true);
    expect(kept.size).toBe(0);
    expect([...kept]).toEqual([]);
  });
});
