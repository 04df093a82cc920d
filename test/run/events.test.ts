import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  event,
  StartEvent,
  StopEvent,
  workflow,
  WorkflowError,
  type RunEvent,
  type RunHandle,
  type RunStatus,
  type StepContext,
} from 'sluice';

// DESIGN §2 "RunHandle" (events$, status$), "RunEvent", "RxJS interop" (run$), §5 "Observables", "Replay", "Start".

const Item = event('Item', z.object({ n: z.number() }));

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const historyOf = (run: RunHandle<unknown>): Promise<RunEvent[]> => firstValueFrom(run.events$.pipe(toArray()));

/** Start → three Items → Stop: 1 run_started + 5 event_routed + 4×(started, completed) + 1 run_completed = 15 RunEvents. */
const threeItems = (name = 'three-items') =>
  workflow(name)
    .step('emit', { accepts: [StartEvent] }, () => [Item.of({ n: 1 }), Item.of({ n: 2 }), Item.of({ n: 3 })])
    .step('take', { accepts: [Item] }, (ev) => (ev.data.n === 3 ? StopEvent.of({ result: 'done' }) : undefined));

describe('run start', () => {
  it('never dispatches synchronously inside run()', async () => {
    let called = false;
    const wf = workflow('async-start').step('s', { accepts: [StartEvent] }, () => {
      called = true;
      return StopEvent.of({ result: 1 });
    });
    const run = wf.run();
    expect(called).toBe(false);
    expect(run.status).toBe('running');
    await run.result;
    expect(called).toBe(true);
  });

  it('lets a subscriber attached right after run() see every event, from seq 1', async () => {
    const wf = threeItems();
    const run = wf.run('input');
    const live: RunEvent[] = [];
    let sawLiveBeforeDispatch = false;
    run.events$.subscribe((e) => {
      if (e.kind === 'event_routed' && e.event.type === 'StartEvent') sawLiveBeforeDispatch = true;
      live.push(e);
    });
    await run.result;
    expect(sawLiveBeforeDispatch).toBe(true);
    expect(live[0]).toMatchObject({ kind: 'run_started', seq: 1, runId: run.id, input: 'input' });
    expect(live[1]).toMatchObject({ kind: 'event_routed', seq: 2, event: { type: 'StartEvent', data: 'input' }, steps: ['emit'] });
    expect(live.map((e) => e.seq)).toEqual(live.map((_e, i) => i + 1));
  });

  it('dispatches the first event on the injected scheduler', () => {
    const ts = newScheduler();
    const startedAt: number[] = [];
    ts.run(() => {
      const wf = workflow('scheduled-start', { scheduler: ts }).step('s', { accepts: [StartEvent] }, () => {
        startedAt.push(ts.now());
        return StopEvent.of({});
      });
      wf.run();
      expect(startedAt).toEqual([]);
    });
    expect(startedAt).toEqual([0]);
  });
});

