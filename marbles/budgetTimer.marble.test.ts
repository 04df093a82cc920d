import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { budgetTimer, Stopwatch } from '../src/run/operators/budgetTimer.js';

describe('Stopwatch', () => {
  it('adds up only the stretches during which it runs', () => {
    let now = 0;
    const watch = new Stopwatch(() => now);
    expect(watch.elapsed()).toBe(0);
    watch.set(true);
    now = 4;
    expect(watch.elapsed()).toBe(4);
    watch.set(false);
    now = 10;
    expect(watch.elapsed()).toBe(4);
    watch.set(true);
    now = 13;
    expect(watch.elapsed()).toBe(7);
  });

  it('ignores setting the state it is already in', () => {
    let now = 0;
    const watch = new Stopwatch(() => now);
    watch.set(true);
    now = 3;
    watch.set(true);
    now = 5;
    expect(watch.elapsed()).toBe(5);
    watch.set(false);
    now = 8;
    watch.set(false);
    expect(watch.elapsed()).toBe(5);
  });

  it('starts from the time carried over from a snapshot', () => {
    let now = 100;
    const watch = new Stopwatch(() => now, 40);
    expect(watch.elapsed()).toBe(40);
    watch.set(true);
    now = 102;
    expect(watch.elapsed()).toBe(42);
  });
});

describe('budgetTimer', () => {
  let testScheduler: TestScheduler;
  let watch: Stopwatch;
  const values = { t: true, f: false };
  const fired = { d: 0 };

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    watch = new Stopwatch(() => testScheduler.now());
  });

  it('completes without firing when the source is empty', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   |', values);
      const e1subs = '    (^!)';
      const expected = '  |';

      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(watch.elapsed()).toBe(0);
  });

  it('fires once and completes when the clock has run for the whole budget', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   t', values);
      const e1subs = '    ^----!';
      const expected = '  -----(d|)';

      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch))).toBe(expected, fired);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('still fires on budget when the source completes while the clock runs', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   t|', values);
      const e1subs = '    ^!';
      const expected = '  -----(d|)';

      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch))).toBe(expected, fired);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('completes without firing when the source completes while the clock stands still', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   t-f-|', values);
      const e1subs = '    ^---!';
      const expected = '  ----|';

      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('adds up running stretches and ignores paused time', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // runs 0→3 (3ms), stands still 3→6, runs again 6→8 (2ms): 5ms in all
      const e1 = cold('   t--f--t', values);
      const e1subs = '    ^-------!';
      const expected = '  --------(d|)';

      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch))).toBe(expected, fired);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('does not restart the budget when the source repeats that the clock runs', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   t-t-t-t-t', values);
      const e1subs = '    ^----!';
      const expected = '  -----(d|)';

      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch))).toBe(expected, fired);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('reports the elapsed running time when read mid-way', () => {
    const reads: [number, number][] = [];
    testScheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('   t--f--t', values);
      const expected = '  --------(d|)';

      for (const frame of [2, 4, 7]) testScheduler.schedule(() => reads.push([frame, watch.elapsed()]), frame);
      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch))).toBe(expected, fired);
    });
    expect(reads).toEqual([
      [2, 2],
      [4, 3],
      [7, 4],
    ]);
  });

  it('counts time already spent before a resume against the budget', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('   t', values);
      const expected = '  --(d|)';

      const resumed = new Stopwatch(() => testScheduler.now(), 3);
      expectObservable(e1.pipe(budgetTimer(5, testScheduler, resumed))).toBe(expected, fired);
    });
  });

  it('fires at once when the budget was already spent before a resume', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('   -t', values);
      const expected = '  -(d|)';

      const resumed = new Stopwatch(() => testScheduler.now(), 9);
      expectObservable(e1.pipe(budgetTimer(5, testScheduler, resumed))).toBe(expected, fired);
    });
  });

  it('fires in the frame the clock starts when the budget is 0', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   f--t', values);
      const e1subs = '    ^--!';
      const expected = '  ---(d|)';

      expectObservable(e1.pipe(budgetTimer(0, testScheduler, watch))).toBe(expected, fired);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('forwards a source error', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const boom = new Error('boom');
      const e1 = cold('   t-#', values, boom);
      const e1subs = '    ^-!';
      const expected = '  --#';

      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch))).toBe(expected, undefined, boom);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('never fires while a never-ending source keeps the clock still', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   f--------', values);
      const e1subs = '    ^';
      const expected = '  ---------';

      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(watch.elapsed()).toBe(0);
  });

  it('cancels the pending timer when the subscriber unsubscribes early', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   t', values);
      const unsub = '     ---!';
      const e1subs = '    ^--!';
      const expected = '  ---';

      expectObservable(e1.pipe(budgetTimer(5, testScheduler, watch)), unsub).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });
});
