import { bufferTime, filter, map, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type RunEvent, type RunHandle, type Snapshot, type WorkflowError } from 'sluice';
import { virtualTime } from 'sluice/testing';

const Topic = event('Topic', z.object({ name: z.string() }));
const Notes = event('Notes', z.object({ text: z.string() }));

const setup = () => virtualTime((a, b) => expect(a).toEqual(b));

/** A child that takes `frames` frames and returns `prefix + input`. */
function child(vt: ReturnType<typeof setup>, name: string, frames: number, prefix = '') {
  return workflow(name).step('work', { accepts: [StartEvent] }, (ev) =>
    vt.scheduler.createColdObservable(`${'-'.repeat(frames)}(s|)`, { s: StopEvent.of({ result: `${prefix}${String(ev.data)}` }) }),
  );
}

const failingChild = (vt: ReturnType<typeof setup>, frames: number) =>
  workflow('failing-child').step('work', { accepts: [StartEvent] }, () =>
    vt.scheduler.createColdObservable(`${'-'.repeat(frames)}#`, {}, new Error('child broke')),
  );

describe('.subworkflow', () => {
  it('runs the child per event and routes `<name>.output` with its result; child events are tagged', () => {
    const vt = setup();
    const parent = workflow('parent')
      .step('start', { accepts: [StartEvent] }, () => Topic.of({ name: 'rx' }))
      .subworkflow('research', { accepts: [Topic], workflow: child(vt, 'researcher', 3, 'notes on '), input: (ev) => ev.data.name })
      .step('finish', { accepts: ['research.output'] }, (ev) => StopEvent.of({ result: ev.data }));
    const events: RunEvent[] = [];
    let result: unknown;
    vt.run(({ flush }) => {
      const run = vt.start(parent);
      run.events$.subscribe((e) => events.push(e));
      run.result$.subscribe((r) => (result = r));
      flush();
    });
    expect(result).toBe('notes on rx');
    const tagged = events.filter((e) => e.kind === 'child');
    expect(tagged.map((e) => (e.kind === 'child' ? [e.step, e.event.kind] : []))).toEqual([
      ['research', 'run_started'],
      ['research', 'event_routed'],
      ['research', 'step_started'],
      ['research', 'event_routed'], // an Observable step's StopEvent is routed as it comes…
      ['research', 'step_completed'], // …then the step completes in the same frame
      ['research', 'run_completed'],
    ]);
    const childIds = new Set(tagged.map((e) => (e.kind === 'child' ? e.childRunId : '')));
    expect(childIds.size).toBe(1);
  });

  it('maps the result with `output`', () => {
    const vt = setup();
    const parent = workflow('parent')
      .subworkflow('research', { accepts: [StartEvent], workflow: child(vt, 'c', 1, '>'), output: (r: string) => Notes.of({ text: r }) })
      .step('finish', { accepts: [Notes] }, (ev) => StopEvent.of({ result: ev.data.text }));
    let result: unknown;
    vt.run(({ flush }) => {
      vt.start(parent, 'x').result$.subscribe((r) => (result = r));
      flush();
    });
    expect(result).toBe('>x');
  });

  it('fails subworkflow_failed with the child’s error as cause', () => {
    const vt = setup();
    const parent = workflow('parent').subworkflow('sub', { accepts: [StartEvent], workflow: failingChild(vt, 2) });
    let error: any;
    vt.run(({ flush }) => {
      vt.start(parent).result$.subscribe({ error: (e) => (error = e) });
      flush();
    });
    expect(error.code).toBe('subworkflow_failed');
    expect(error.step).toBe('sub');
    expect(error.cause.code).toBe('step_failed');
    expect(error.cause.cause.message).toBe('child broke');
  });

  it('times out with step_timeout and aborts the child; retries re-run the child', () => {
    const vt = setup();
    const childEnds: string[] = [];
    const parent = workflow('parent').subworkflow('sub', {
      accepts: [StartEvent],
      workflow: child(vt, 'slow', 10),
      timeout: 4,
      retry: { retries: 1, delay: 2 },
    });
    let error: any;
    const retried: unknown[] = [];
    vt.run(({ flush }) => {
      const run = vt.start(parent);
      run.events$.subscribe((e) => {
        if (e.kind === 'child' && e.event.kind.startsWith('run_') && e.event.kind !== 'run_started') childEnds.push(`${e.at}:${e.event.kind}`);
        if (e.kind === 'step_retried') retried.push([e.at, e.step, e.attempt, e.error.code]);
      });
      run.result$.subscribe({ error: (e) => (error = e) });
      flush();
    });
    expect(error.code).toBe('step_timeout');
    // Each attempt's child is aborted at its deadline: 4, then 4 + 2 (delay) + 4.
    expect(childEnds).toEqual(['4:run_aborted', '10:run_aborted']);
    expect(retried).toEqual([[4, 'sub', 1, 'step_timeout']]);
  });

  it('a paused parent pauses its running child, snapshots it, and a resumed parent continues the child', async () => {
    const vt = setup();
    const calls: number[] = [];
    const childWf = workflow('counter')
      .step('a', { accepts: [StartEvent] }, (ev) => {
        calls.push(vt.scheduler.now());
        return vt.scheduler.createColdObservable('-----(t|)', { t: Topic.of({ name: String(ev.data) }) });
      })
      .step('b', { accepts: [Topic] }, (ev) =>
        vt.scheduler.createColdObservable('-----(s|)', { s: StopEvent.of({ result: `${ev.data.name}!` }) }),
      );
    const parent = workflow('parent')
      .subworkflow('sub', { accepts: [StartEvent], workflow: childWf })
      .step('done', { accepts: ['sub.output'] }, (ev) => StopEvent.of({ result: ev.data }));
    let snap: any;
    let result: unknown;
    vt.run(({ flush }) => {
      const first = vt.start(parent, 'go');
      vt.scheduler.schedule(() => void first.pause().then((s) => (snap = JSON.parse(JSON.stringify(s)))), 2);
      flush();
      expect(first.status).toBe('paused');
    });
    await Promise.resolve();
    expect(snap.status).toBe('paused');
    expect(snap.inFlight.map((i: any) => i.step)).toEqual(['sub']);
    const [key, childSnap] = Object.entries(snap.children)[0] as [string, any];
    expect(key).toBe(`${snap.inFlight[0].invocationId}#child`);
    expect(childSnap.status).toBe('paused');
    expect(childSnap.pending.map((e: any) => e.event.type)).toEqual(['Topic']);

    vt.run(({ flush }) => {
      const resumed = parent.withOptions({ scheduler: vt.scheduler }).resume(snap);
      resumed.result$.subscribe((r) => (result = r));
      flush();
    });
    expect(result).toBe('go!');
    expect(calls).toEqual([0]); // the child's first step did not run again
  });

  it('aborting the parent aborts the child: its own status is aborted and its step signal fires', () => {
    const vt = setup();
    let signal: AbortSignal | undefined;
    const slow = workflow('slow').step('work', { accepts: [StartEvent] }, (ev, ctx) => {
      signal = ctx.signal;
      return vt.scheduler.createColdObservable('----------(s|)', { s: StopEvent.of({ result: String(ev.data) }) });
    });
    // Keep the child's own handle: the parent forwards no child events once it has ended.
    let childRun: RunHandle | undefined;
    const watched = {
      name: slow.name,
      onScheduler: (scheduler: SchedulerLike) => {
        const wf = slow.onScheduler(scheduler);
        return { run: (input?: unknown) => (childRun = wf.run(input)), resume: (snap: Snapshot) => (childRun = wf.resume(snap)) };
      },
    };
    const parent = workflow('parent').subworkflow('sub', { accepts: [StartEvent], workflow: watched });
    vt.run(({ flush }) => {
      const run = vt.start(parent);
      vt.scheduler.schedule(() => run.abort('stop'), 3);
      flush();
      expect(run.status).toBe('aborted');
    });
    expect(childRun?.status).toBe('aborted');
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as WorkflowError | undefined)?.code).toBe('aborted');
  });
});

