import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { FlowClock } from '../src/run/flowClock.js';
import { RateWindow } from '../src/run/operators/rateLimit.js';

// DESIGN §6.3 "all in snapshots": a rate window's used slots, as the times they free, and back.

const byKey = (v: string) => v.charAt(0);

describe('RateWindow slots in snapshots', () => {
  it('reports the slots in use per key as the times they free, paused time included, and none once freed', () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    const seen: unknown[] = [];
    ts.run(() => {
      const clock = new FlowClock(ts);
      const window = new RateWindow<string>({ limit: 2, interval: 10, key: byKey, clock });
      window.take('x1', () => undefined);
      ts.schedule(() => window.take('x2', () => undefined), 3);
      ts.schedule(() => window.take('y1', () => undefined), 4);
      ts.schedule(() => seen.push(window.usedSlots()), 5);
      ts.schedule(() => clock.pause(), 5);
      // Paused at 5 with 5, 8 and 9 left: read at 20 they free at 25, 28 and 29.
      ts.schedule(() => seen.push(window.usedSlots()), 20);
      ts.schedule(() => clock.resume(), 20);
      ts.schedule(() => seen.push(window.usedSlots()), 30);
    });
    expect(seen).toEqual([{ x: [10, 13], y: [14] }, { x: [25, 28], y: [29] }, {}]);
  });

  it('counts restored slots until they free: past ones are dropped, at most `limit` (the latest) kept', () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    const started: [string, number][] = [];
    ts.run(() => {
      const clock = new FlowClock(ts);
      const window = new RateWindow<string>({ limit: 2, interval: 10, key: byKey, clock });
      ts.schedule(() => {
        window.restoreSlots({ x: [1, 4, 6, 7], y: [2] });
        expect(window.usedSlots()).toEqual({ x: [6, 7] });
        const start = (v: string) => void started.push([v, ts.now()]);
        for (const v of ['x1', 'x2', 'x3', 'y1']) window.take(v, start);
      }, 3);
    });
    // x's slots free at 6 and 7; y's restored slot had freed at 2, so y1 starts at once; x3 waits for x1's slot.
    expect(started).toEqual([
      ['y1', 3],
      ['x1', 6],
      ['x2', 7],
      ['x3', 16],
    ]);
  });

  it('restores into a paused clock: the slots keep the time they had left', () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    const started: number[] = [];
    ts.run(() => {
      const clock = new FlowClock(ts);
      const window = new RateWindow<string>({ limit: 1, interval: 10, clock });
      clock.pause();
      window.restoreSlots({ '': [4] }); // 4 left
      window.take('a', () => void started.push(ts.now()));
      ts.schedule(() => clock.resume(), 20);
    });
    expect(started).toEqual([24]);
  });
});
