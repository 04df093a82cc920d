import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { FlowClock } from '../../src/run/flowClock.js';

// DESIGN §6.6 Clocks: timers on the workflow scheduler; paused timers keep their remaining time.

function virtual(): TestScheduler {
  return new TestScheduler((a, e) => expect(a).toEqual(e));
}

describe('FlowClock', () => {
  it('fires a timer after its delay on the scheduler and forgets it', () => {
    const ts = virtual();
    const fired: number[] = [];
    ts.run(() => {
      const clock = new FlowClock(ts);
      const timer = clock.after(4, () => fired.push(ts.now()));
      expect(timer.dueAt()).toBe(4);
      expect(clock.size).toBe(1);
      ts.schedule(() => expect(clock.size).toBe(0), 5);
    });
    expect(fired).toEqual([4]);
  });

  it('keeps a paused timer’s remaining time and fires it that long after the resume', () => {
    const ts = virtual();
    const fired: number[] = [];
    const due: number[] = [];
    ts.run(() => {
      const clock = new FlowClock(ts);
      const timer = clock.after(5, () => fired.push(ts.now()));
      ts.schedule(() => clock.pause(), 2);
      ts.schedule(() => due.push(timer.dueAt()), 20); // paused: now + the 3 left
      ts.schedule(() => clock.resume(), 30);
      ts.schedule(() => due.push(timer.dueAt()), 31);
    });
    expect(fired).toEqual([33]);
    expect(due).toEqual([23, 33]);
  });

  it('holds a timer set while paused for its whole delay after the resume', () => {
    const ts = virtual();
    const fired: number[] = [];
    ts.run(() => {
      const clock = new FlowClock(ts);
      clock.pause();
      clock.after(3, () => fired.push(ts.now()));
      ts.schedule(() => clock.resume(), 10);
    });
    expect(fired).toEqual([13]);
  });

  it('fires an absolute timer at its due time, or at once when it has passed', () => {
    const ts = virtual();
    const fired: string[] = [];
    ts.run(() => {
      const clock = new FlowClock(ts);
      ts.schedule(() => {
        clock.at(9, () => fired.push(`later@${ts.now()}`));
        clock.at(1, () => fired.push(`past@${ts.now()}`));
      }, 4);
    });
    expect(fired).toEqual(['past@4', 'later@9']);
  });

  it('cancels a timer on unsubscribe, also while paused', () => {
    const ts = virtual();
    const fired: number[] = [];
    ts.run(() => {
      const clock = new FlowClock(ts);
      const a = clock.after(2, () => fired.push(1));
      const b = clock.after(2, () => fired.push(2));
      a.unsubscribe();
      clock.pause();
      b.unsubscribe();
      clock.resume();
      expect(clock.size).toBe(0);
    });
    expect(fired).toEqual([]);
  });

  it('fires timers due in the same frame in the order they were set, across a pause', () => {
    const ts = virtual();
    const fired: string[] = [];
    ts.run(() => {
      const clock = new FlowClock(ts);
      clock.after(3, () => fired.push('a'));
      clock.after(3, () => fired.push('b'));
      ts.schedule(() => clock.pause(), 1);
      ts.schedule(() => clock.pause(), 2); // idempotent
      ts.schedule(() => clock.resume(), 5);
      ts.schedule(() => clock.resume(), 5);
    });
    expect(fired).toEqual(['a', 'b']);
  });
});
