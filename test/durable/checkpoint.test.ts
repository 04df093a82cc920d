import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  event,
  MemoryStore,
  StartEvent,
  StopEvent,
  workflow,
  type CheckpointStore,
  type RunEvent,
  type Snapshot,
} from 'sluice';

const Step = event('Step', z.object({ n: z.number() }));

const counter = (store: CheckpointStore, upTo = 3) =>
  workflow('counter', { store })
    .step('start', { accepts: [StartEvent] }, () => Step.of({ n: 1 }))
    .step('count', { accepts: [Step] }, async (ev) => {
      await new Promise((r) => setImmediate(r)); // a real I/O turn, so saves finish between steps
      return ev.data.n >= upTo ? StopEvent.of({ result: ev.data.n }) : Step.of({ n: ev.data.n + 1 });
    });

/** A store whose saves fail while `down` is set; it records each save's snapshot and journal delta. */
class FlakyStore extends MemoryStore {
  down = false;
  saves: { snapshot: Snapshot; journal: readonly RunEvent[] }[] = [];
  override async save(snapshot: Snapshot, journal: readonly RunEvent[] = []): Promise<void> {
    if (this.down) throw new Error('connection refused');
    this.saves.push({ snapshot, journal });
    return super.save(snapshot, journal);
  }
}

describe('checkpointing', () => {
  it('saves after dispatches and a terminal checkpoint at the end', async () => {
    const store = new FlakyStore();
    const run = counter(store).run(null);
    const kinds: string[] = [];
    run.events$.subscribe((e) => kinds.push(e.kind));
    expect(await run.result).toBe(3);
    await run.flush();
    expect(kinds).toContain('checkpoint_saved');
    const saved = await store.load(run.id);
    expect(saved).toMatchObject({ status: 'completed', outcome: { result: 3 } });
    expect(saved).not.toHaveProperty('history');
    expect((await store.events(run.id)).at(-1)).toMatchObject({ kind: 'run_completed', result: 3 });
    expect(await store.list({ workflow: 'counter' })).toEqual([
      expect.objectContaining({ runId: run.id, workflow: 'counter', status: 'completed' }),
    ]);
  });

  it('never shows a step in flight whose output was already routed', async () => {
    const store = new FlakyStore();
    const run = counter(store, 5).run(null);
    await run.result;
    await run.flush();
    const journal: RunEvent[] = [];
    for (const { snapshot, journal: delta } of store.saves) {
      journal.push(...delta);
      for (const inv of snapshot.inFlight) {
        const completed = journal.some((e) => e.kind === 'step_completed' && e.invocationId === inv.invocationId);
        expect(completed).toBe(false);
      }
    }
    expect(store.saves.length).toBeGreaterThan(1);
  });

  it('journals every RunEvent once: each save carries those since the last, up to its snapshot\'s seq', async () => {
    const store = new FlakyStore();
    const run = counter(store, 5).run(null);
    const seen: RunEvent[] = [];
    run.events$.subscribe((e) => seen.push(e));
    await run.result;
    await run.flush();
    let last = 0;
    for (const { snapshot, journal } of store.saves) {
      expect(journal.map((e) => e.seq)).toEqual(Array.from({ length: snapshot.seq - last }, (_, i) => last + i + 1));
      last = snapshot.seq;
    }
    // The last save is the terminal one: after it nothing is emitted, so the journal holds the whole run.
    expect(await store.events(run.id)).toEqual(JSON.parse(JSON.stringify(seen)));
    expect(last).toBe(seen.at(-1)?.seq);
  });

  it('carries the journal of a failed save into the next one, so the journal has no hole', async () => {
    const store = new FlakyStore();
    let release!: () => void;
    const wf = workflow('recovering', { store }).step('wait', { accepts: [StartEvent] }, async () => {
      store.down = true;
      await new Promise<void>((r) => (release = r));
      return StopEvent.of({ result: 1 });
    });
    const run = wf.run();
    const seen: RunEvent[] = [];
    run.events$.subscribe((e) => seen.push(e));
    await new Promise((r) => setImmediate(r));
    await run.flush().catch(() => undefined);
    expect(seen.filter((e) => e.kind === 'checkpoint_failed').length).toBeGreaterThan(0);
    store.down = false;
    release();
    expect(await run.result).toBe(1);
    await run.flush();
    expect((await store.events(run.id)).map((e) => e.seq)).toEqual(seen.map((e) => e.seq));
  });

  it('reports checkpoint_failed with a count, and fails store_failed after 3 in a row', async () => {
    const store = new FlakyStore();
    store.down = true;
    let release!: () => void;
    const wf = workflow('stuck', { store }).step('wait', { accepts: [StartEvent] }, () =>
      new Promise<void>((r) => (release = r)).then(() => StopEvent.of({ result: 1 })),
    );
    const run = wf.run();
    const events: RunEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    await expect(run.result).rejects.toMatchObject({ code: 'store_failed' });
    const failures = events.filter((e) => e.kind === 'checkpoint_failed');
    expect(failures.map((e) => (e.kind === 'checkpoint_failed' ? e.consecutive : 0))).toEqual([1, 2, 3]);
    expect(failures[0]).toMatchObject({ error: { code: 'store_failed', message: expect.stringContaining('connection refused') } });
    expect(events.at(-1)).toMatchObject({ kind: 'run_failed', error: { code: 'store_failed' } });
    release();
  });

  it('flush() rejects when the final checkpoint could not be written', async () => {
    const store = new FlakyStore();
    const run = workflow('last-save', { store }).step('s', { accepts: [StartEvent] }, () => {
      store.down = true; // the store goes away just before the run ends
      return StopEvent.of({ result: 1 });
    }).run();
    expect(await run.result).toBe(1);
    await expect(run.flush()).rejects.toMatchObject({ code: 'store_failed', message: expect.stringContaining('connection refused') });
  });

  it('resumeFrom(store, id) continues the last good checkpoint; unknown ids reject not_found', async () => {
    const store = new FlakyStore();
    const wf = workflow('approve', { store }).step('ask', { accepts: [StartEvent] }, async (_ev, ctx) =>
      StopEvent.of({ result: await ctx.requestInput('ok?') }),
    );
    const first = wf.run();
    await new Promise((r) => setImmediate(r));
    await first.flush();
    expect((await store.load(first.id))?.status).toBe('waiting');
    const again = await wf.resumeFrom(store, first.id);
    first.abort();
    expect(again.status).toBe('waiting');
    again.respond(again.snapshot().waiting[0]?.requestId as string, 'yes');
    expect(await again.result).toBe('yes');
    await expect(wf.resumeFrom(store, 'missing')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a store that throws on load rejects resumeFrom with store_failed', async () => {
    const store = new FlakyStore();
    store.load = () => Promise.reject(new Error('disk on fire'));
    await expect(counter(store).resumeFrom(store, 'x')).rejects.toMatchObject({ code: 'store_failed' });
  });
});