describe('events$', () => {
  it('replays the whole run to a subscriber attached after it ended, in seq order, then completes', async () => {
    const run = threeItems().run();
    const live: RunEvent[] = [];
    run.events$.subscribe((e) => live.push(e));
    await run.result;

    let completed = false;
    const late: RunEvent[] = [];
    run.events$.subscribe({ next: (e) => late.push(e), complete: () => (completed = true) });
    expect(completed).toBe(true);
    expect(late).toEqual(live);
    expect(late).toHaveLength(15);
    expect(late.map((e) => e.seq)).toEqual(Array.from({ length: 15 }, (_v, i) => i + 1));
    expect(late[0]?.kind).toBe('run_started');
    expect(late.at(-1)).toMatchObject({ kind: 'run_completed', result: 'done' });
  });

  it('stamps every RunEvent with the runId and an epoch-ms at, as plain JSON', async () => {
    const before = Date.now();
    const run = threeItems().run();
    await run.result;
    const after = Date.now();
    const events = await historyOf(run);
    for (const e of events) {
      expect(e.runId).toBe(run.id);
      expect(e.at).toBeGreaterThanOrEqual(before);
      expect(e.at).toBeLessThanOrEqual(after);
    }
    expect(JSON.parse(JSON.stringify(events))).toEqual(events);
  });

  it('completes for live subscribers when the run ends', async () => {
    const run = threeItems().run();
    const done = firstValueFrom(run.events$.pipe(toArray()));
    const events = await done;
    expect(events.at(-1)?.kind).toBe('run_completed');
  });

  it('bounds the replay with the replay option and starts with a gap saying how many were missed', async () => {
    const run = threeItems().withOptions({ replay: 4 }).run();
    const live: RunEvent[] = [];
    run.events$.subscribe((e) => live.push(e));
    await run.result;
    expect(live).toHaveLength(15);

    const late = await historyOf(run);
    expect(late).toHaveLength(5);
    expect(late[0]).toMatchObject({ kind: 'gap', missed: 11, runId: run.id });
    expect(late.slice(1)).toEqual(live.slice(11));
    expect(late.slice(1).map((e) => e.seq)).toEqual([12, 13, 14, 15]);
  });

  it('sends no gap when nothing was dropped', async () => {
    const run = threeItems().withOptions({ replay: 15 }).run();
    await run.result;
    const late = await historyOf(run);
    expect(late.map((e) => e.kind)).not.toContain('gap');
    expect(late).toHaveLength(15);
  });

  it('lets the run option replay override the workflow option', async () => {
    const run = threeItems().withOptions({ replay: 100 }).run(undefined, { replay: 2 });
    const live: RunEvent[] = [];
    run.events$.subscribe((e) => live.push(e));
    await run.result;
    const late = await historyOf(run);
    expect(late).toHaveLength(3);
    expect(late[0]).toMatchObject({ kind: 'gap', missed: 13 });
    expect(late.slice(1)).toEqual(live.slice(13));
  });

  it('gives a subscriber attached mid-run the replay, then the live events without duplicates', async () => {
    let release: (() => void) | undefined;
    const wf = workflow('mid-run')
      .step('emit', { accepts: [StartEvent] }, () => new Promise<ReturnType<typeof Item.of>>((r) => (release = () => r(Item.of({ n: 1 })))))
      .step('take', { accepts: [Item] }, () => StopEvent.of({ result: 'ok' }));
    const run = wf.run();
    await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'step_started')));
    const mid: RunEvent[] = [];
    run.events$.subscribe((e) => mid.push(e));
    expect(mid.map((e) => e.kind)).toEqual(['run_started', 'event_routed', 'step_started']);
    release?.();
    await run.result;
    expect(mid.map((e) => e.seq)).toEqual(mid.map((_e, i) => i + 1));
    expect(mid.at(-1)?.kind).toBe('run_completed');
  });

  it('reports StopEvent in event_routed with steps []', async () => {
    const run = threeItems().run();
    await run.result;
    const routed = (await historyOf(run)).filter((e) => e.kind === 'event_routed');
    expect(routed.map((e) => [(e as { event: { type: string } }).event.type, (e as { steps: string[] }).steps])).toEqual([
      ['StartEvent', ['emit']],
      ['Item', ['take']],
      ['Item', ['take']],
      ['Item', ['take']],
      ['StopEvent', []],
    ]);
  });

  it('puts run_failed with the error’s code, message and step last', async () => {
    const wf = workflow('failed-events').step('bad', { accepts: [StartEvent] }, () => {
      throw new Error('nope');
    });
    const run = wf.run();
    await run.result.catch(() => undefined);
    const last = (await historyOf(run)).at(-1);
    expect(last).toMatchObject({ kind: 'run_failed', error: { code: 'step_failed', step: 'bad' } });
    expect((last as { error: { message: unknown } }).error.message).toEqual(expect.any(String));
  });
});

