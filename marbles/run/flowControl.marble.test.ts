import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type RunEvent, type RunHandle, type Snapshot } from 'sluice';
import { at, newVirtualTime, type VirtualTime } from './support.js';

// DESIGN §6.3 flow control per key, §6.6 Clocks: exact start frames of whole runs in virtual time.

const Job = event('Job', z.object({ customer: z.string(), n: z.number() }));
const Done = event('Done', z.object({ n: z.number() }));

/** split → the Jobs at frame 0 → work (options, `frames` each) → join stops after `total` Done. */
function jobs(vt: VirtualTime, list: [string, number][], options: object, frames = 0, total = list.length) {
  return workflow('jobs', { timeout: null })
    .step('split', { accepts: [StartEvent] }, () => list.map(([customer, n]) => Job.of({ customer, n })))
    .step('work', { accepts: [Job], ...options }, (ev) => vt.marble(`${'-'.repeat(frames)}(d|)`, { d: Done.of({ n: ev.data.n }) })())
    .step('join', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
      const all = ctx.collect(Done, total);
      return all && StopEvent.of({ result: all.map((d) => d.data.n) });
    }, ) as ReturnType<typeof workflow>;
}

function record(run: RunHandle): RunEvent[] {
  const seen: RunEvent[] = [];
  run.events$.subscribe((e) => seen.push(e));
  return seen;
}

const starts = (events: RunEvent[]) =>
  events.flatMap((e) => (e.kind === 'step_started' && e.step === 'work' ? [e.at] : []));

