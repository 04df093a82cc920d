import { BehaviorSubject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { WorkflowEvent } from 'sluice';
import type { Invocation } from '../../src/run/invocation.js';
import type { RunStatus } from '../../src/run/status.js';
import { Waits, type DurableWait, type WaitHost } from '../../src/run/Waits.js';

// DESIGN §6.4 durable waits, §6.6 Clocks / Wait ids and entries / waitFor.

function setup(restored?: { waiting: DurableWait[]; answered: Record<string, unknown> }) {
  const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
  const status$ = new BehaviorSubject<RunStatus>('running');
  const log: string[] = [];
  const host: WaitHost = {
    scheduler: ts,
    status$,
    get paused() {
      return status$.value === 'paused';
    },
    // Logged with the frame: a wait's promise settles in a microtask, after the virtual clock has moved on.
    park: (inv) => log.push(`park ${inv.id}@${ts.now()}`),
    unpark: (inv) => log.push(`unpark ${inv.id}@${ts.now()}`),
    changed: () => undefined,
  };
  let waits: Waits | undefined;
  const make = () => (waits ??= new Waits(host, restored));
  return { ts, status$, log, make };
}

const inv = (id = 'e1/work'): Invocation => ({ id, requests: 0, settled: false }) as unknown as Invocation;
const ev = (type: string, data: unknown): WorkflowEvent => ({ type, data });

describe('Waits', () => {
  it('wakes a sleep at now + ms, keeping its absolute due time in the snapshot', () => {
    const { ts, log, make } = setup();
    const woke: number[] = [];
    let seen: unknown;
    ts.run(() => {
      const waits = make();
      ts.schedule(() => {
        void waits.sleep(inv(), 5).then(() => woke.push(ts.now()));
        seen = waits.snapshot();
      }, 2);
    });
    return Promise.resolve().then(() => {
      expect(seen).toEqual({ waiting: [{ kind: 'sleep', requestId: 'e1/work:1', dueAt: 7 }], answered: {} });
      expect(woke).toHaveLength(1);
      expect(log).toEqual(['park e1/work@2', 'unpark e1/work@7']);
    });
  });

  it('shares the <invocationId>:<n> counter with input requests', async () => {
    const { ts, make } = setup();
    const i = inv();
    i.requests = 2; // two requestInput calls before
    let seen: unknown;
    ts.run(() => {
      const waits = make();
      void waits.sleep(i, 1);
      void waits.waitFor(i, 'Paid');
      seen = waits.snapshot().waiting.map((w) => w.requestId);
    });
    expect(seen).toEqual(['e1/work:3', 'e1/work:4']);
  });

  it('wakes a restored sleep at its stored due time, and the re-delivered call returns at once', async () => {
    const { ts, make } = setup({ waiting: [{ kind: 'sleep', requestId: 'e1/work:1', dueAt: 4 }], answered: {} });
    let answeredAt4: unknown;
    let resolved = false;
    ts.run(() => {
      const waits = make();
      expect(waits.isWaiting('e1/work')).toBe(true);
      ts.schedule(() => (answeredAt4 = waits.snapshot()), 4);
      ts.schedule(() => void waits.sleep(inv(), 100).then(() => (resolved = true)), 6);
    });
    await Promise.resolve();
    expect(answeredAt4).toEqual({ waiting: [], answered: { 'e1/work:1': null } });
    expect(resolved).toBe(true);
  });

  it('wakes a restored sleep whose due time has passed at once', () => {
    const { ts, make } = setup({ waiting: [{ kind: 'sleep', requestId: 'e1/work:1', dueAt: -50 }], answered: {} });
    let open: number[] = [];
    ts.run(() => {
      const waits = make();
      open.push(waits.open);
      ts.schedule(() => open.push(waits.open), 0);
    });
    expect(open).toEqual([1, 0]);
    open = [];
  });

  it('hands a wake-up due while paused over on resume', async () => {
    const { ts, status$, log, make } = setup();
    const woke: number[] = [];
    let waits: Waits | undefined;
    ts.run(() => {
      waits = make();
      void waits.sleep(inv(), 3).then(() => woke.push(ts.now()));
      ts.schedule(() => status$.next('paused'), 1);
      ts.schedule(() => {
        status$.next('running');
        waits?.resumed();
      }, 8);
    });
    await Promise.resolve();
    expect(woke).toHaveLength(1);
    expect(log).toEqual(['park e1/work@0', 'unpark e1/work@8']);
  });

  it('gives a waitFor the first offered event of its type that matches, and reports who took it', async () => {
    const { ts, make } = setup();
    let got: unknown = 'nothing';
    const takers: string[][] = [];
    ts.run(() => {
      const waits = make();
      void waits.waitFor(inv(), 'Paid', { match: (e) => (e.data as { order: number }).order === 2 }).then((e) => (got = e));
      expect(waits.waitsFor('Paid')).toBe(true);
      expect(waits.waitsFor('Shipped')).toBe(false);
      takers.push(waits.offer(ev('Shipped', { order: 2 })));
      takers.push(waits.offer(ev('Paid', { order: 1 })));
      takers.push(waits.offer(ev('Paid', { order: 2 })));
      takers.push(waits.offer(ev('Paid', { order: 2 })));
    });
    await Promise.resolve();
    expect(takers).toEqual([[], [], ['e1/work:1'], []]);
    expect(got).toEqual({ type: 'Paid', data: { order: 2 } });
  });

  it('resolves a waitFor with undefined after its timeout of unpaused time', async () => {
    const { ts, status$, log, make } = setup();
    let got: unknown = 'nothing';
    let remaining: unknown;
    ts.run(() => {
      const waits = make();
      void waits.waitFor(inv(), 'Paid', { timeout: 4 }).then((e) => (got = e));
      ts.schedule(() => status$.next('paused'), 1);
      ts.schedule(() => (remaining = waits.snapshot().waiting), 5);
      ts.schedule(() => status$.next('running'), 10);
    });
    await Promise.resolve();
    expect(remaining).toEqual([{ kind: 'event', requestId: 'e1/work:1', type: 'Paid', deadline: 4, remainingMs: 3 }]);
    expect(got).toBeUndefined();
    expect(log).toEqual(['park e1/work@0', 'unpark e1/work@13']); // 1 before the pause, 3 after it
  });

  it('keeps events sent while a restored waitFor’s invocation is re-delivered, and its match picks one', async () => {
    const { ts, make } = setup({ waiting: [{ kind: 'event', requestId: 'e1/work:1', type: 'Paid' }], answered: {} });
    let got: unknown;
    const takers: string[][] = [];
    ts.run(() => {
      const waits = make();
      takers.push(waits.offer(ev('Paid', { order: 1 })));
      takers.push(waits.offer(ev('Paid', { order: 2 })));
      void waits.waitFor(inv(), 'Paid', { match: (e) => (e.data as { order: number }).order === 2 }).then((e) => (got = e));
    });
    await Promise.resolve();
    expect(takers).toEqual([['e1/work:1'], ['e1/work:1']]);
    expect(got).toEqual({ type: 'Paid', data: { order: 2 } });
  });

  it('rejects the waitFor when its match throws', async () => {
    const { ts, make } = setup();
    let error: unknown;
    ts.run(() => {
      const waits = make();
      waits
        .waitFor(inv(), 'Paid', {
          match: () => {
            throw new Error('bad match');
          },
        })
        .catch((e: unknown) => (error = e));
      waits.offer(ev('Paid', {}));
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(error).toMatchObject({ code: 'step_failed', message: "ctx.waitFor('Paid') match threw: bad match" });
  });

  it('refuses a sleep or timeout that is not a number of ms >= 0 at the call', () => {
    const { ts, make } = setup();
    ts.run(() => {
      const waits = make();
      for (const ms of [-1, Number.NaN, Infinity, '5' as never]) {
        expect(() => waits.sleep(inv(), ms)).toThrow(expect.objectContaining({ code: 'invalid_event' }));
        expect(() => waits.waitFor(inv(), 'Paid', { timeout: ms })).toThrow(expect.objectContaining({ code: 'invalid_event' }));
      }
    });
  });

  it('sleeps longer than a timer’s range exactly, by chaining', async () => {
    const { ts, log, make } = setup();
    const woke: number[] = [];
    const long = 2 ** 31 + 10;
    ts.run(() => {
      void make().sleep(inv(), long).then(() => woke.push(ts.now()));
    });
    await Promise.resolve();
    expect(woke).toHaveLength(1);
    expect(log).toEqual(['park e1/work@0', `unpark e1/work@${long}`]);
  });
});
