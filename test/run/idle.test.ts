import { pino } from 'pino';
import { bufferTime, filter, map } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, WorkflowError, type RunEvent, type RunHandle, type Snapshot } from 'sluice';
import { virtualTime } from 'sluice/testing';
import { isIdle } from '../../src/run/idle.js';

// DESIGN §6.6 "Idle": a run with nothing queued, in flight, waiting or sleeping and no busy pipe step emits
// `run_idle` once (until some work starts again); `onIdle: 'fail'` ends it with `stalled`.

const Item = event('Item', z.object({ n: z.number() }));
const Batch = event('Batch', z.object({ ns: z.array(z.number()) }));

const setup = () => virtualTime((a, b) => expect(a).toEqual(b));

/** `start` emits an Item after 2 frames; `note` takes Items and forgets to return a StopEvent. */
function forgetful(vt: ReturnType<typeof setup>, onIdle?: 'wait' | 'fail') {
  return workflow('forgetful', { timeout: null, ...(onIdle === undefined ? {} : { onIdle }) })
    .step('start', { accepts: [StartEvent] }, vt.marble('--(a|)', { a: Item.of({ n: 1 }) }))
    .step('note', { accepts: [Item] }, () => undefined);
}

function record(run: RunHandle<unknown>): RunEvent[] {
  const seen: RunEvent[] = [];
  run.events$.subscribe((e) => seen.push(e));
  return seen;
}

const idles = (events: RunEvent[]) => events.filter((e) => e.kind === 'run_idle').map((e) => ({ at: e.at, lastStep: (e as { lastStep?: string }).lastStep }));
const json = (snap: Snapshot) => JSON.parse(JSON.stringify(snap)) as Snapshot;

afterEach(() => {
  vi.useRealTimers();
});

