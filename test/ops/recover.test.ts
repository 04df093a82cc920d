import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, MemoryStore, recover, StartEvent, StopEvent, workflow, type Snapshot, type WorkflowError } from 'sluice';

const Half = event('Half', z.number());

/** start → half (waits for the gate) → Stop(n + 1). */
function halving(open = false) {
  let release: () => void = () => undefined;
  const gate = open ? Promise.resolve() : new Promise<void>((resolve) => (release = resolve));
  const wf = workflow<number>('halving', { timeout: null })
    .step('start', { accepts: [StartEvent] }, async (ev) => Half.of(Number(ev.data) / 2))
    .step('half', { accepts: [Half] }, async (ev) => {
      await gate;
      return StopEvent.of({ result: ev.data + 1 });
    });
  return { wf, release };
}

const asking = workflow<string>('asking', { timeout: null }).step('ask', { accepts: [StartEvent] }, async (_ev, ctx) =>
  StopEvent.of({ result: await ctx.requestInput<string>('ok?', { timeout: 60_000 }) }),
);
const askingForever = workflow<string>('askingForever', { timeout: null }).step('ask', { accepts: [StartEvent] }, async (_ev, ctx) =>
  StopEvent.of({ result: await ctx.requestInput<string>('ok?') }),
);

/** What "a process that stopped" left in its store: a snapshot of a run taken at `kind`, the run then dropped. */
async function leftBehind<R>(run: import('sluice').RunHandle<R>, kind: string, step?: string): Promise<Snapshot> {
  await firstValueFrom(run.events$.pipe(filter((e) => e.kind === kind && (step === undefined || (e as { step?: string }).step === step))));
  const snapshot = run.snapshot();
  run.abort('the process stopped');
  await run.result.catch(() => undefined);
  return snapshot;
}

describe('recover({ workflows, store })', () => {
  it('resumes the running runs and the waiting runs with a due deadline, and leaves the others in the store', async () => {
    const store = new MemoryStore();
    const { wf } = halving();
    await store.save(await leftBehind(wf.run(10, { runId: 'mid-way' }), 'step_started', 'half'));
    const due = await leftBehind(asking.run(null, { runId: 'due' }), 'input_requested');
    await store.save({ ...due, status: 'waiting', waiting: due.waiting.map((w) => ({ ...w, deadline: Date.now() - 1 })) });
    const notDue = await leftBehind(asking.run(null, { runId: 'not-due' }), 'input_requested');
    await store.save({ ...notDue, status: 'waiting' });
    const untimed = await leftBehind(askingForever.run(null, { runId: 'untimed' }), 'input_requested');
    await store.save({ ...untimed, status: 'waiting' });
    const paused = await leftBehind(wf.run(4, { runId: 'paused' }), 'step_started', 'half');
    await store.save({ ...paused, status: 'paused' });
    const finished = halving(true).wf.run(2, { runId: 'finished' });
    await finished.result;
    await store.save(finished.snapshot());
    const foreign = await leftBehind(wf.run(6, { runId: 'foreign' }), 'step_started', 'half');
    await store.save({ ...foreign, workflow: 'elsewhere' });

    const skipped: [string, WorkflowError][] = [];
    const later = halving(true);
    const runs = await recover({
      workflows: { halving: later.wf, asking, askingForever },
      store,
      onSkip: (runId, reason) => skipped.push([runId, reason]),
    });
    expect(runs.map((r) => r.id).sort()).toEqual(['due', 'mid-way']);
    expect(skipped.map(([id, e]) => [id, e.code])).toEqual([['foreign', 'not_found']]);
    expect(skipped[0]?.[1].message).toContain("no workflow 'elsewhere'");

    const midWay = runs.find((r) => r.id === 'mid-way')!;
    expect(await midWay.result).toBe(6);
    await midWay.flush();
    // Recovered runs checkpoint to the store recover() was given.
    expect((await store.load('mid-way'))?.status).toBe('completed');
    const dueRun = runs.find((r) => r.id === 'due')!;
    expect(dueRun.status).toBe('waiting');
    dueRun.respond(due.waiting[0]!.requestId, 'yes');
    expect(await dueRun.result).toBe('yes');
    expect((await store.load('paused'))?.status).toBe('paused');
    expect((await store.load('untimed'))?.status).toBe('waiting');
  });

  it('resumes waiting runs whose deadline falls due within `within` ms', async () => {
    const store = new MemoryStore();
    const left = await leftBehind(asking.run(null, { runId: 'soon' }), 'input_requested');
    await store.save({ ...left, status: 'waiting' });
    expect(await recover({ workflows: [asking], store })).toEqual([]);
    const runs = await recover({ workflows: [asking], store, within: 120_000 });
    expect(runs.map((r) => r.id)).toEqual(['soon']);
    runs[0]!.abort();
  });

  it('leaves alone runs this process has live already: a second recover finds nothing to do', async () => {
    const store = new MemoryStore();
    const { wf, release } = halving();
    await store.save(await leftBehind(wf.run(10, { runId: 'once' }), 'step_started', 'half'));
    const first = await recover({ workflows: [wf], store });
    const second = await recover({ workflows: [wf], store });
    expect(first.map((r) => r.id)).toEqual(['once']);
    expect(second).toEqual([]);
    // wf.start of that id follows the recovered run.
    expect(await wf.withOptions({ store }).start(10, { runId: 'once' })).toBe(first[0]);
    release();
    expect(await first[0]!.result).toBe(6);
  });

  it('refuses what it cannot use: a negative window, something that is not a workflow, two workflows of one name', async () => {
    const store = new MemoryStore();
    const { wf } = halving(true);
    await expect(recover({ workflows: [wf], store, within: -1 })).rejects.toMatchObject({ code: 'invalid_workflow' });
    await expect(recover({ workflows: [{ name: 'fake' }] as never, store })).rejects.toThrow(/array or a record of workflows/);
    await expect(recover({ workflows: [wf, wf], store })).rejects.toThrow(/two workflows are named 'halving'/);
  });
});
