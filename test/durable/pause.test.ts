import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type RunEvent } from 'sluice';

const Item = event('Item', z.object({ n: z.number() }));
const Done = event('Done', z.object({ n: z.number() }));

const newScheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

/** start → 3 Items → work (10 frames each, concurrency 1) → Done → collect 3 → Stop */
function pipeline(scheduler: TestScheduler) {
  return workflow('pipeline', { scheduler, timeout: 1_000 })
    .step('split', { accepts: [StartEvent] }, () => [1, 2, 3].map((n) => Item.of({ n })))
    .step('work', { accepts: [Item], concurrency: 1 }, (ev) =>
      scheduler.createColdObservable('----------(a|)', { a: Done.of({ n: ev.data.n * 10 }) }),
    )
    .step('sum', { accepts: [Done], collects: [Done] }, (_ev, ctx) => {
      const all = ctx.collect(Done, 3);
      return all && StopEvent.of({ result: all.reduce((s, e) => s + e.data.n, 0) });
    });
}

describe('pause()', () => {
  it('stops dispatch at once and resolves with an exact snapshot once in-flight steps settled', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const run = pipeline(scheduler).run(null);
      let snapshot: unknown;
      scheduler.schedule(() => {
        void run.pause().then((s) => (snapshot = s));
        expect(run.status).toBe('paused');
      }, 5);
      scheduler.schedule(() => {
        // The first Item finished at frame 10; the held-back Items were not started.
        expect(snapshot).toBeUndefined(); // promise callbacks run after the frame, checked below
      }, 20);
      flush();
      return Promise.resolve().then(() => {
        const snap = snapshot as ReturnType<typeof run.snapshot>;
        expect(snap.status).toBe('paused');
        expect(snap.inFlight).toEqual([]);
        expect(snap.pending.map((e) => [e.event.type, e.to])).toEqual([
          ['Item', 'work'],
          ['Item', 'work'],
          ['Done', undefined],
        ]);
      });
    });
  });

  it('resumes and finishes with the same result as an uninterrupted run', async () => {
    const scheduler = newScheduler();
    let results: unknown[] = [];
    scheduler.run(({ flush }) => {
      const run = pipeline(scheduler).run(null);
      scheduler.schedule(() => void run.pause(), 5);
      scheduler.schedule(() => run.resume(), 100);
      run.result.then((r) => results.push(r));
      flush();
      expect(run.status).toBe('completed');
    });
    await Promise.resolve();
    expect(results).toEqual([60]);
  });

  it('holds at the gate an invocation whose slot frees while paused, and starts it on resume (a run that keeps its pipelines)', () => {
    const scheduler = newScheduler();
    const Noise = event('Noise');
    scheduler.run(({ flush }) => {
      // A pipe step keeps the run's pipelines alive through the pause, so Item 2 reaches the gate itself.
      const run = pipeline(scheduler)
        .pipe('listen', { accepts: [Noise] }, (noise$) => noise$)
        .run(null);
      const started: Array<[number, string]> = [];
      run.events$.subscribe((e: RunEvent) => {
        if (e.kind === 'step_started' && e.step === 'work') started.push([scheduler.now(), e.invocationId]);
      });
      let midway: unknown;
      scheduler.schedule(() => void run.pause(), 5); // Item 1 runs until frame 10
      scheduler.schedule(() => (midway = run.status), 30);
      scheduler.schedule(() => run.resume(), 50);
      flush();
      expect(started.map(([at]) => at)).toEqual([0, 50, 60]); // Item 2 waited from frame 10 to the resume
      expect(midway).toBe('paused');
      expect(run.status).toBe('completed');
    });
  });

  it('does not count paused time against the workflow timeout', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const run = pipeline(scheduler).withOptions({ timeout: 40 }).run(null);
      const kinds: string[] = [];
      run.events$.subscribe((e) => kinds.push(e.kind));
      scheduler.schedule(() => void run.pause().catch(() => {}), 5);
      scheduler.schedule(() => run.resume(), 500);
      flush();
      // 30 frames of work in total, 40 allowed: completes although 500+ frames passed.
      expect(run.status).toBe('completed');
      expect(kinds).toContain('run_paused');
      expect(kinds).toContain('run_resumed');
    });
  });

  it('rejects with not_running once the run has ended', async () => {
    const run = workflow('quick').step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: 1 })).run();
    await run.result;
    await expect(run.pause()).rejects.toMatchObject({ code: 'not_running' });
  });

  it('resolves with a running snapshot when resume() comes first', async () => {
    let release!: () => void;
    const run = workflow('slow')
      .step('s', { accepts: [StartEvent] }, () => new Promise<void>((r) => (release = r)).then(() => StopEvent.of({ result: 2 })))
      .run();
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    const paused = run.pause();
    run.resume();
    const snap = await paused;
    expect(snap.status).toBe('running');
    expect(snap.inFlight.map((i) => i.step)).toEqual(['s']);
    release();
    expect(await run.result).toBe(2);
  });

  it('still fails the run when an in-flight step errors while paused', async () => {
    const scheduler = newScheduler();
    let paused!: Promise<unknown>;
    let status = '';
    scheduler.run(({ flush, cold }) => {
      const run = workflow('failing', { scheduler })
        .step('s', { accepts: [StartEvent] }, () => cold('-----#', {}, new Error('boom')))
        .run();
      scheduler.schedule(() => (paused = run.pause()), 2);
      flush();
      status = run.status;
    });
    expect(status).toBe('failed');
    await expect(paused).rejects.toMatchObject({ code: 'step_failed', step: 's' });
  });
});