describe('flow control of a whole run', () => {
  it('runs one job per customer at a time and customers side by side (concurrency { limit: 1, key })', () => {
    const vt = newVirtualTime();
    let events: RunEvent[] = [];
    vt.run(() => {
      const run = vt.start(
        jobs(vt, [['a', 1], ['a', 2], ['b', 3], ['a', 4], ['b', 5]], { concurrency: { limit: 1, key: (ev: { data: { customer: string } }) => ev.data.customer } }, 3),
      );
      events = record(run);
    });
    expect(starts(events)).toEqual([0, 0, 3, 3, 6]);
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: [1, 3, 2, 5, 4] });
  });

  it('starts at most two jobs per 5 frames, each slot freeing 5 after its start (rateLimit)', () => {
    const vt = newVirtualTime();
    let events: RunEvent[] = [];
    vt.run(() => {
      events = record(vt.start(jobs(vt, [['a', 1], ['a', 2], ['a', 3], ['a', 4], ['a', 5]], { rateLimit: { limit: 2, interval: 5 } })));
    });
    expect(starts(events)).toEqual([0, 0, 5, 5, 10]);
  });

  it('starts only the last job of a burst per customer and reports the superseded ones (debounce)', () => {
    const vt = newVirtualTime();
    let events: RunEvent[] = [];
    vt.run(() => {
      events = record(
        vt.start(jobs(vt, [['a', 1], ['b', 2], ['a', 3]], { debounce: { ms: 4, key: (ev: { data: { customer: string } }) => ev.data.customer } }, 0, 2)),
      );
    });
    expect(starts(events)).toEqual([4, 4]);
    const dropped = events.filter((e) => e.kind === 'event_dropped');
    expect(dropped).toEqual([expect.objectContaining({ kind: 'event_dropped', step: 'work', event: { type: 'Job', data: { customer: 'a', n: 1 } }, reason: 'debounced', at: 0 })]);
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: [2, 3] });
  });

  it('stops the debounce and rate clocks while paused: they keep their remaining time', () => {
    const vt = newVirtualTime();
    let events: RunEvent[] = [];
    vt.run(() => {
      const run = vt.start(jobs(vt, [['a', 1], ['a', 2], ['a', 3]], { rateLimit: { limit: 1, interval: 5 } }));
      events = record(run);
      at(vt, 2, () => void run.pause());
      at(vt, 10, () => run.resume());
    });
    // Slots: 0 → 5 becomes 0 → 13 (paused 2 → 10); then 13 → 18.
    expect(starts(events)).toEqual([0, 13, 18]);
  });

  it('lists held jobs as pending, addressed to the step with their due time, and resumes them exactly', () => {
    const vt = newVirtualTime();
    let snap: Snapshot | undefined;
    vt.run(() => {
      const run = vt.start(jobs(vt, [['a', 1], ['a', 2], ['a', 3]], { rateLimit: { limit: 1, interval: 5 } }));
      at(vt, 1, () => {
        snap = run.snapshot();
        run.abort();
      });
    });
    const pending = (snap as Snapshot).pending.filter((p) => p.to === 'work');
    expect(pending.map((p) => [p.event.data, p.dueAt])).toEqual([
      [{ customer: 'a', n: 2 }, 5],
      [{ customer: 'a', n: 3 }, 10],
    ]);
    const copy = JSON.parse(JSON.stringify(snap)) as Snapshot;

    const vt2 = newVirtualTime();
    let events: RunEvent[] = [];
    vt2.run(() => {
      events = record(jobs(vt2, [['a', 1], ['a', 2], ['a', 3]], { rateLimit: { limit: 1, interval: 5 } }).onScheduler(vt2.scheduler).resume(copy));
    });
    // The resumed run's own events (a v1 snapshot replays its history first).
    const resumed = events.slice(events.findIndex((e) => e.kind === 'run_resumed'));
    expect(starts(resumed)).toEqual([5, 10]);
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: [1, 2, 3] });
  });

  it('resumes a debounced job from snapshot → JSON at its due time, and a job held by a per-key limit at once', () => {
    const byCustomer = (ev: { data: { customer: string } }) => ev.data.customer;
    const debounced = (vt: VirtualTime) => jobs(vt, [['a', 1], ['a', 2]], { debounce: { ms: 6, key: byCustomer } }, 0, 1);
    const limited = (vt: VirtualTime) => jobs(vt, [['a', 1], ['a', 2]], { concurrency: { limit: 1, key: byCustomer } }, 4);
    const snaps: Snapshot[] = [];
    for (const [make, frame] of [[debounced, 2], [limited, 2]] as const) {
      const vt = newVirtualTime();
      vt.run(() => {
        const run = vt.start(make(vt));
        at(vt, frame, () => {
          snaps.push(JSON.parse(JSON.stringify(run.snapshot())) as Snapshot);
          run.abort();
        });
      });
    }
    const [d, l] = snaps as [Snapshot, Snapshot];
    expect(d.pending.map((p) => [p.to, p.event.data, p.dueAt])).toEqual([['work', { customer: 'a', n: 2 }, 6]]);
    expect(l.inFlight.map((f) => f.envelope.event.data)).toEqual([{ customer: 'a', n: 1 }]);
    expect(l.pending.map((p) => [p.to, p.event.data, p.dueAt])).toEqual([['work', { customer: 'a', n: 2 }, undefined]]);

    const vt1 = newVirtualTime();
    let events: RunEvent[] = [];
    vt1.run(() => (events = record(debounced(vt1).onScheduler(vt1.scheduler).resume(d))));
    const resumed = events.slice(events.findIndex((e) => e.kind === 'run_resumed'));
    expect(starts(resumed)).toEqual([6]);
    expect(resumed.some((e) => e.kind === 'event_dropped')).toBe(false);

    const vt2 = newVirtualTime();
    vt2.run(() => (events = record(limited(vt2).onScheduler(vt2.scheduler).resume(l))));
    // The in-flight job is re-delivered first; the held one starts when its key's slot frees.
    expect(starts(events.slice(events.findIndex((e) => e.kind === 'run_resumed')))).toEqual([0, 4]);
  });

  it('stops a debounce timer while paused: it keeps its remaining time', () => {
    const vt = newVirtualTime();
    let events: RunEvent[] = [];
    vt.run(() => {
      const run = vt.start(jobs(vt, [['a', 1]], { debounce: { ms: 5 } }));
      events = record(run);
      at(vt, 2, () => void run.pause());
      at(vt, 10, () => run.resume());
    });
    expect(starts(events)).toEqual([13]);
  });

  it('limits a sub-workflow step the same way (rateLimit on .subworkflow)', () => {
    const vt = newVirtualTime();
    const child = workflow('child').step('echo', { accepts: [StartEvent] }, (ev) => StopEvent.of({ result: (ev.data as { n: number }).n }));
    let total = 0;
    const parent = workflow('parent', { timeout: null })
      .step('split', { accepts: [StartEvent] }, () => [1, 2, 3].map((n) => Job.of({ customer: 'a', n })))
      .subworkflow('sub', { accepts: [Job], workflow: child, rateLimit: { limit: 1, interval: 4 } })
      .step('join', { accepts: ['sub.output'] }, () => (++total === 3 ? StopEvent.of({ result: total }) : undefined));
    let events: RunEvent[] = [];
    vt.run(() => (events = record(vt.start(parent))));
    expect(events.flatMap((e) => (e.kind === 'step_started' && e.step === 'sub' ? [e.at] : []))).toEqual([0, 4, 8]);
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 3 });
  });

  it('refuses bad flow options when the step is added', () => {
    expect(() => workflow('w').step('s', { accepts: [StartEvent], rateLimit: { limit: 1, interval: 0 } }, () => undefined)).toThrow(
      expect.objectContaining({ code: 'invalid_workflow', step: 's' }),
    );
    expect(() => workflow('w').step('s', { accepts: [StartEvent], debounce: { ms: -5 } }, () => undefined)).toThrow(
      expect.objectContaining({ code: 'invalid_workflow' }),
    );
  });
});
