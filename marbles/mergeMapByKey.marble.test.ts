import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { Holding } from '../src/run/holding.js';
import { mergeMapByKey } from '../src/run/operators/mergeMapByKey.js';

// DESIGN §6.3 concurrency { limit, key }: groupBy(key) → mergeMap(…, limit).

// Values are '<key><n>': x1, x2, x3 share key x.
const values = { a: 'x1', b: 'x2', c: 'x3', y: 'y1', z: 'y2' };
const byKey = (v: string) => v.charAt(0);

describe('mergeMapByKey', () => {
  let ts: TestScheduler;

  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('completes at once when the source is empty', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   |');
      expectObservable(e1.pipe(mergeMapByKey((v) => cold('--(v|)', { v }), { limit: 1, key: byKey }))).toBe('|');
      expectSubscriptions(e1.subscriptions).toBe('(^!)');
    });
  });

  it('maps one value through its inner observable', () => {
    ts.run(({ cold, expectObservable }) => {
      const out$ = cold('-a|', values).pipe(mergeMapByKey((v) => cold('--(v|)', { v }), { limit: 1, key: byKey }));
      expectObservable(out$).toBe('---(a|)', values);
    });
  });

  it('runs at most `limit` inners per key, in arrival order, while other keys run alongside', () => {
    ts.run(({ cold, expectObservable }) => {
      // x1 and y1 start at 0; x2 waits for x1 (done at 4), x3 for x2 (8); y2 for y1.
      const out$ = cold('(abyzc|)', values).pipe(mergeMapByKey((v) => cold('----(v|)', { v }), { limit: 1, key: byKey }));
      expectObservable(out$).toBe('----(ay)(bz)(c|)', values);
    });
  });

  it('runs `limit` inners of one key at once', () => {
    ts.run(({ cold, expectObservable }) => {
      const out$ = cold('(abc)', values).pipe(mergeMapByKey((v) => cold('----(v|)', { v }), { limit: 2, key: byKey }));
      expectObservable(out$).toBe('----(ab)c', values);
    });
  });

  it('subscribes the inners of one key one after another', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const x1 = cold('--|');
      const x2 = cold('---|');
      const out$ = cold('(ab)', values).pipe(mergeMapByKey((v) => (v === 'x1' ? x1 : x2), { limit: 1, key: byKey }));
      expectObservable(out$).toBe('-------');
      expectSubscriptions(x1.subscriptions).toBe('^-!');
      expectSubscriptions(x2.subscriptions).toBe('--^--!');
    });
  });

  it('closes a key once it is idle and opens it again for a later value, limit intact', () => {
    ts.run(({ cold, expectObservable }) => {
      // x1 done at 2 closes key x; x2 (at 4) and x3 (at 4) open it again, one after the other.
      const out$ = cold('a---(bc)', values).pipe(mergeMapByKey((v) => cold('--(v|)', { v }), { limit: 1, key: byKey }));
      expectObservable(out$).toBe('--a---b-c', values);
    });
  });

  it('handles inners that complete synchronously, reopening the key each time', () => {
    ts.run(({ cold, expectObservable }) => {
      const out$ = cold('a-b-(cy)|', values).pipe(mergeMapByKey((v) => [v], { limit: 1, key: byKey }));
      expectObservable(out$).toBe('a-b-(cy)|', values);
    });
  });

  it('forwards a source error', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   (ab)#', values);
      const inner = cold('--v|');
      const out$ = e1.pipe(mergeMapByKey(() => inner, { limit: 1, key: byKey }));
      // x1's inner ends at 3 and x2's starts; the error at 4 ends it.
      expectObservable(out$).toBe('--v-#');
      expectSubscriptions(e1.subscriptions).toBe('^---!');
      expectSubscriptions(inner.subscriptions).toBe(['^--!', '---^!']);
    });
  });

  it('forwards an inner error', () => {
    ts.run(({ cold, expectObservable }) => {
      const out$ = cold('(ay)', values).pipe(mergeMapByKey((v) => (v === 'y1' ? cold('-#') : cold('---v')), { limit: 1, key: byKey }));
      expectObservable(out$).toBe('-#');
    });
  });

  it('stays open on a never-ending source', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   a----', values);
      expectObservable(e1.pipe(mergeMapByKey((v) => cold('-(v|)', { v }), { limit: 1, key: byKey }))).toBe('-a---', values);
      expectSubscriptions(e1.subscriptions).toBe('^');
    });
  });

  it('unsubscribes the source and every running inner when unsubscribed early', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   (aby)', values);
      const inner = cold('-----v|');
      const out$ = e1.pipe(mergeMapByKey(() => inner, { limit: 1, key: byKey }));
      expectObservable(out$, '--!').toBe('---');
      expectSubscriptions(e1.subscriptions).toBe('^-!');
      expectSubscriptions(inner.subscriptions).toBe(['^-!', '^-!']);
    });
  });

  it('errors when the key function throws', () => {
    const boom = new Error('no key');
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('   a-b', values);
      const key = (v: string) => {
        if (v === 'x2') throw boom;
        return byKey(v);
      };
      const inner = cold('-----v|');
      expectObservable(e1.pipe(mergeMapByKey(() => inner, { limit: 1, key }))).toBe('--#', undefined, boom);
      expectSubscriptions(e1.subscriptions).toBe('^-!');
      expectSubscriptions(inner.subscriptions).toBe('^-!');
    });
  });

  it('errors when the project function throws', () => {
    const boom = new Error('no inner');
    ts.run(({ cold, expectObservable }) => {
      const project = (v: string) => {
        if (v === 'x2') throw boom;
        return cold('-(v|)', { v });
      };
      expectObservable(cold('(ab)', values).pipe(mergeMapByKey(project, { limit: 1, key: byKey }))).toBe('-(a#)', values, boom);
    });
  });

  it('lists the values waiting for a slot in arrival order, and nothing once they have started', () => {
    const holding = new Holding<string>();
    const seen: unknown[] = [];
    ts.run(({ cold, expectObservable }) => {
      ts.schedule(() => seen.push(holding.list()), 1);
      ts.schedule(() => seen.push(holding.list()), 5);
      const out$ = cold('(abyzc)', values).pipe(mergeMapByKey((v) => cold('----(v|)', { v }), { limit: 1, key: byKey, holding }));
      expectObservable(out$).toBe('----(ay)(bz)c', values);
    });
    expect(seen).toEqual([[{ value: 'x2' }, { value: 'y2' }, { value: 'x3' }], [{ value: 'x3' }]]);
    expect(holding.list()).toEqual([]);
  });
});
