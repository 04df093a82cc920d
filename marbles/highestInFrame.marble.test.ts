import { merge } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { highestInFrame } from '../src/run/operators/highestInFrame.js';

/** error > stop > timeout, as in the run loop; `S` ties with `s` (stop). */
const RANK: Record<string, number> = { t: 1, s: 2, S: 2, e: 3 };
const rank = (value: string): number => RANK[value] ?? 0;

describe('highestInFrame', () => {
  let testScheduler: TestScheduler;
  const broken = new Error('rank broke');
  const rankOrThrow = (value: string): number => {
    if (value === 'x') throw broken;
    return rank(value);
  };

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('completes without a value when the source is empty', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   |');
      const e1subs = '    (^!)';
      const expected = '  |';

      expectObservable(e1.pipe(highestInFrame(rank, testScheduler))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('emits a lone value in its own frame and completes', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --t--');
      const e1subs = '    ^-!';
      const expected = '  --(t|)';

      expectObservable(e1.pipe(highestInFrame(rank, testScheduler))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('waits for the frame to end when the source completes right after its value', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --(t|)');
      const e1subs = '    ^-!';
      const expected = '  --(t|)';

      expectObservable(e1.pipe(highestInFrame(rank, testScheduler))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it.each(['(tse)', '(tes)', '(ste)', '(set)', '(ets)', '(est)'])(
    'emits the highest-ranked of values arriving together as %s',
    (group) => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot(`  --${group}--t--|`);
        const e1subs = '  ^-!';
        const expected = '--(e|)';

        expectObservable(e1.pipe(highestInFrame(rank, testScheduler))).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    },
  );

  it.each([
    ['timeouts, errors, stops', ['t', 'e', 's']],
    ['stops, timeouts, errors', ['s', 't', 'e']],
    ['errors, stops, timeouts', ['e', 's', 't']],
  ])('emits the highest-ranked value when separate sources fire in the same frame (merged as %s)', (_, order) => {
    testScheduler.run(({ hot, expectObservable }) => {
      const sources = order.map((v) => hot(`  ---${v}--`));
      const expected = '                    ---(e|)';

      expectObservable(merge(...sources).pipe(highestInFrame(rank, testScheduler))).toBe(expected);
    });
  });

  it('keeps the first of values that tie on rank', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-(tsS)').pipe(highestInFrame(rank, testScheduler))).toBe('-(s|)');
      expectObservable(cold('-(tSs)').pipe(highestInFrame(rank, testScheduler))).toBe('-(S|)');
    });
  });

  it('does not change a decision already emitted when a higher value arrives in a later frame', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('    --t-e-s--|');
      const e1subs = '    ^-!';
      const expected = '  --(t|)';

      expectObservable(e1.pipe(highestInFrame(rank, testScheduler))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('forwards a source error that comes before any value', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const boom = new Error('boom');
      const e1 = cold('   --#', undefined, boom);
      const e1subs = '    ^-!';
      const expected = '  --#';

      expectObservable(e1.pipe(highestInFrame(rank, testScheduler))).toBe(expected, undefined, boom);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('lets a source error in the same frame as a value win over the pending decision', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const boom = new Error('boom');
      const e1 = cold('   --(e#)', undefined, boom);
      const e1subs = '    ^-!';
      const expected = '  --#';

      expectObservable(e1.pipe(highestInFrame(rank, testScheduler))).toBe(expected, undefined, boom);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('ignores a source error in a frame after the decision', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --t-#');
      const e1subs = '    ^-!';
      const expected = '  --(t|)';

      expectObservable(e1.pipe(highestInFrame(rank, testScheduler))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('stays silent on a never-ending source that emits nothing', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   ---------');
      const e1subs = '    ^';
      const expected = '  ---------';

      expectObservable(e1.pipe(highestInFrame(rank, testScheduler))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('unsubscribes from the source when the subscriber leaves before any value', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('    -----e--|');
      const unsub = '     ---!';
      const e1subs = '    ^--!';
      const expected = '  ---';

      expectObservable(e1.pipe(highestInFrame(rank, testScheduler)), unsub).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('errors with what rank throws', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --x--');
      const e1subs = '    ^-!';
      const expected = '  --#';

      expectObservable(e1.pipe(highestInFrame(rankOrThrow, testScheduler))).toBe(expected, undefined, broken);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('errors with what rank throws even after a value is pending in the same frame', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --(ex)');
      const e1subs = '    ^-!';
      const expected = '  --#';

      expectObservable(e1.pipe(highestInFrame(rankOrThrow, testScheduler))).toBe(expected, undefined, broken);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });
});
