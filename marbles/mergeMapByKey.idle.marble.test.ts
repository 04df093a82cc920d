import { interval, map, Subject, take, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { mergeMapByKey } from '../src/run/operators/mergeMapByKey.js';

// DESIGN §6.3 concurrency { limit, key }: a key's group is released once the key is idle, so a long run over
// ever new keys (a million customers over a day) keeps only the groups of the keys busy right now.
// The groups are groupBy's; this file wraps groupBy to count the groups it has open (emitted, not completed).

const groups = vi.hoisted(() => ({ open: new Set<string>(), opened: 0, peak: 0 }));

vi.mock('rxjs', async (importOriginal) => {
  const rx = await importOriginal<typeof import('rxjs')>();
  const groupBy = ((...args: unknown[]) =>
    (source: import('rxjs').Observable<unknown>) =>
      (rx.groupBy as (...a: unknown[]) => import('rxjs').OperatorFunction<unknown, import('rxjs').GroupedObservable<string, unknown>>)(...args)(source).pipe(
        rx.tap((group) => {
          groups.opened++;
          groups.open.add(group.key);
          groups.peak = Math.max(groups.peak, groups.open.size);
          group.subscribe({ complete: () => groups.open.delete(group.key), error: () => groups.open.delete(group.key) });
        }),
      )) as typeof rx.groupBy;
  return { ...rx, groupBy };
});

const byKey = (v: string) => v.charAt(0);

describe('mergeMapByKey releases idle keys', () => {
  let ts: TestScheduler;

  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    groups.open.clear();
    groups.opened = 0;
    groups.peak = 0;
  });

  it('keeps a key open while a value of it runs or waits, and closes it the frame its last one ends', () => {
    const seen: string[][] = [];
    const values = { a: 'x1', b: 'x2', y: 'y1' };
    ts.run(({ cold, expectObservable }) => {
      // x1 runs 0 → 3, x2 waits and runs 3 → 6; y1 runs 1 → 4.
      const out$ = cold('a(by)', values).pipe(mergeMapByKey((v) => cold('---(v|)', { v }), { limit: 1, key: byKey }));
      // Read at the end of frames 1, 3, 4, 6 (scheduled from inside each, so after that frame's work).
      for (const frame of [1, 3, 4, 6]) ts.schedule(() => ts.schedule(() => seen.push([...groups.open].sort())), frame);
      expectObservable(out$).toBe('---ay-b', values);
    });
    expect(seen).toEqual([['x', 'y'], ['x', 'y'], ['x'], []]);
    expect(groups.opened).toBe(2);
  });

  it('opens a fresh group for a key seen again after it went idle', () => {
    ts.run(({ cold, expectObservable }) => {
      const out$ = cold('a----b', { a: 'x1', b: 'x2' }).pipe(mergeMapByKey((v) => cold('--(v|)', { v }), { limit: 1, key: byKey }));
      ts.schedule(() => expect(groups.open.size).toBe(0), 4);
      expectObservable(out$).toBe('--a----b', { a: 'x1', b: 'x2' });
    });
    expect(groups.opened).toBe(2);
  });

  it('holds only the busy keys open over 20 000 distinct keys, and none once they are done', () => {
    const n = 20_000;
    let done = 0;
    ts.run(() => {
      // One new key per frame, each value running 3 frames: never more than 4 keys busy at once.
      const keys$ = interval(1, ts).pipe(
        take(n),
        map((i) => `k${i}`),
      );
      keys$.pipe(mergeMapByKey(() => timer(3, ts), { limit: 1, key: (k) => k })).subscribe(() => done++);
    });
    expect(done).toBe(n);
    expect(groups.opened).toBe(n);
    expect(groups.peak).toBeLessThanOrEqual(4);
    expect(groups.open.size).toBe(0);
  });

  it('releases a key whose inner completes synchronously at once, on a source that never completes', () => {
    const source = new Subject<string>();
    const out: string[] = [];
    const sub = source.pipe(mergeMapByKey((v) => [v], { limit: 1, key: (v) => v })).subscribe((v) => out.push(v));
    for (let i = 0; i < 1_000; i++) source.next(`k${i}`);
    expect(out).toHaveLength(1_000);
    expect(groups.opened).toBe(1_000);
    expect(groups.peak).toBe(1);
    expect(groups.open.size).toBe(0);
    sub.unsubscribe();
  });
});
