import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type Snapshot } from 'sluice';

const Tick = event('Tick', z.object({ i: z.number() }));
const Done = event('Done', z.object({ i: z.number() }));

const asked = (run: { events$: import('rxjs').Observable<{ kind: string }> }, n = 1) =>
  firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'input_requested'), (s) => s.pipe(filter(() => --n === 0))));

describe('ctx.state is transactional per invocation (DESIGN §6.6)', () => {
  it('an invocation reads its own writes at once; others see them once it settles', async () => {
    const seen: unknown[] = [];
    let release!: () => void;
    const wf = workflow('tx-visibility', { timeout: null })
      .step('writer', { accepts: [StartEvent] }, async (_ev, ctx) => {
        ctx.state.set('k', 'mine');
        seen.push(['writer', ctx.state.get('k')]);
        await new Promise<void>((r) => (release = r));
        return Done.of({ i: 1 });
      })
      .step('reader', { accepts: [StartEvent] }, (_ev, ctx) => {
        seen.push(['reader', ctx.state.get('k')]);
        return Tick.of({ i: 0 });
      })
      .step('later', { accepts: [Done] }, (_ev, ctx) => StopEvent.of({ result: ctx.state.get('k') }))
      .step('sink', { accepts: [Tick] }, () => undefined);
    const run = wf.run();
    await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'step_completed' && e.step === 'reader')));
    expect(run.snapshot().state).toEqual({});
    release();
    await expect(run.result).resolves.toBe('mine');
    expect(seen).toEqual([
      ['writer', 'mine'],
      ['reader', undefined],
    ]);
  });

  it('applies update at commit to the value current then, so concurrent increments are never lost', async () => {
    const gates: (() => void)[] = [];
    const wf = workflow('tx-increments', { timeout: null })
      .step('fan', { accepts: [StartEvent] }, () => [1, 2, 3, 4, 5].map((i) => Tick.of({ i })))
      .step('add', { accepts: [Tick] }, async (ev, ctx) => {
        ctx.state.update<number>('sum', (s = 0) => s + ev.data.i);
        await new Promise<void>((r) => gates.push(r));
        return Done.of({ i: ev.data.i });
      })
      .step('join', { accepts: [Done] }, (_ev, ctx) => (ctx.state.get<number>('sum') === 15 ? StopEvent.of({ result: 15 }) : undefined));
    const run = wf.run();
    while (gates.length < 5) await new Promise((r) => setImmediate(r));
    expect(run.snapshot().state).toEqual({});
    for (const open of gates.reverse()) open();
    await expect(run.result).resolves.toBe(15);
    expect(run.snapshot().state).toEqual({ sum: 15 });
  });

  it('never shows the writes of an in-flight invocation in a snapshot, so a resumed run applies them once', async () => {
    const wf = workflow('tx-resume', { timeout: null }).step('count', { accepts: [StartEvent] }, async (_ev, ctx) => {
      ctx.state.update<number>('n', (n = 0) => n + 1);
      const answer = await ctx.requestInput('go?');
      return StopEvent.of({ result: { n: ctx.state.get('n'), answer } });
    });
    const first = wf.run();
    await asked(first);
    const snap = JSON.parse(JSON.stringify(first.snapshot())) as Snapshot;
    first.abort('moved');
    expect(snap.state).toEqual({});
    const second = wf.resume(snap);
    second.respond(snap.waiting[0]!.requestId, 'yes');
    await expect(second.result).resolves.toEqual({ n: 1, answer: 'yes' });
    expect(second.snapshot().state).toEqual({ n: 1 });
  });

  it('drops the writes of a failed attempt: a retried step applies only its last attempt', async () => {
    let attempts = 0;
    const wf = workflow('tx-retry').step('flaky', { accepts: [StartEvent], retry: { retries: 2 } }, (_ev, ctx) => {
      ctx.state.update<number>('tries', (n = 0) => n + 1);
      if (++attempts < 3) throw new Error('not yet');
      return StopEvent.of({ result: ctx.state.get('tries') });
    });
    const run = wf.run();
    await expect(run.result).resolves.toBe(1);
    expect(run.snapshot().state).toEqual({ tries: 1 });
  });

  it('commits with the outputs: the step that receives an output sees the writes of the step that sent it', async () => {
    const wf = workflow('tx-order')
      .step('a', { accepts: [StartEvent] }, (_ev, ctx) => {
        ctx.state.set('from', 'a');
        return Tick.of({ i: 1 });
      })
      .step('b', { accepts: [Tick] }, (_ev, ctx) => StopEvent.of({ result: ctx.state.get('from') }));
    await expect(wf.run().result).resolves.toBe('a');
  });
});