describe('run_idle', () => {
  it('is emitted once, naming the last step, while the run stays running; run.send revives it and a later idle is reported again', () => {
    const vt = setup();
    const events: RunEvent[] = [];
    const status: string[] = [];
    vt.run(({ flush }) => {
      const run = vt.start(forgetful(vt));
      run.events$.subscribe((e) => events.push(e));
      vt.scheduler.schedule(() => status.push(run.status), 5);
      vt.scheduler.schedule(() => run.send(Item.of({ n: 2 })), 10);
      vt.scheduler.schedule(() => status.push(run.status), 20);
      flush();
    });
    expect(idles(events)).toEqual([
      { at: 2, lastStep: 'note' },
      { at: 10, lastStep: 'note' },
    ]);
    expect(status).toEqual(['running', 'running']);
    // The first report follows the last step's completion; nothing else is emitted while idle.
    const kinds = events.map((e) => e.kind);
    expect(kinds.slice(kinds.indexOf('run_idle') - 1, kinds.indexOf('run_idle') + 2)).toEqual(['step_completed', 'run_idle', 'event_routed']);
    expect(kinds.at(-1)).toBe('run_idle');
  });

  it("with onIdle: 'fail' ends the run with `stalled` right after run_idle", () => {
    const vt = setup();
    let events: RunEvent[] = [];
    let error: unknown;
    let run: RunHandle<unknown> | undefined;
    vt.run(({ flush }) => {
      run = vt.start(forgetful(vt, 'fail'));
      events = record(run);
      run.result$.subscribe({ error: (e: unknown) => (error = e) });
      flush();
    });
    expect(WorkflowError.is(error) && error.code).toBe('stalled');
    expect((error as WorkflowError).details).toEqual({ lastStep: 'note' });
    expect((error as WorkflowError).message).toContain("forget to return StopEvent");
    expect(run?.status).toBe('failed');
    expect(events.slice(-2).map((e) => [e.kind, e.at])).toEqual([
      ['run_idle', 2],
      ['run_failed', 2],
    ]);
    expect(events.at(-1)).toMatchObject({ error: { code: 'stalled' } });
  });

  it('is not reported for a run that completes, however its steps are spread in time', () => {
    const vt = setup();
    let events: RunEvent[] = [];
    vt.run(({ flush }) => {
      const wf = workflow('fine', { onIdle: 'fail' })
        .step('start', { accepts: [StartEvent] }, vt.marble('--a---b|', { a: Item.of({ n: 1 }), b: Item.of({ n: 2 }) }))
        .step('count', { accepts: [Item] }, (ev) => (ev.data.n === 2 ? vt.marble('---(s|)', { s: StopEvent.of({ result: 'done' }) })() : undefined));
      events = record(vt.start(wf));
      flush();
    });
    expect(events.map((e) => e.kind)).not.toContain('run_idle');
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 'done', at: 9 });
  });

  it('is not mistaken mid-dispatch, when the first of two steps taking an event completes at once', () => {
    const vt = setup();
    let events: RunEvent[] = [];
    vt.run(({ flush }) => {
      const wf = workflow('fan-out', { onIdle: 'fail' })
        .step('start', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
        .step('ignore', { accepts: [Item] }, () => undefined)
        .step('finish', { accepts: [Item] }, () => StopEvent.of({ result: 'ok' }));
      events = record(vt.start(wf));
      flush();
    });
    expect(events.map((e) => e.kind)).not.toContain('run_idle');
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 'ok' });
  });

  it('waits for a pipe step holding events in a bufferTime until its buffer flushes', () => {
    const vt = setup();
    let events: RunEvent[] = [];
    vt.run(({ flush }) => {
      const wf = workflow('batcher', { onIdle: 'fail' })
        .step('items', { accepts: [StartEvent] }, vt.marble('--a-b|', { a: Item.of({ n: 1 }), b: Item.of({ n: 2 }) }))
        .pipe('batch', { accepts: [Item] }, (items$) =>
          items$.pipe(
            bufferTime(10, vt.scheduler),
            filter((b) => b.length > 0),
            map((b) => Batch.of({ ns: b.map((i) => i.data.n) })),
          ),
        )
        .step('save', { accepts: [Batch] }, () => undefined);
      events = record(vt.start(wf));
      flush();
    });
    // `items` completed at 5 with both Items inside the buffer: not idle until the batch at 10 went nowhere.
    expect(idles(events)).toEqual([{ at: 10, lastStep: 'save' }]);
    expect(events.at(-1)).toMatchObject({ kind: 'run_failed', at: 10, error: { code: 'stalled' } });
  });

  it('is not reported while a debounced event waits for its due time', () => {
    const vt = setup();
    let events: RunEvent[] = [];
    vt.run(({ flush }) => {
      const wf = workflow('debounced', { onIdle: 'fail' })
        .step('start', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
        .step('later', { accepts: [Item], debounce: { ms: 7 } }, () => undefined);
      events = record(vt.start(wf));
      flush();
    });
    expect(idles(events)).toEqual([{ at: 7, lastStep: 'later' }]);
  });

  it('is not reported while a rate limit holds events back for their window', () => {
    const vt = setup();
    let events: RunEvent[] = [];
    vt.run(({ flush }) => {
      const wf = workflow('rated', { onIdle: 'fail' })
        .step('start', { accepts: [StartEvent] }, () => [1, 2, 3].map((n) => Item.of({ n })))
        .step('call', { accepts: [Item], rateLimit: { limit: 1, interval: 10 } }, () => undefined);
      events = record(vt.start(wf));
      flush();
    });
    // Starts at 0, 10 and 20; only after the third is the run idle.
    expect(events.filter((e) => e.kind === 'step_started' && e.step === 'call').map((e) => e.at)).toEqual([0, 10, 20]);
    expect(idles(events)).toEqual([{ at: 20, lastStep: 'call' }]);
  });

  it('is not reported while a step sleeps or waits for input; after the wait it is', async () => {
    vi.useFakeTimers({ now: 0 });
    const wf = workflow('napper', { onIdle: 'fail', timeout: null })
      .step('nap', { accepts: [StartEvent] }, async (_ev, ctx) => {
        await ctx.sleep(500);
        await ctx.requestInput('go on?');
        return undefined;
      });
    const run = wf.run();
    const events = record(run);
    await vi.advanceTimersByTimeAsync(499);
    expect(run.status).toBe('waiting');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(run.status).toBe('waiting'); // now on the input request
    expect(idles(events)).toEqual([]);
    const request = events.find((e) => e.kind === 'input_requested');
    run.respond((request as { requestId: string }).requestId, 'yes');
    await vi.advanceTimersByTimeAsync(0);
    expect(idles(events)).toEqual([{ at: 10_499, lastStep: 'nap' }]);
    await expect(run.result).rejects.toMatchObject({ code: 'stalled' });
  });

  it('behaves the same in a run resumed from a snapshot, mid-sleep or already idle', async () => {
    vi.useFakeTimers({ now: 0 });
    const wf = (onIdle: 'wait' | 'fail') =>
      workflow('resumed', { onIdle, timeout: null })
        .step('start', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
        .step('nap', { accepts: [Item] }, async (_ev, ctx) => {
          await ctx.sleep(100);
        });
    const sinceResume = (events: RunEvent[]) => events.slice(events.findIndex((e) => e.kind === 'run_resumed'));
    // Resumed mid-sleep: not idle until the sleep (due at 100) is over, then idle and, under 'fail', stalled.
    const first = wf('wait').run();
    await vi.advanceTimersByTimeAsync(50);
    const sleeping = json(first.snapshot());
    first.abort();
    const fromSleep = wf('fail').resume(sleeping);
    const sleepEvents = record(fromSleep);
    await vi.advanceTimersByTimeAsync(40);
    expect(fromSleep.status).toBe('waiting');
    expect(idles(sinceResume(sleepEvents))).toEqual([]);
    await vi.advanceTimersByTimeAsync(10);
    expect(idles(sinceResume(sleepEvents))).toEqual([{ at: 100, lastStep: 'nap' }]);
    await expect(fromSleep.result).rejects.toMatchObject({ code: 'stalled' });

    // Resumed already idle: reported again right after run_resumed, and the run stays open.
    const second = wf('wait').run();
    const secondEvents = record(second);
    await vi.advanceTimersByTimeAsync(200);
    expect(idles(secondEvents)).toEqual([{ at: 200, lastStep: 'nap' }]);
    const idle = json(second.snapshot());
    second.abort();
    const fromIdle = wf('wait').resume(idle);
    const idleEvents = record(fromIdle);
    await vi.advanceTimersByTimeAsync(0);
    expect(sinceResume(idleEvents).map((e) => e.kind)).toEqual(['run_resumed', 'run_idle']);
    expect(fromIdle.status).toBe('running');
    fromIdle.abort();
  });

  it('is logged as a warning naming the step and the likely cause', () => {
    const vt = setup();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn', base: null, timestamp: false }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    vt.run(({ flush }) => {
      const wf = workflow('logged', { timeout: null, logger })
        .step('start', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
        .step('note', { accepts: [Item] }, () => undefined);
      vt.start(wf, undefined, { runId: 'r-idle' });
      flush();
    });
    expect(lines).toEqual([
      {
        level: 40,
        msg: "run idle: nothing is queued, running, waiting or sleeping (step 'note' completed without output); did a step forget to return a StopEvent?",
        runId: 'r-idle',
        workflow: 'logged',
        seq: expect.any(Number),
        kind: 'run_idle',
        step: 'note',
      },
    ]);
  });

  it("refuses an onIdle other than 'wait' or 'fail' with invalid_workflow", () => {
    const build = () => workflow('bad', { onIdle: 'never' as 'wait' }).step('s', { accepts: [StartEvent] }, () => undefined).run();
    expect(build).toThrow(expect.objectContaining({ code: 'invalid_workflow', message: expect.stringContaining("onIdle must be 'wait' or 'fail', got \"never\"") }));
  });
});

describe('isIdle', () => {
  const quiet = { dispatching: false, holding: false, queued: 0, held: 0, inFlight: 0, waits: 0 };
  it('needs every count at zero, no dispatch under way, no pause or due outcome, and no busy pipe step', () => {
    expect(isIdle(quiet, false)).toBe(true);
    expect(isIdle(quiet, true)).toBe(false);
    for (const key of ['queued', 'held', 'inFlight', 'waits'] as const) expect(isIdle({ ...quiet, [key]: 1 }, false)).toBe(false);
    expect(isIdle({ ...quiet, dispatching: true }, false)).toBe(false);
    expect(isIdle({ ...quiet, holding: true }, false)).toBe(false);
  });
});
