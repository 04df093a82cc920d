import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { uuid } from '../../src/events/ids.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuid', () => {
  it('gives version-4 uuids, unique across several refills of its random pool', () => {
    const ids = Array.from({ length: 5_000 }, () => uuid());
    for (const id of ids) expect(id).toMatch(V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses every hex digit in every free position (the bytes are random, not a counter)', () => {
    const ids = Array.from({ length: 2_000 }, () => uuid());
    // Position 0 (high nibble of byte 0) and 35 (low nibble of byte 15): all 16 digits appear.
    expect(new Set(ids.map((id) => id[0])).size).toBe(16);
    expect(new Set(ids.map((id) => id[35])).size).toBe(16);
    // The variant digit takes only 8, 9, a, b.
    expect([...new Set(ids.map((id) => id[19]))].sort()).toEqual(['8', '9', 'a', 'b']);
  });

  it('returns flat strings that stay correct after later ids reuse the buffer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), (n) => {
        const first = uuid();
        const copy = `${first}`.split('').join('');
        for (let i = 0; i < n; i++) uuid();
        expect(first).toBe(copy);
        expect(first).toMatch(V4);
      }),
      { numRuns: 50 },
    );
  });
});
