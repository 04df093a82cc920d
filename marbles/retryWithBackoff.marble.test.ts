import { defer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { retryDelay, retryWithBackoff } from '../src/run/operators/retryWithBackoff.js';

describe('retryDelay', () => {
  it('waits the same delay before every retry under the fixed policy', () => {
    const policy = { retries: 3, delay: 100 };
    expect([1, 2, 3].map((n) => retryDelay(policy, n))).toEqual([100, 100, 100]);
  });

  it('waits nothing when the policy gives no delay', () => {
    expect(retryDelay({ retries: 2 }, 1)).toBe(0);
    expect(retryDelay({ retries: 2, backoff: 'exponential' }, 2)).toBe(0);
  });

  it('doubles the delay after each attempt under the exponential policy', () => {
    const policy = { retries: 4, delay: 100, backoff: 'exponential' } as const;
    expect([1, 2, 3, 4].map((n) => retryDelay(policy, n))).toEqual([100, 200, 400, 800]);
  });

  it('caps exponential delays at maxDelay', () => {
    const policy = { retries: 5, delay: 100, backoff: 'exponential', maxDelay: 300 } as const;
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(policy, n))).toEqual([100, 200, 300, 300, 300]);
  });
});

describe('retryWithBackoff', () => {
  let testScheduler: TestScheduler;
  const boom = new Error('boom');
  let retries: [unknown, number][];
  const onRetry = (error: unknown, failedAttempt: number) => {
    retries.push([error, failedAttempt]);
  };

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    retries = [];
  });

  it('completes at once with an empty source', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   |');
      const e1subs = '    (^!)';
      const expected = '  |';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 2, delay: 3 }, testScheduler, onRetry))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(retries).toEqual([]);
  });

  it('passes one value through from a source that succeeds', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --a|');
      const e1subs = '    ^--!';
      const expected = '  --a|';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 2, delay: 3 }, testScheduler, onRetry))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(retries).toEqual([]);
  });

  it('passes many values through from a source that succeeds', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -a-b-c|');
      const e1subs = '    ^-----!';
      const expected = '  -a-b-c|';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 2, delay: 3 }, testScheduler, onRetry))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('forwards the error at once when the policy allows no retries', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -a#', undefined, boom);
      const e1subs = '    ^-!';
      const expected = '  -a#';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 0, delay: 3 }, testScheduler, onRetry))).toBe(
        expected,
        undefined,
        boom,
      );
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(retries).toEqual([]);
  });

  it('resubscribes after the fixed delay and forwards the last error once the retries are spent', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -a-#', undefined, boom);
      const e1subs = [
        '                 ^--!',
        '                 ------^--!',
        '                 ------------^--!',
      ];
      const expected = '  -a-----a-----a-#';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 2, delay: 3 }, testScheduler, onRetry))).toBe(
        expected,
        undefined,
        boom,
      );
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(retries).toEqual([
      [boom, 1],
      [boom, 2],
    ]);
  });

  it('resubscribes in the same frame when the policy gives no delay', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -#', undefined, boom);
      const e1subs = ['   ^!', ' -^!', ' --^!'];
      const expected = '  ---#';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 2 }, testScheduler, onRetry))).toBe(
        expected,
        undefined,
        boom,
      );
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('doubles the wait between attempts under the exponential policy', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --#', undefined, boom);
      // waits 1, 2, 4
      const e1subs = ['   ^-!', ' ---^-!', ' -------^-!', ' -------------^-!'];
      const expected = '  ---------------#';

      const policy = { retries: 3, delay: 1, backoff: 'exponential' } as const;
      expectObservable(e1.pipe(retryWithBackoff(policy, testScheduler, onRetry))).toBe(expected, undefined, boom);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(retries.map(([, attempt]) => attempt)).toEqual([1, 2, 3]);
  });

  it('caps the exponential wait at maxDelay', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   --#', undefined, boom);
      // waits 1, 2, 3 (4 capped to 3)
      const e1subs = ['   ^-!', ' ---^-!', ' -------^-!', ' ------------^-!'];
      const expected = '  --------------#';

      const policy = { retries: 3, delay: 1, backoff: 'exponential', maxDelay: 3 } as const;
      expectObservable(e1.pipe(retryWithBackoff(policy, testScheduler, onRetry))).toBe(expected, undefined, boom);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('completes with the values of the first attempt that succeeds', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('  -a#', undefined, boom);
      const passing = cold('       -b|');
      const failingSubs = '   ^-!';
      const passingSubs = '   -----^-!';
      const expected = '      -a----b|';

      let attempt = 0;
      const source = defer(() => (attempt++ === 0 ? failing : passing));
      expectObservable(source.pipe(retryWithBackoff({ retries: 3, delay: 3 }, testScheduler, onRetry))).toBe(expected);
      expectSubscriptions(failing.subscriptions).toBe(failingSubs);
      expectSubscriptions(passing.subscriptions).toBe(passingSubs);
    });
    expect(retries).toEqual([[boom, 1]]);
  });

  it('mirrors a never-ending source without ever unsubscribing', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -a--b---');
      const e1subs = '    ^';
      const expected = '  -a--b---';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 2, delay: 3 }, testScheduler, onRetry))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('unsubscribes from the running attempt when the subscriber leaves early', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -a-b-c|');
      const unsub = '     ---!';
      const e1subs = '    ^--!';
      const expected = '  -a-';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 2, delay: 3 }, testScheduler, onRetry)), unsub).toBe(
        expected,
      );
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('never resubscribes when the subscriber leaves during the wait before a retry', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -#', undefined, boom);
      const unsub = '     ---!';
      const e1subs = '    ^!';
      const expected = '  ---';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 2, delay: 5 }, testScheduler, onRetry)), unsub).toBe(
        expected,
      );
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(retries).toEqual([[boom, 1]]);
  });

  it('ends the stream with the error onRetry throws, without retrying', () => {
    const broken = new Error('onRetry broke');
    let calls = 0;
    const throwing = () => {
      calls++;
      throw broken;
    };
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   -a#', undefined, boom);
      const e1subs = '    ^-!';
      const expected = '  -a#';

      expectObservable(e1.pipe(retryWithBackoff({ retries: 3, delay: 1 }, testScheduler, throwing))).toBe(
        expected,
        undefined,
        broken,
      );
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
    expect(calls).toBe(1);
  });
});