describe('status$', () => {
  it('emits the current status on subscribe and completes when the run ends', async () => {
    const run = threeItems().run();
    const seen: RunStatus[] = [];
    let completed = false;
    run.status$.subscribe({ next: (s) => seen.push(s), complete: () => (completed = true) });
    expect(seen).toEqual(['running']);
    await run.result;
    expect(seen).toEqual(['running', 'completed']);
    expect(completed).toBe(true);
  });

  it('ends with failed for a failing run', async () => {
    const wf = workflow('status-failed').step('bad', { accepts: [StartEvent] }, () => {
      throw new Error('x');
    });
    const run = wf.run();
    const seen = firstValueFrom(run.status$.pipe(toArray()));
    await run.result.catch(() => undefined);
    await expect(seen).resolves.toEqual(['running', 'failed']);
  });

  it('emits the terminal status, then completes, for a subscriber attached after the end', async () => {
    const run = threeItems().run();
    await run.result;
    const seen: RunStatus[] = [];
    let completed = false;
    run.status$.subscribe({ next: (s) => seen.push(s), complete: () => (completed = true) });
    expect(seen).toEqual(['completed']);
    expect(completed).toBe(true);
  });

  it('agrees with the status property', async () => {
    const run = threeItems().run();
    expect(run.status).toBe('running');
    await run.result;
    expect(run.status).toBe('completed');
  });
});

describe('run$', () => {
  it('starts a run only when subscribed', async () => {
    let calls = 0;
    const wf = workflow('cold').step('s', { accepts: [StartEvent] }, (ev) => {
      calls++;
      return StopEvent.of({ result: ev.data });
    });
    const run$ = wf.run$('x');
    await Promise.resolve();
    expect(calls).toBe(0);
    const events = await firstValueFrom(run$.pipe(toArray()));
    expect(calls).toBe(1);
    expect(events[0]).toMatchObject({ kind: 'run_started', seq: 1, input: 'x' });
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 'x' });
    const again = await firstValueFrom(run$.pipe(toArray()));
    expect(calls).toBe(2);
    expect(again[0]?.runId).not.toBe(events[0]?.runId);
  });

  it('emits run_failed and then errors with the WorkflowError', async () => {
    const wf = workflow('run$-fails').step('bad', { accepts: [StartEvent] }, () => {
      throw new Error('nope');
    });
    const events: RunEvent[] = [];
    const error = await new Promise<unknown>((resolve) =>
      wf.run$().subscribe({ next: (e) => events.push(e), error: resolve, complete: () => resolve('completed') }),
    );
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error).toMatchObject({ code: 'step_failed', step: 'bad' });
    expect(events.at(-1)).toMatchObject({ kind: 'run_failed', error: { code: 'step_failed' } });
  });

  it('aborts the run when the subscriber unsubscribes', async () => {
    let ctx: StepContext | undefined;
    const wf = workflow('run$-unsubscribe').step('waits', { accepts: [StartEvent] }, (_ev, c) => {
      ctx = c;
      return new Promise<undefined>(() => {});
    });
    const seen: RunEvent[] = [];
    const started = new Promise<void>((resolve) => {
      const sub = wf.run$().subscribe((e) => {
        seen.push(e);
        if (e.kind === 'step_started') {
          resolve();
          queueMicrotask(() => sub.unsubscribe());
        }
      });
    });
    await started;
    await Promise.resolve();
    await Promise.resolve();
    expect(ctx?.signal.aborted).toBe(true);
    expect(seen.map((e) => e.kind)).toEqual(['run_started', 'event_routed', 'step_started']);
  });

  it('emits in virtual time under a TestScheduler', () => {
    const ts = newScheduler();
    const kindsAt: [string, number][] = [];
    ts.run(({ cold }) => {
      const wf = workflow('run$-virtual', { scheduler: ts }).step('s', { accepts: [StartEvent] }, () =>
        cold('--(a|)', { a: StopEvent.of({ result: 1 }) }),
      );
      wf.run$()
        .pipe(take(10))
        .subscribe((e) => kindsAt.push([e.kind, ts.now()]));
    });
    expect(kindsAt).toEqual([
      ['run_started', 0],
      ['event_routed', 0],
      ['step_started', 0],
      ['event_routed', 2],
      ['step_completed', 2],
      ['run_completed', 2],
    ]);
  });
});
