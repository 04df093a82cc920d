import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { FlowClock } from '../src/run/flowClock.js';
import { Holding } from '../src/run/holding.js';
import { debounceByKey } from '../src/run/operators/debounceByKey.js';

// DESIGN §6.3 debounce, §6.6 Clocks: trailing, per key, superseded values reported, paused timers keep their time.

// Values are '<key><n>': x1 and x2 share key x.
const values = { a: 'x1', b: 'y1', c: 'x2', d: 'x3' };
const byKey = (v: string) => v.charAt(0);

describe('debounceByKey', () => {
  let ts: TestScheduler;
  let clock: FlowClock;
  let dropped: string[];

  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    clock = new FlowClock(ts);
    dropped = [];
  });

  const debounce = (ms = 3, extra: Partial<Parameters<typeof debounceByKey<string>>[0]> = {}) =>
    debounceByKey<string>({ ms, key: byKey, clock, onDrop: (v) => dropped.push(v), ...extra });

  it('completes at once when the source is empty', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   |');
      expectObservable(e1.pipe(debounce())).toBe('|');
      expectSubscriptions(e1.subscriptions).toBe('(^!)');
    });
    expect(dropped).toEqual([]);
  });

  it('lets one value go on after ms of quiet', () => {
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('-a', values).pipe(debounce())).toBe('----a', values);
    });
    expect(clock.size).toBe(0);
  });

  it('keeps only the newest value of a key, reports the superseded one, and leaves other keys alone', () => {
    ts.run(({ cold, expectObservable }) => {
      // x1 at 0 is superseded by x2 at 2 (reported then); y1 at 1 goes on at 4; x2 waits again until 5.
      const e1 = cold('   abc', values);
      expectObservable(e1.pipe(debounce())).toBe('----bc', values);
      ts.schedule(() => expect(dropped).toEqual([]), 1);
      ts.schedule(() => expect(dropped).toEqual(['x1']), 3); // probes run before the frame's emissions
    });
    expect(dropped).toEqual(['x1']);
  });

  it('reports every superseded value of a burst, in order, and lets the last one go on', () => {
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-c-d', values).pipe(debounce())).toBe('-------d', values);
    });
    expect(dropped).toEqual(['x1', 'x2']);
  });

  it('lets the held values go on at completion, soonest due first', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   ab|', values);
      expectObservable(e1.pipe(debounce())).toBe('--(ab|)', values);
      expectSubscriptions(e1.subscriptions).toBe('^-!');
    });
    expect(clock.size).toBe(0);
  });

  it('forwards a source error and drops what it held, without reporting it as superseded', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   a-#', values);
      expectObservable(e1.pipe(debounce())).toBe('--#');
      expectSubscriptions(e1.subscriptions).toBe('^-!');
    });
    expect(dropped).toEqual([]);
    expect(clock.size).toBe(0);
  });

  it('stays silent on a never-ending source without values', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   ------');
      expectObservable(e1.pipe(debounce())).toBe('------');
      expectSubscriptions(e1.subscriptions).toBe('^');
    });
  });

  it('cancels its timers when unsubscribed early', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   ab', values);
      expectObservable(e1.pipe(debounce()), '--!').toBe('---');
      expectSubscriptions(e1.subscriptions).toBe('^-!');
    });
    expect(clock.size).toBe(0);
  });

  it('errors when the key function throws', () => {
    const boom = new Error('no key');
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   a-b', values);
      const key = (v: string) => {
        if (v === 'y1') throw boom;
        return byKey(v);
      };
      expectObservable(e1.pipe(debounce(3, { key }))).toBe('--#', undefined, boom);
      expectSubscriptions(e1.subscriptions).toBe('^-!');
    });
    expect(clock.size).toBe(0);
  });

  it('errors when the drop callback throws', () => {
    const boom = new Error('cannot report');
    ts.run(({ cold, expectObservable }) => {
      const onDrop = () => {
        throw boom;
      };
      expectObservable(cold('a-c', values).pipe(debounce(3, { onDrop }))).toBe('--#', undefined, boom);
    });
  });

  it('debounces everything under one key when no key function is given', () => {
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('ab', values).pipe(debounceByKey<string>({ ms: 3, clock, onDrop: (v) => dropped.push(v) }))).toBe('----b', values);
    });
    expect(dropped).toEqual(['x1']);
  });

  it('stops its timers while the clock is paused: each keeps the time it had left', () => {
    ts.run(({ cold, expectObservable }) => {
      // x1 at 0 is due at 3; paused 1 → 5 (4 frames), so it goes on at 7.
      ts.schedule(() => clock.pause(), 1);
      ts.schedule(() => clock.resume(), 5);
      expectObservable(cold('a', values).pipe(debounce())).toBe('-------a', values);
    });
  });

  it('holds a value arriving while paused for its whole quiet time after the resume', () => {
    ts.run(({ cold, expectObservable }) => {
      ts.schedule(() => clock.pause(), 0);
      ts.schedule(() => clock.resume(), 4);
      expectObservable(cold('--a', values).pipe(debounce())).toBe('-------a', values);
    });
  });

  it('lists what it holds with absolute due times, and a paused one as due after its time left', () => {
    const holding = new Holding<string>();
    const seen: unknown[] = [];
    ts.run(({ cold, expectObservable }) => {
      ts.schedule(() => seen.push(holding.list()), 2);
      ts.schedule(() => clock.pause(), 2);
      ts.schedule(() => seen.push(holding.list()), 10); // x1 had 1 frame left, y1 2
      ts.schedule(() => clock.resume(), 10);
      expectObservable(cold('ab', values).pipe(debounce(3, { holding }))).toBe('-----------ab', values);
    });
    expect(seen).toEqual([
      [
        { value: 'x1', dueAt: 3 },
        { value: 'y1', dueAt: 4 },
      ],
      [
        { value: 'x1', dueAt: 11 },
        { value: 'y1', dueAt: 12 },
      ],
    ]);
    expect(holding.list()).toEqual([]);
  });

  it('holds a restored value until the due time it carries (at once if past)', () => {
    const due: Record<string, number> = { x1: 5, y1: -10 };
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('(ab)', values).pipe(debounce(3, { dueAt: (v) => due[v] }))).toBe('b----a', values);
    });
  });
});