describe('snapshot()', () => {
  it('includes pending envelopes and the input events of in-flight steps', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const run = pipeline(scheduler).run(null);
      let snap!: ReturnType<typeof run.snapshot>;
      scheduler.schedule(() => (snap = run.snapshot()), 5);
      flush();
      expect(snap.status).toBe('running');
      expect(snap.inFlight.map((i) => [i.step, i.envelope.event])).toEqual([['work', Item.of({ n: 1 })]]);
      expect(snap.pending.map((e) => [e.to, e.event.data])).toEqual([
        ['work', { n: 2 }],
        ['work', { n: 3 }],
      ]);
      // Only declared fan-in types are buffered: `sum` collects Done, none of which has been routed yet.
      expect(snap.collected).toEqual({});
      expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    });
  });

  it('keeps the final state: a step still running after the end cannot change it', async () => {
    let late!: () => void;
    const outcome: unknown[] = [];
    const run = workflow('late-writer')
      .step('slow', { accepts: [StartEvent] }, async (_ev, ctx) => {
        await new Promise<void>((r) => (late = r));
        try {
          ctx.state.set('written', true);
        } catch (e) {
          outcome.push((e as { code: string }).code);
        }
      })
      .step('fast', { accepts: [StartEvent] }, (_ev, ctx) => {
        ctx.state.set('written', false);
        return StopEvent.of({ result: 'done' });
      })
      .run();
    await run.result;
    late();
    await new Promise((r) => setImmediate(r));
    expect(outcome).toEqual(['not_running']);
    expect(run.snapshot().state).toEqual({ written: false });
  });

  it('after the end returns the final snapshot with its terminal status', async () => {
    const run = workflow('quick').step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: 1 })).run();
    await run.result;
    const events: RunEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    const snap = run.snapshot();
    expect(snap).toMatchObject({ version: 2, status: 'completed', outcome: { result: 1 } });
    expect(snap).not.toHaveProperty('history'); // a snapshot holds live state only (DESIGN §6.1)
    expect(events.at(-1)?.kind).toBe('run_completed');
    expect(snap.seq).toBe(events.at(-1)?.seq);
  });
});

describe('wf.resume(snapshot)', () => {
  it('re-delivers in-flight envelopes first with the same invocationId and continues seq (no store: nothing earlier is replayed)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const wf = pipeline(scheduler);
      const first = wf.run(null);
      let snap!: ReturnType<typeof first.snapshot>;
      scheduler.schedule(() => {
        snap = JSON.parse(JSON.stringify(first.snapshot()));
        first.abort('moved');
      }, 15);
      flush();
      const inflightId = snap.inFlight[0]?.invocationId;
      expect(snap.inFlight).toHaveLength(1);

      const resumed = wf.resume(snap);
      const events: RunEvent[] = [];
      resumed.events$.subscribe((e) => events.push(e));
      flush();
      expect(resumed.status).toBe('completed');
      const fresh = events;
      expect(fresh[0]).toMatchObject({ kind: 'run_resumed', seq: snap.seq + 1 });
      expect(fresh.map((e) => e.seq)).toEqual(fresh.map((_, i) => snap.seq + 1 + i));
      const started = fresh.filter((e) => e.kind === 'step_started');
      expect(started[0]).toMatchObject({ step: 'work', invocationId: inflightId });
      expect(fresh.at(-1)).toMatchObject({ kind: 'run_completed', result: 60 });
    });
  });

  it('resumes a run started without input after a JSON round trip (no undefined in JSON)', async () => {
    const wf = workflow('no-input').step('ask', { accepts: [StartEvent] }, async (ev, ctx) =>
      StopEvent.of({ result: [ev.data, await ctx.requestInput('ok?')] }),
    );
    const first = wf.run();
    await new Promise((r) => setImmediate(r));
    const snap = JSON.parse(JSON.stringify(first.snapshot()));
    first.abort();
    expect('input' in snap).toBe(false);
    const again = wf.resume(snap);
    again.respond(snap.waiting[0].requestId, 'yes');
    expect(await again.result).toEqual([undefined, 'yes']);
  });

  it('rejects a snapshot without version, of another workflow, or of another shape', () => {
    const scheduler = newScheduler();
    const wf = pipeline(scheduler);
    const snap = wf.run(null).snapshot();
    const { version: _v, ...noVersion } = snap;
    expect(() => wf.resume(noVersion)).toThrowError(expect.objectContaining({ code: 'invalid_snapshot' }));
    expect(() => wf.resume({ ...snap, version: 3 })).toThrowError(expect.objectContaining({ code: 'snapshot_version' }));
    expect(() => wf.resume({ ...snap, workflow: 'other' })).toThrowError(expect.objectContaining({ code: 'invalid_snapshot' }));
    expect(() => wf.resume({ ...snap, pending: 'nope' })).toThrowError(expect.objectContaining({ code: 'invalid_snapshot' }));
    const changed = wf.step('extra', { accepts: ['Other'] }, () => undefined);
    expect(() => changed.resume(snap)).toThrowError(expect.objectContaining({ code: 'snapshot_version' }));
    expect(() =>
      changed.resume(snap, {
        migrate: () => {
          throw new Error('cannot upgrade');
        },
      }),
    ).toThrowError(expect.objectContaining({ code: 'snapshot_version', message: expect.stringContaining('cannot upgrade') }));
    expect(() => changed.resume(snap, { migrate: (s) => s })).toThrowError(expect.objectContaining({ code: 'snapshot_version' }));
    const migrated = changed.resume(snap, { migrate: (s) => ({ ...s, workflowVersion: changed.version }) });
    expect(migrated.id).toBe(snap.runId);
    migrated.abort();
  });
});