describe('.parallel', () => {
  it("'all' emits one event per branch in declaration order when the slowest finishes", () => {
    const vt = setup();
    const parent = workflow('parent')
      .parallel('quotes', {
        accepts: [StartEvent],
        join: 'all',
        branches: [
          { workflow: child(vt, 'slow', 5, 'slow:') },
          { workflow: child(vt, 'fast', 1, 'fast:'), output: (r: string) => Notes.of({ text: r }) },
        ],
      })
      .step('gather', { accepts: ['quotes.output', Notes] }, (ev, ctx) => {
        ctx.state.update<string[]>('seen', (s = []) => [...s, `${vt.scheduler.now()}:${ev.type}`]);
        return ctx.state.get<string[]>('seen')?.length === 2 ? StopEvent.of({ result: ctx.state.get('seen') }) : undefined;
      });
    let result: unknown;
    vt.run(({ flush }) => {
      vt.start(parent, 'q').result$.subscribe((r) => (result = r));
      flush();
    });
    expect(result).toEqual(['5:quotes.output', '5:Notes']);
  });

  it("'all' fails subworkflow_failed on the first failure and aborts the rest", () => {
    const vt = setup();
    const parent = workflow('parent').parallel('p', {
      accepts: [StartEvent],
      join: 'all',
      branches: [{ workflow: child(vt, 'slow', 9) }, { workflow: failingChild(vt, 3) }],
    });
    let error: any;
    let at = -1;
    vt.run(({ flush }) => {
      vt.start(parent).result$.subscribe({ error: (e) => ((error = e), (at = vt.scheduler.now())) });
      flush();
    });
    expect([error.code, at]).toEqual(['subworkflow_failed', 3]);
  });

  it("'first' takes the first success and aborts the others; fails only when all fail", () => {
    const vt = setup();
    const ok = workflow('parent')
      .parallel('p', {
        accepts: [StartEvent],
        join: 'first',
        branches: [{ workflow: failingChild(vt, 1) }, { workflow: child(vt, 'b', 4, 'b:') }, { workflow: child(vt, 'c', 6, 'c:') }],
      })
      .step('done', { accepts: ['p.output'] }, (ev) => StopEvent.of({ result: `${vt.scheduler.now()}:${String(ev.data)}` }));
    const allFail = workflow('parent').parallel('p', {
      accepts: [StartEvent],
      join: 'first',
      branches: [{ workflow: failingChild(vt, 1) }, { workflow: failingChild(vt, 2) }],
    });
    let result: unknown;
    let error: any;
    vt.run(({ flush }) => {
      vt.start(ok, 'x').result$.subscribe((r) => (result = r));
      vt.start(allFail).result$.subscribe({ error: (e) => (error = e) });
      flush();
    });
    expect(result).toBe('4:b:x');
    expect(error.code).toBe('subworkflow_failed');
    expect(error.cause.code).toBe('subworkflow_failed'); // the last branch's failure
    expect(error.cause.details.branch).toBe('1');
  });
});

describe('.pipe', () => {
  it('is subscribed when the run starts, so bufferTime windows count from the start', () => {
    const vt = setup();
    const Item = event('Item', z.object({ n: z.number() }));
    const Batch = event('Batch', z.object({ ns: z.array(z.number()) }));
    const wf = workflow('batcher')
      .step('items', { accepts: [StartEvent] }, vt.marble('--a-b|', { a: Item.of({ n: 1 }), b: Item.of({ n: 2 }) }))
      .pipe('batch', { accepts: [Item] }, (items$) =>
        items$.pipe(
          bufferTime(5, vt.scheduler),
          filter((b) => b.length > 0),
          map((b) => Batch.of({ ns: b.map((i) => i.data.n) })),
        ),
      )
      .step('done', { accepts: [Batch] }, (ev) => StopEvent.of({ result: `${vt.scheduler.now()}:${ev.data.ns.join(',')}` }));
    let result: unknown;
    vt.run(({ flush }) => {
      vt.start(wf).result$.subscribe((r) => (result = r));
      flush();
    });
    expect(result).toBe('5:1,2');
  });
});
