import { firstValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, MemoryStore, StartEvent, StopEvent, workflow, type RunEvent, type WorkflowOptions } from 'sluice';
import { makeSnapshotV1 } from '../stores/fixtures.js';

// DESIGN §6.1 and §6.6 "Journal": history lives in the store's journal, never in snapshots; a resumed run's
// events$ replays it (bounded by `replay`, with a gap for what was not loaded), then continues.

const Tick = event('Tick', z.object({ n: z.number() }));

/** start → tick ×upTo → stop; each tick waits for `gate` when given (so a run can be paused mid-way). */
const ticker = (options: WorkflowOptions = {}, upTo = 3) =>
  workflow('ticker', { timeout: null, ...options })
    .step('start', { accepts: [StartEvent] }, () => Tick.of({ n: 1 }))
    .step('tick', { accepts: [Tick] }, async (ev, ctx) => {
      if (ev.data.n === 2 && ctx.state.get('ask') === true) await ctx.requestInput('go on?');
      return ev.data.n >= upTo ? StopEvent.of({ result: ev.data.n }) : Tick.of({ n: ev.data.n + 1 });
    });

const seqs = (events: readonly { seq: number }[]) => events.map((e) => e.seq);
const all = (run: { events$: import('rxjs').Observable<RunEvent> }) => firstValueFrom(run.events$.pipe(toArray()));

/**
 * A run of `ticker` parked on its input request at tick 2, checkpointed to `store` by a writer standing for
 * a process that then dies: after `die()` nothing it does reaches the store. `wf` is the workflow on `store`.
 */
async function parked(store: MemoryStore, options: WorkflowOptions = {}) {
  const writer = store.openWriter();
  let dead = false;
  const save = writer.save.bind(writer);
  writer.save = (snapshot, journal) => (dead ? Promise.resolve() : save(snapshot, journal));
  const run = ticker({ store: writer, ...options }).run(null, { state: { ask: true } });
  while (run.status !== 'waiting') await new Promise((r) => setImmediate(r));
  await run.flush();
  const die = () => {
    dead = true;
    run.abort('the process died');
  };
  return { wf: ticker({ store, ...options }), run, die };
}

