import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { after } from '../../src/run/timers.js';

const scheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

describe('after (shared deadlines)', () => {
  it('fires each deadline at its exact frame, equal ones in the order they were set', () => {
    const s = scheduler();
    const fired: string[] = [];
    s.run(({ flush }) => {
      after(s, 5, () => fired.push(`a@${s.now()}`));
      after(s, 2, () => fired.push(`b@${s.now()}`));
      after(s, 5, () => fired.push(`c@${s.now()}`));
      s.schedule(() => after(s, 1, () => fired.push(`d@${s.now()}`)), 3);
      flush();
    });
    expect(fired).toEqual(['b@2', 'd@4', 'a@5', 'c@5']);
  });

  it('never fires a cancelled deadline, even the soonest, and keeps the others', () => {
    const s = scheduler();
    const fired: string[] = [];
    s.run(({ flush }) => {
      const soon = after(s, 1, () => fired.push('soon'));
      after(s, 3, () => fired.push(`late@${s.now()}`));
      soon.unsubscribe();
      soon.unsubscribe(); // idempotent
      flush();
    });
    expect(fired).toEqual(['late@3']);
  });

  it('leaves nothing scheduled once every deadline is cancelled (an idle process can exit)', () => {
    const s = scheduler();
    s.run(() => {
      const all = Array.from({ length: 100 }, (_, i) => after(s, 10 + i, () => expect.unreachable()));
      for (const d of all) d.unsubscribe();
      expect(s.actions).toHaveLength(0);
    });
  });

  it('keeps one scheduled action for many deadlines', () => {
    const s = scheduler();
    let fired = 0;
    s.run(({ flush }) => {
      for (let i = 0; i < 1_000; i++) after(s, 1_000 + i, () => fired++);
      expect(s.actions).toHaveLength(1);
      flush();
    });
    expect(fired).toBe(1_000);
  });

  it('compacts cancelled deadlines while others stay live', () => {
    const s = scheduler();
    const fired: number[] = [];
    s.run(({ flush }) => {
      const keep = after(s, 500, () => fired.push(s.now()));
      for (let i = 0; i < 500; i++) after(s, 10, () => expect.unreachable()).unsubscribe();
      flush();
      expect(keep).toBeDefined();
    });
    expect(fired).toEqual([500]);
  });
});
