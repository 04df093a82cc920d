import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InFlight, type Invocation } from '../../src/run/invocation.js';

const invocation = (id: string): Invocation => ({ id, prev: undefined, next: undefined }) as unknown as Invocation;

describe('InFlight', () => {
  it('keeps start order and size through any adds and deletes, and ignores what it does not hold', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(20))), (ops) => {
        const list = new InFlight();
        const model: Invocation[] = [];
        const all = Array.from({ length: 21 }, (_, i) => invocation(`i${i}`));
        for (const [add, k] of ops) {
          const inv = all[k] as Invocation;
          if (add && !model.includes(inv)) {
            list.add(inv);
            model.push(inv);
          } else if (!add) {
            list.delete(inv); // a no-op for one not held
            if (model.includes(inv)) model.splice(model.indexOf(inv), 1);
          }
          expect([...list].map((i) => i.id)).toEqual(model.map((i) => i.id));
          expect(list.size).toBe(model.length);
        }
      }),
    );
  });
});