describe('the journal', () => {
  it('holds every RunEvent of a run in seq order, written with its checkpoints; snapshots hold none', async () => {
    const store = new MemoryStore();
    const run = ticker({ store }).run(null);
    const seen = await all(run);
    await run.flush();
    const journal = await store.events(run.id);
    expect(seqs(journal)).toEqual(seqs(seen));
    expect(seqs(journal)).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(journal.at(-1)).toMatchObject({ kind: 'run_completed', result: 3 });
    expect(await store.load(run.id)).not.toHaveProperty('history');
  });

  it('with history: false writes no journal, but still checkpoints', async () => {
    const store = new MemoryStore();
    const run = ticker({ store, history: false }).run(null);
    await run.result;
    await run.flush();
    expect(await store.events(run.id)).toEqual([]);
    expect(await store.load(run.id)).toMatchObject({ status: 'completed', outcome: { result: 3 } });
  });

  it('replays the journal to events$ of a run resumed from the store, then continues its numbering', async () => {
    const store = new MemoryStore();
    const { wf, run, die } = await parked(store);
    const stored = await store.events(run.id);
    die();
    const resumed = await wf.resumeFrom(store, run.id);
    resumed.respond(resumed.snapshot().waiting[0]?.requestId as string, 'yes');
    const events = await all(resumed);
    const seq = stored.at(-1)?.seq as number;
    expect(events.slice(0, stored.length)).toEqual(stored);
    expect(events[stored.length]).toMatchObject({ kind: 'run_resumed', seq: seq + 1 });
    expect(seqs(events)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1)); // no seq twice, none missing
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 3 });
  });

  it('gives a follower the journal, then the run\'s own events, when the run ends before the store has answered', async () => {
    const store = new MemoryStore();
    const { run, die } = await parked(store);
    const snapshot = run.snapshot();
    die();
    // The journal arrives only when the test says: the run meanwhile ends (aborted at once).
    let deliver!: () => void;
    const slow = Object.assign(Object.create(store) as MemoryStore, {
      events: (runId: string, options?: { afterSeq?: number }) => new Promise((r) => (deliver = () => r(store.events(runId, options)))),
    });
    const resumed = ticker({ store: slow }).resume(snapshot);
    const followed = all(resumed);
    resumed.abort('done looking');
    // The result settles at the outcome (DESIGN §2 Observables), not when the journal arrives.
    await expect(resumed.result).rejects.toMatchObject({ code: 'aborted' });
    deliver();
    const kinds = (await followed).map((e) => e.kind);
    expect(kinds.filter((k) => k !== 'gap')[0]).toBe('run_started'); // the journal first
    expect(kinds.slice(-2)).toEqual(['run_resumed', 'run_aborted']);
    const numbered = seqs((await followed).filter((e) => e.kind !== 'gap'));
    expect(numbered).toEqual([...numbered].sort((a, b) => a - b)); // in seq order, none twice
    expect(new Set(numbered).size).toBe(numbered.length);
  });

  it('still emits result$ at the outcome in virtual time while the journal is on its way from the store', () => {
    const store = new MemoryStore();
    const stopping = (scheduler: TestScheduler) =>
      workflow('stopping', { scheduler, store, timeout: null }).step('start', { accepts: [StartEvent] }, () =>
        scheduler.createColdObservable('-----(a|)', { a: StopEvent.of({ result: 'done' }) }),
      );
    let snapshot: unknown;
    const first = new TestScheduler((a, b) => expect(a).toEqual(b));
    first.run(({ flush }) => {
      const run = stopping(first).run(null);
      first.schedule(() => void run.pause().catch(() => undefined), 1);
      first.schedule(() => (snapshot = JSON.parse(JSON.stringify(run.snapshot()))), 10); // the StopEvent pending
      flush();
    });
    const second = new TestScheduler((a, b) => expect(a).toEqual(b));
    second.run(({ expectObservable }) => {
      const resumed = stopping(second).resume(snapshot);
      expectObservable(resumed.result$).toBe('(a|)', { a: 'done' }); // at frame 0: store.events() has not answered yet
    });
  });

  it('replays it to wf.resume(snapshot) on a workflow whose store has the run, too', async () => {
    const store = new MemoryStore();
    const { wf, run, die } = await parked(store);
    const snapshot = JSON.parse(JSON.stringify(run.snapshot()));
    die();
    const stored = await store.events(run.id);
    const resumed = wf.resume(snapshot);
    resumed.abort('done looking');
    const events = await all(resumed);
    // The live snapshot is one event ahead of the store: the `checkpoint_saved` of the last save, which only
    // the next save journals. The replay says so with a gap instead of skipping it silently.
    expect(stored.at(-1)?.seq).toBe(snapshot.seq - 1);
    expect(events[0]).toMatchObject({ kind: 'gap', missed: 1 });
    expect(events.slice(1, snapshot.seq)).toEqual(stored);
    expect(events[snapshot.seq]).toMatchObject({ kind: 'run_resumed', seq: snapshot.seq + 1 });
  });

  it('bounds the replay by `replay`, starting with a gap that counts what was not loaded', async () => {
    const store = new MemoryStore();
    const { run, die } = await parked(store);
    const snapshot = run.snapshot();
    die();
    const resumed = await ticker({ store, replay: 4 }).resumeFrom(store, run.id);
    resumed.abort('done looking');
    const events = await all(resumed);
    // 4 kept: the last 2 before the resume (room left after run_resumed and run_aborted), then those 2.
    expect(events[0]).toMatchObject({ kind: 'gap', missed: snapshot.seq - 2 });
    expect(seqs(events.slice(1))).toEqual([snapshot.seq - 1, snapshot.seq, snapshot.seq + 1, snapshot.seq + 2]);
  });

  it('without a store, a resumed run replays nothing from before the resume', async () => {
    const run = ticker().run(null, { state: { ask: true } });
    while (run.status !== 'waiting') await new Promise((r) => setImmediate(r));
    const snapshot = run.snapshot();
    run.abort('moved');
    const resumed = ticker().resume(JSON.parse(JSON.stringify(snapshot)));
    resumed.abort('done looking');
    const events = await all(resumed);
    expect(events.map((e) => [e.kind, e.seq])).toEqual([
      ['run_resumed', snapshot.seq + 1],
      ['run_aborted', snapshot.seq + 2],
    ]);
  });

  it('resumes a version-1 snapshot: its history is replayed and written to the journal with the first checkpoint', async () => {
    const store = new MemoryStore();
    const v1 = makeSnapshotV1({ workflow: 'ticker', runId: 'old', status: 'paused', seq: 3, inFlight: [], pending: [], collected: {}, waiting: [], answered: {} });
    const wf = ticker({ store });
    const resumed = wf.resume({ ...JSON.parse(JSON.stringify(v1)), workflowVersion: wf.version });
    resumed.abort('done looking');
    const events = await all(resumed);
    await resumed.flush();
    expect(events.slice(0, 3)).toEqual(v1.history);
    expect(seqs(await store.events('old'))).toEqual([1, 2, 3, 4, 5]);
  });
});
