import { asyncScheduler, config } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StartEvent, workflow, type WorkflowError } from 'sluice';
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

describe('after: robustness (issue 17)', () => {
  it('a callback that throws does not stop later deadlines; the error is reported as unhandled', () => {
    const s = scheduler();
    const fired: string[] = [];
    const reported: unknown[] = [];
    const previous = config.onUnhandledError;
    config.onUnhandledError = (e) => reported.push(e);
    try {
      s.run(({ flush }) => {
        after(s, 10, () => {
          throw new Error('bad callback');
        });
        after(s, 10, () => fired.push(`same@${s.now()}`));
        after(s, 20, () => fired.push(`later@${s.now()}`));
        flush();
      });
    } finally {
      config.onUnhandledError = previous;
    }
    expect(fired).toEqual(['same@10', 'later@20']);
    expect(reported.map((e) => (e as Error).message)).toEqual(['bad callback']);
  });

  describe('with fake timers', () => {
    beforeEach(() => vi.useFakeTimers({ now: 1_000 }));
    afterEach(() => vi.useRealTimers());

    it('waits exactly for a delay above 2^31 − 1 ms, chaining real timers, without a busy loop or warning', () => {
      const warn = vi.spyOn(process, 'emitWarning');
      const firedAt: number[] = [];
      const day = 24 * 3_600_000;
      after(asyncScheduler, 30 * day, () => firedAt.push(Date.now()));
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(30 * day - 1);
      expect(firedAt).toEqual([]);
      // Chained: at most a couple of wake-ups over 30 days, never one per millisecond.
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(1);
      expect(firedAt).toEqual([1_000 + 30 * day]);
      expect(vi.getTimerCount()).toBe(0);
      expect(warn.mock.calls.filter(([w]) => String((w as Error)?.name ?? w).includes('TimeoutOverflow'))).toEqual([]);
      warn.mockRestore();
    });

    it('a workflow timeout of 30 days fires at its exact time', async () => {
      const day = 24 * 3_600_000;
      const wf = workflow('long', { timeout: 30 * day }).step('wait', { accepts: [StartEvent] }, () => new Promise<never>(() => {}));
      const run = wf.run();
      const failure = run.result.then(() => undefined, (e: unknown) => e as WorkflowError);
      await vi.advanceTimersByTimeAsync(30 * day - 1);
      expect(run.status).toBe('running');
      await vi.advanceTimersByTimeAsync(1);
      expect((await failure)?.code).toBe('timeout');
    });
  });
});
