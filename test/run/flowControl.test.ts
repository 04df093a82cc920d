import { ignoreElements, Subject, timer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { WorkflowError } from 'sluice';
import type { Envelope } from '../../src/events/envelope.js';
import { FlowClock } from '../../src/run/flowClock.js';
import { StepFlowControl, withDueTimes } from '../../src/run/flowControl.js';
import { Holding } from '../../src/run/holding.js';
import { resolveFlow, type FlowOptions } from '../../src/workflow/flowOptions.js';

// DESIGN §6.3: one step's flow control composed from the flow operators.

const env = (id: string, data: unknown = id.charAt(0), dueAt?: number): Envelope =>
  dueAt === undefined ? { id, event: { type: 'Job', data }, at: 0, to: 'work' } : { id, event: { type: 'Job', data }, at: 0, to: 'work', dueAt };

interface Harness {
  starts: [number, string][];
  dropped: string[];
  holding: Holding<Envelope>;
  clock: FlowClock;
  error: unknown;
}

/** Run the step's pipeline in virtual time: `feed` schedules envelopes; each invocation lasts `frames[id]`. */
function harness(options: FlowOptions<any>, feed: (bus: Subject<Envelope>, ts: TestScheduler, h: Harness) => void, frames: Record<string, number> = {}): Harness {
  const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
  const h: Harness = { starts: [], dropped: [], holding: new Holding(), clock: new FlowClock(ts), error: undefined };
  ts.run(() => {
    const control = new StepFlowControl('work', resolveFlow('wf', 'work', options), {
      clock: h.clock,
      holding: h.holding,
      dropped: (e) => h.dropped.push(e.id),
    });
    const invoke = (e: Envelope): Observable<never> => {
      h.starts.push([ts.now(), e.id]);
      return timer(frames[e.id] ?? 0).pipe(ignoreElements());
    };
    const bus = new Subject<Envelope>();
    bus.pipe(control.pipeline(invoke)).subscribe({ error: (e: unknown) => (h.error = e) });
    feed(bus, ts, h);
  });
  return h;
}

const at = (ts: TestScheduler, frame: number, fn: () => void) => ts.schedule(fn, frame);

describe('StepFlowControl', () => {
  it('counts real starts: a rate slot is taken inside the concurrency slot', () => {
    // concurrency 1, 2 starts per 5 frames; a runs 6 frames, the others none. b and c start when a ends (6):
    // a's slot freed at 5, b's and c's free at 11, so d waits until 11 (released at once, 3 would start at 6).
    const h = harness({ concurrency: 1, rateLimit: { limit: 2, interval: 5 } }, (bus) => ['a1', 'b1', 'c1', 'd1'].forEach((id) => bus.next(env(id))), { a1: 6 });
    expect(h.starts).toEqual([
      [0, 'a1'],
      [6, 'b1'],
      [6, 'c1'],
      [11, 'd1'],
    ]);
  });

  it('limits concurrency per key given by the event', () => {
    const h = harness(
      { concurrency: { limit: 1, key: (ev: { data: string }) => ev.data } },
      (bus) => ['x1', 'x2', 'y1'].forEach((id) => bus.next(env(id, id.charAt(0)))),
      { x1: 3, y1: 3 },
    );
    expect(h.starts).toEqual([
      [0, 'x1'],
      [0, 'y1'],
      [3, 'x2'],
    ]);
  });

  it('debounces per key first, reporting the superseded envelopes, and lists the held ones with due times', () => {
    let listed: Envelope[] = [];
    const outside = env('x0');
    const h = harness({ debounce: { ms: 4, key: (ev: { data: string }) => ev.data } }, (bus, ts, { holding }) => {
      at(ts, 0, () => bus.next(env('x1')));
      at(ts, 1, () => bus.next(env('y1')));
      at(ts, 2, () => bus.next(env('x2')));
      // What a run holds: one envelope no clock decides (behind a limit), and the debounced ones.
      at(ts, 3, () => (listed = withDueTimes([outside, ...holding.list().map((l) => l.value)], holding)));
    });
    expect(h.dropped).toEqual(['x1']);
    expect(h.starts).toEqual([
      [5, 'y1'],
      [6, 'x2'],
    ]);
    expect(listed.map((e) => [e.id, e.dueAt])).toEqual([
      ['x0', undefined],
      ['y1', 5],
      ['x2', 6],
    ]);
  });

  it('starts restored envelopes at the due time they carry', () => {
    const h = harness({ rateLimit: { limit: 1, interval: 10 } }, (bus) => {
      bus.next(env('a1', 'a', 3));
      bus.next(env('a2', 'a', 13));
    });
    expect(h.starts).toEqual([
      [3, 'a1'],
      [13, 'a2'],
    ]);
  });

  it('fails with step_failed naming the step and the option when a key function throws', () => {
    const h = harness(
      {
        concurrency: {
          limit: 1,
          key: () => {
            throw new Error('no customer');
          },
        },
      },
      (bus) => bus.next(env('a1')),
    );
    expect(h.error).toBeInstanceOf(WorkflowError);
    expect(h.error).toMatchObject({ code: 'step_failed', step: 'work', message: "step 'work': the concurrency key function threw: no customer" });
  });

  it('fails when a key function returns something that is not a string', () => {
    const h = harness({ debounce: { ms: 1, key: () => ({}) as never } }, (bus) => bus.next(env('a1')));
    expect(h.error).toMatchObject({ code: 'step_failed', step: 'work' });
    expect((h.error as Error).message).toContain('the debounce key function returned');
  });
});
