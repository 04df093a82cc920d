import { of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { operate } from '../src/rx/operate.js';

/** A doubling operator that also counts teardowns, written with the helper. */
const double = (log: string[]) =>
  operate<number, number>((subscriber) => {
    subscriber.add(() => log.push('teardown'));
    return { next: (n) => subscriber.next(n * 2) };
  });

describe('operate', () => {
  let ts: TestScheduler;
  let log: string[];
  beforeEach(() => {
    ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    log = [];
  });

  it('passes an empty source through', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold<number>('|');
      expectObservable(e1.pipe(double(log))).toBe('|');
      expectSubscriptions(e1.subscriptions).toBe('(^!)');
    });
    expect(log).toEqual(['teardown']);
  });

  it('handles one value and many values with the next handler', () => {
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('-a|', { a: 1 }).pipe(double(log))).toBe('-a|', { a: 2 });
      expectObservable(cold('-a-b-c|', { a: 1, b: 2, c: 3 }).pipe(double(log))).toBe('-a-b-c|', { a: 2, b: 4, c: 6 });
    });
  });

  it('passes a source error on when there is no error handler, and tears down', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('-a-#', { a: 1 }, new Error('boom'));
      expectObservable(e1.pipe(double(log))).toBe('-a-#', { a: 2 }, new Error('boom'));
      expectSubscriptions(e1.subscriptions).toBe('^--!');
    });
    expect(log).toEqual(['teardown']);
  });

  it('never ends with a never-ending source, and unsubscribing early unsubscribes the source', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('-a-----', { a: 1 });
      expectObservable(e1.pipe(double(log)), '^--!').toBe('-a-', { a: 2 });
      expectSubscriptions(e1.subscriptions).toBe('^--!');
    });
    expect(log).toEqual(['teardown']);
  });

  it('errors the result when a handler throws, and unsubscribes the source', () => {
    const bad = operate<number>(() => ({
      next: (n) => {
        if (n === 2) throw new Error('handler');
      },
    }));
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('-a-b-c|', { a: 1, b: 2, c: 3 });
      expectObservable(e1.pipe(bad)).toBe('---#', undefined, new Error('handler'));
      expectSubscriptions(e1.subscriptions).toBe('^--!');
    });
  });

  it('errors the result at subscription when init throws, without subscribing the source', () => {
    const bad = operate<number>(() => {
      throw new Error('init');
    });
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('-a|', { a: 1 });
      expectObservable(e1.pipe(bad)).toBe('#', undefined, new Error('init'));
      expectSubscriptions(e1.subscriptions).toBe([]);
    });
  });

  it('calls subscribed after the source delivered what it had synchronously', () => {
    const order: string[] = [];
    const op = operate<number>((subscriber) => ({
      next: (n) => order.push(`next ${n}`),
      complete: () => subscriber.complete(),
      subscribed: () => order.push('subscribed'),
    }));
    let completed = false;
    of(1, 2).pipe(op).subscribe({ complete: () => (completed = true) });
    expect(order).toEqual(['next 1', 'next 2', 'subscribed']);
    expect(completed).toBe(true);
  });
});
