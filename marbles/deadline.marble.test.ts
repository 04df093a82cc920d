import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { deadline } from '../src/run/operators/deadline.js';

describe('deadline', () => {
  let testScheduler: TestScheduler;
  const late = new Error('late');
  let made: number;
  const makeError = () => {
    made++;
    return late;
  };

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    made = 0;
  });

  it('completes at once with an empty source and never builds the error', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   |');
      const e1subs = '    (^!)';
      const expected = '  |';

      expectObservable(e1.pipe(deadline(5, testScheduler, makeError))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(made).toBe(0);
  });

  it('passes one value through when the source completes before the deadline', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --a|');
      const e1subs = '    ^--!';
      const expected = '  --a|';

      expectObservable(e1.pipe(deadline(5, testScheduler, makeError))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(made).toBe(0);
  });

  it('passes many values through when the source completes before the deadline', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -a-b-c|');
      const e1subs = '    ^-----!';
      const expected = '  -a-b-c|';

      expectObservable(e1.pipe(deadline(10, testScheduler, makeError))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(made).toBe(0);
  });

  it('bounds the whole lifetime, so short gaps between values do not keep the source alive', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -a-b-c-d-e|');
      const e1subs = '    ^----!';
      const expected = '  -a-b-#';

      expectObservable(e1.pipe(deadline(5, testScheduler, makeError))).toBe(expected, undefined, late);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(made).toBe(1);
  });

  it('counts from subscription, not from when a hot source started', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('    a-b-c-d-e-f-g-|');
      const sub = '       ---^';
      const e1subs = '    ---^---!';
      const expected = '  ----c-d#';

      expectObservable(e1.pipe(deadline(4, testScheduler, makeError)), sub).toBe(expected, undefined, late);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('forwards a source error that comes before the deadline and never builds its own', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const boom = new Error('boom');
      const e1 = cold('   -a-#', undefined, boom);
      const e1subs = '    ^--!';
      const expected = '  -a-#';

      expectObservable(e1.pipe(deadline(5, testScheduler, makeError))).toBe(expected, undefined, boom);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(made).toBe(0);
  });

  it('errors a never-ending source with the built error exactly at the deadline', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions, time }) => {
      const ms = time('   -----|');
      const e1 = cold('   -');
      const e1subs = '    ^----!';
      const expected = '  -----#';

      expectObservable(e1.pipe(deadline(ms, testScheduler, makeError))).toBe(expected, undefined, late);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(made).toBe(1);
  });

  it('cancels the deadline when the subscriber unsubscribes early', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --a--b--c--|');
      const unsub = '     ----!';
      const e1subs = '    ^---!';
      const expected = '  --a-';

      expectObservable(e1.pipe(deadline(6, testScheduler, makeError)), unsub).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    // The whole virtual timeline was flushed: a deadline left scheduled would have built the error at frame 6.
    expect(made).toBe(0);
  });

  it('errors with what makeError throws when building the error fails', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const broken = new Error('makeError broke');
      const e1 = cold('   -a--');
      const e1subs = '    ^--!';
      const expected = '  -a-#';

      const throwing = () => {
        throw broken;
      };
      expectObservable(e1.pipe(deadline(3, testScheduler, throwing))).toBe(expected, undefined, broken);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });
});
