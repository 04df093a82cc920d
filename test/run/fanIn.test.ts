import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, MemoryStore, StartEvent, StopEvent, workflow, WorkflowError } from 'sluice';

// DESIGN §3.2, §6.1 and §6.6 "Fan-in": only declared types are buffered; collecting an undeclared type fails
// the run with invalid_workflow naming the step (not retried); collect is replay-safe across retries and resumes.

const Part = event('Part', z.object({ n: z.number() }));
const Noise = event('Noise', z.object({ n: z.number() }));

const settle = () => new Promise((r) => setImmediate(r));

describe('fan-in (collects)', () => {
  it('buffers only the types some step declares, so routing many other events retains nothing', async () => {
    let release!: () => void;
    const wf = workflow('declared')
      .step('emit', { accepts: [StartEvent] }, () => [...[1, 2, 3].map((n) => Noise.of({ n })), Part.of({ n: 1 })])
      .step('noise', { accepts: [Noise] }, () => undefined)
      .step('join', { accepts: [Part], collects: [Part] }, async () => {
        await new Promise<void>((r) => (release = r));
        return StopEvent.of({ result: 'done' });
      });
    const run = wf.run();
    while (release === undefined) await settle();
    expect(run.snapshot().collected).toEqual({ Part: [Part.of({ n: 1 })] });
    release();
    expect(await run.result).toBe('done');
  });

  it('fails the run with invalid_workflow naming the step and the option when a step collects an undeclared type, without retrying', async () => {
    let attempts = 0;
    const wf = workflow('undeclared')
      .step('emit', { accepts: [StartEvent] }, () => Part.of({ n: 1 }))
      .step('join', { accepts: [Part], retry: { retries: 3 } }, (_ev, ctx) => {
        attempts++;
        return ctx.collect(Part, 1) && StopEvent.of({ result: 'never' });
      });
    const error = await wf.run().result.catch((e: unknown) => e);
    expect(WorkflowError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid_workflow', step: 'join' });
    expect((error as Error).message).toContain("add `collects: [Part]` to the options of step 'join'");
    expect(attempts).toBe(1);
  });

  it('refuses a collects option that is not a list of event types', () => {
    expect(() => workflow('bad').step('s', { accepts: [StartEvent], collects: [42 as never] }, () => undefined)).toThrow(
      expect.objectContaining({ code: 'invalid_workflow', message: expect.stringContaining('`collects` must list event types') }),
    );
  });

  it('gives a retried attempt back exactly the events the failed attempt collected', async () => {
    const got: number[][] = [];
    const wf = workflow('retry-collect')
      .step('emit', { accepts: [StartEvent] }, () => [1, 2].map((n) => Part.of({ n })))
      .step('join', { accepts: [Part], collects: [Part], retry: { retries: 1 } }, (_ev, ctx) => {
        const all = ctx.collect(Part, 2);
        if (all === undefined) return undefined;
        got.push(all.map((p) => p.data.n));
        if (ctx.attempt === 1) throw new Error('flaky');
        return StopEvent.of({ result: all.map((p) => p.data.n) });
      });
    expect(await wf.run().result).toEqual([1, 2]);
    expect(got).toEqual([
      [1, 2],
      [1, 2],
    ]);
  });

  it('is replay-safe: collect → requestInput → pause → JSON → resume → respond gets the same events back', async () => {
    const wf = workflow('collect-then-ask', { timeout: null })
      .step('emit', { accepts: [StartEvent] }, () => [1, 2, 3].map((n) => Part.of({ n })))
      .step('join', { accepts: [Part], collects: [Part] }, async (_ev, ctx) => {
        const all = ctx.collect(Part, 3);
        if (all === undefined) return undefined;
        const ok = await ctx.requestInput(`publish ${all.length} parts?`);
        return StopEvent.of({ result: { ok, parts: all.map((p) => p.data.n) } });
      });
    const first = wf.run();
    while (first.status !== 'waiting') await settle();
    const paused = JSON.parse(JSON.stringify(await first.pause()));
    first.abort('moved');
    expect(paused.collected).toEqual({ Part: [] });
    expect(paused.inFlight).toEqual([expect.objectContaining({ step: 'join', collected: { Part: [1, 2, 3].map((n) => Part.of({ n })) } })]);

    const again = wf.resume(paused);
    again.respond(paused.waiting[0].requestId, 'yes');
    expect(await again.result).toEqual({ ok: 'yes', parts: [1, 2, 3] });
  });

  it('is replay-safe through a store and resumeFrom, too', async () => {
    const store = new MemoryStore();
    const wf = workflow('collect-stored', { store, timeout: null })
      .step('emit', { accepts: [StartEvent] }, () => [1, 2].map((n) => Part.of({ n })))
      .step('join', { accepts: [Part], collects: [Part] }, async (_ev, ctx) => {
        const all = ctx.collect(Part, 2);
        return all && StopEvent.of({ result: [await ctx.requestInput('ok?'), ...all.map((p) => p.data.n)] });
      });
    const first = wf.run();
    while (first.status !== 'waiting') await settle();
    await first.flush();
    const snap = await store.load(first.id);
    const again = await wf.withOptions({ store: store.openWriter() }).resumeFrom(store, first.id);
    first.abort('moved');
    again.respond(snap?.waiting[0]?.requestId as string, 'yes');
    expect(await again.result).toEqual(['yes', 1, 2]);
  });
});
