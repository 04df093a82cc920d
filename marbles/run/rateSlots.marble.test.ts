import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type RunEvent, type RunHandle, type Snapshot } from 'sluice';
import { at, newVirtualTime, type VirtualTime } from './support.js';

/** Call `fn` at the absolute virtual time `t` (`at` counts from now). */
const atTime = (vt: VirtualTime, t: number, fn: () => void) => at(vt, t - vt.scheduler.now(), fn);

// DESIGN §6.3 "all in snapshots", §6.6 Clocks: a rate slot frees `interval` ms after the start it counted,
// also when the run was snapshotted and resumed in between with nothing waiting on the window.

const Job = event('Job', z.object({ customer: z.string(), n: z.number() }));
const Done = event('Done', z.object({ n: z.number() }));

/** split → `first` Jobs at once → work (rateLimit) → join stops after `total` Done. */
function jobs(first: [string, number][], rateLimit: { limit: number; interval: number; key?: (ev: { data: { customer: string } }) => string }, total: number) {
  return workflow('rated', { timeout: null })
    .step('split', { accepts: [StartEvent] }, () => first.map(([customer, n]) => Job.of({ customer, n })))
    .step('work', { accepts: [Job], rateLimit }, (ev) => Done.of({ n: ev.data.n }))
    .step('join', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
      const all = ctx.collect(Done, total);
      return all && StopEvent.of({ result: all.map((d) => d.data.n) });
    });
}

function record(run: RunHandle): RunEvent[] {
  const seen: RunEvent[] = [];
  run.events$.subscribe((e) => seen.push(e));
  return seen;
}

const starts = (events: RunEvent[]) => events.flatMap((e) => (e.kind === 'step_started' && e.step === 'work' ? [e.at] : []));

/** Run `wf` in virtual time; at `frame` take a snapshot (through JSON) and abort the run. */
function snapshotAt(wf: ReturnType<typeof jobs>, frame: number): { snap: Snapshot; events: RunEvent[] } {
  const vt = newVirtualTime();
  let snap: Snapshot | undefined;
  let events: RunEvent[] = [];
  vt.run(() => {
    const run = vt.start(wf);
    events = record(run);
    at(vt, frame, () => {
      snap = JSON.parse(JSON.stringify(run.snapshot())) as Snapshot;
      run.abort();
    });
  });
  return { snap: snap as Snapshot, events };
}

/** Resume `snap` at `frame` of a fresh virtual clock, then call `then(run, vt)`; the resumed run's events. */
function resumeAt(wf: ReturnType<typeof jobs>, snap: Snapshot, frame: number, then: (run: RunHandle, vt: VirtualTime) => void): RunEvent[] {
  const vt = newVirtualTime();
  let events: RunEvent[] = [];
  vt.run(() => {
    at(vt, frame, () => {
      const run = wf.onScheduler(vt.scheduler).resume(snap);
      events = record(run);
      then(run, vt);
    });
  });
  return events.slice(events.findIndex((e) => e.kind === 'run_resumed'));
}

describe('rate slots in snapshots', () => {
  it('keeps the used slots of a window with nothing waiting: a new event after resume waits for the window', () => {
    const wf = jobs([['a', 1], ['a', 2]], { limit: 2, interval: 1000 }, 3);
    const { snap, events } = snapshotAt(wf, 100);
    expect(starts(events)).toEqual([0, 0]);
    expect(snap.pending.filter((p) => p.to === 'work')).toEqual([]); // nothing waits: only the slots are in use
    expect(snap.rateSlots).toEqual({ work: { '': [1000, 1000] } }); // step → key ('' without one) → when they free

    const resumed = resumeAt(wf, snap, 100, (run, vt) => atTime(vt, 150, () => run.send(Job.of({ customer: 'a', n: 3 }))));
    // Two slots taken at 0 free at 1000: the third start is at 1000, not at 150.
    expect(starts(resumed)).toEqual([1000]);
    expect(resumed.at(-1)).toMatchObject({ kind: 'run_completed', result: [1, 2, 3] });
  });

  it('refuses rate slots that are not times, naming the field', () => {
    const wf = jobs([['a', 1]], { limit: 2, interval: 1000 }, 2);
    const { snap } = snapshotAt(wf, 100);
    expect(snap.status).toBe('running');
    expect(() => wf.resume({ ...snap, rateSlots: { work: { '': ['soon'] } } })).toThrow(
      expect.objectContaining({ code: 'invalid_snapshot', message: expect.stringContaining('rateSlots') }),
    );
  });

  it('keeps them per key: a busy key waits, another key starts at once', () => {
    const byCustomer = (ev: { data: { customer: string } }) => ev.data.customer;
    const wf = jobs([['a', 1]], { limit: 1, interval: 1000, key: byCustomer }, 3);
    const { snap } = snapshotAt(wf, 100);
    const resumed = resumeAt(wf, snap, 100, (run, vt) =>
      atTime(vt, 150, () => {
        run.send(Job.of({ customer: 'a', n: 2 }));
        run.send(Job.of({ customer: 'b', n: 3 }));
      }),
    );
    expect(starts(resumed)).toEqual([150, 1000]);
    expect(resumed.at(-1)).toMatchObject({ kind: 'run_completed', result: [1, 3, 2] });
  });

  it('forgets slots that have freed by the time of the resume', () => {
    const wf = jobs([['a', 1], ['a', 2]], { limit: 2, interval: 1000 }, 3);
    const { snap } = snapshotAt(wf, 100);
    let later: Snapshot | undefined;
    const resumed = resumeAt(wf, snap, 1200, (run) => {
      later = run.snapshot();
      run.send(Job.of({ customer: 'a', n: 3 }));
    });
    expect(starts(resumed)).toEqual([1200]);
    expect(later).not.toHaveProperty('rateSlots'); // none in use: the field is left out
  });

  it('keeps the remaining time of slots in a paused run', () => {
    const wf = jobs([['a', 1], ['a', 2]], { limit: 2, interval: 1000 }, 3);
    const vt = newVirtualTime();
    let snap: Snapshot | undefined;
    vt.run(() => {
      const run = vt.start(wf);
      at(vt, 100, () => void run.pause());
      at(vt, 400, () => {
        snap = JSON.parse(JSON.stringify(run.snapshot())) as Snapshot;
        run.abort();
      });
    });
    // Paused at 100 with 900 left on both slots; the snapshot at 400 counts them from there: free at 1300.
    const resumed = resumeAt(wf, snap as Snapshot, 400, (run, vt2) => {
      run.resume();
      atTime(vt2, 450, () => run.send(Job.of({ customer: 'a', n: 3 })));
    });
    expect(starts(resumed)).toEqual([1300]);
  });
});
