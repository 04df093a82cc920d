import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/run/queue.js';

describe('Queue (ring buffer)', () => {
  it('matches an array model for any sequence of push, shift, unshiftAll and tail', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('shift' as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('unshiftAll' as const), n: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('tail' as const), n: fc.integer({ min: 0, max: 50 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const q = new Queue<number>();
        const model: number[] = [];
        let next = 0;
        for (const { kind, n } of ops) {
          if (kind === 'push') {
            for (let i = 0; i < n; i++) {
              q.push(next);
              model.push(next++);
            }
          } else if (kind === 'shift') {
            for (let i = 0; i < n; i++) expect(q.shift()).toBe(model.shift());
          } else if (kind === 'unshiftAll') {
            const front = Array.from({ length: n }, () => next++);
            q.unshiftAll(front);
            model.unshift(...front);
          } else {
            expect(q.tail(n)).toEqual(n === 0 ? [] : model.slice(-n));
          }
          expect(q.length).toBe(model.length);
          expect(q.toArray()).toEqual(model);
        }
      }),
    );
  });

  it('wraps around its buffer and keeps FIFO order across growth', () => {
    const q = new Queue<number>();
    for (let i = 0; i < 6; i++) q.push(i);
    for (let i = 0; i < 5; i++) expect(q.shift()).toBe(i);
    for (let i = 6; i < 30; i++) q.push(i); // wraps, then grows twice
    expect(q.toArray()).toEqual(Array.from({ length: 25 }, (_, i) => i + 5));
    expect(q.tail(3)).toEqual([27, 28, 29]);
  });

  it('lets a large buffer go once it has drained, and works after', () => {
    const q = new Queue<number>();
    for (let i = 0; i < 5000; i++) q.push(i);
    for (let i = 0; i < 5000; i++) q.shift();
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
    q.push(7);
    expect(q.toArray()).toEqual([7]);
  });
});
