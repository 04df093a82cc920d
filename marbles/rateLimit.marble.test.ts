import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { FlowClock } from '../src/run/flowClock.js';
import { Holding } from '../src/run/holding.js';
import { RateWindow, rateLimit } from '../src/run/operators/rateLimit.js';

// DESIGN §6.3 rateLimit, §6.6 Clocks: at most `limit` starts per `interval` per key; a slot frees `interval`
// after the start it counted; the others wait in order; paused timers keep their remaining time.

// Values are '<key><n>': x1, x2, x3, x4 share key x.
const values = { a: 'x1', b: 'x2', c: 'x3', d: 'x4', e: 'x5', y: 'y1' };
const byKey = (v: string) => v.charAt(0);

describe('rateLimit', () => {
  let ts: TestScheduler;
  let clock: FlowClock;

  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    clock = new FlowClock(ts);
  });

  const limited = (extra: Partial<Parameters<typeof rateLimit<string>>[0]> = {}) =>
    rateLimit<string>({ limit: 2, interval: 5, key: byKey, clock, ...extra });

  it('completes at once when the source is empty', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   |');
      expectObservable(e1.pipe(limited())).toBe('|');
      expectSubscriptions(e1.subscriptions).toBe('(^!)');
    });
  });

  it('lets one value through at once', () => {
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('--a', values).pipe(limited())).toBe('--a', values);
    });
  });

  it('lets `limit` values of a burst through at once and each later one when a slot frees, in order', () => {
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('(abcde|)', values).pipe(limited())).toBe('(ab) 1ms (cd) 1ms (e|)', values);
    });
  });

  it('frees each slot `interval` after the start it counted, not at a fixed window edge', () => {
    ts.run(({ cold, expectObservable }) => {
      // x1 starts at 0, x2 at 3; x3 (at 4) waits for x1's slot (5), x4 (at 4) for x2's (8).
      expectObservable(cold('a--b(cd)', values).pipe(limited())).toBe('a--b-c--d', values);
    });
  });

  it('limits each key on its own', () => {
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('(abcy)', values).pipe(limited())).toBe('(aby)c', values);
    });
  });

  it('completes after the last waiting value has gone through', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   (abc|)', values);
      expectObservable(e1.pipe(limited())).toBe('(ab) 1ms (c|)', values);
      expectSubscriptions(e1.subscriptions).toBe('(^!)');
    });
  });

  it('forwards a source error and drops the waiting values', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   (abc)-#', values);
      expectObservable(e1.pipe(limited({ interval: 10 }))).toBe('(ab)--#', values);
      expectSubscriptions(e1.subscriptions).toBe('^-----!');
    });
    expect(clock.size).toBe(0);
  });

  it('stays silent on a never-ending source without values', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -----');
      expectObservable(e1.pipe(limited())).toBe('-----');
      expectSubscriptions(e1.subscriptions).toBe('^');
    });
  });

  it('cancels its timers and forgets the waiting values when unsubscribed early', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   (abc)', values);
      expectObservable(e1.pipe(limited()), '--!').toBe('(ab)', values);
      expectSubscriptions(e1.subscriptions).toBe('^-!');
    });
    expect(clock.size).toBe(0);
  });

  it('errors when the key function throws', () => {
    const boom = new Error('no key');
    ts.run(({ cold, expectObservable }) => {
      const key = (v: string) => {
        if (v === 'x2') throw boom;
        return byKey(v);
      };
      expectObservable(cold('a-b', values).pipe(limited({ key }))).toBe('a-#', values, boom);
    });
    expect(clock.size).toBe(0);
  });

  it('limits all values together when no key function is given', () => {
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('(aby)', values).pipe(rateLimit<string>({ limit: 2, interval: 5, clock }))).toBe('(ab)-y', values);
    });
  });

  it('stops the slot timers while the clock is paused', () => {
    ts.run(({ cold, expectObservable }) => {
      // x1, x2 take both slots at 0; paused 2 → 6, so they free at 9 instead of 5.
      ts.schedule(() => clock.pause(), 2);
      ts.schedule(() => clock.resume(), 6);
      expectObservable(cold('(abc)', values).pipe(limited())).toBe('(ab) 5ms c', values);
    });
  });

  it('lists the waiting values in order with the time each would start, beyond the first window and while paused', () => {
    const holding = new Holding<string>();
    const seen: unknown[] = [];
    ts.run(({ cold, expectObservable }) => {
      ts.schedule(() => seen.push(holding.list()), 2);
      ts.schedule(() => clock.pause(), 2);
      ts.schedule(() => seen.push(holding.list()), 7);
      ts.schedule(() => clock.resume(), 7);
      expectObservable(cold('a(bcde)', values).pipe(limited({ holding }))).toBe('a(b)------cd---e', values);
    });
    expect(seen).toEqual([
      [
        { value: 'x3', dueAt: 5 },
        { value: 'x4', dueAt: 6 },
        { value: 'x5', dueAt: 10 },
      ],
      [
        { value: 'x3', dueAt: 10 },
        { value: 'x4', dueAt: 11 },
        { value: 'x5', dueAt: 15 },
      ],
    ]);
    expect(holding.list()).toEqual([]);
  });

  it('starts restored values at the due times they carry, in order, each taking its slot then', () => {
    // A snapshot listed x2 due at 3 and x3 due at 4 (limit 2): they start then, not at once.
    const due: Record<string, number> = { x2: 3, x3: 4 };
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('(bcd)', values).pipe(limited({ dueAt: (v) => due[v] }))).toBe('---bc---d', values);
    });
  });
});

describe('RateWindow', () => {
  it('takes a slot synchronously when one is free and withdraws a waiting value on unsubscribe', () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    const started: string[] = [];
    ts.run(() => {
      const window = new RateWindow<string>({ limit: 1, interval: 5, clock: new FlowClock(ts) });
      window.take('x1', (v) => started.push(v));
      expect(started).toEqual(['x1']);
      const x2 = window.take('x2', (v) => started.push(v));
      window.take('x3', (v) => started.push(v));
      expect(window.waiting).toBe(2);
      x2.unsubscribe();
      expect(window.waiting).toBe(1);
      ts.schedule(() => expect(started).toEqual(['x1', 'x3']), 5);
    });
    expect(started).toEqual(['x1', 'x3']);
  });
});
