import { map, timer, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, MemoryStore, StartEvent, StopEvent, workflow, WorkflowError, type RunEvent } from 'sluice';

const Order = event('Order', z.object({ id: z.string() }));

/** `pay` throws while `gateway.down`; `prepare` writes state first, so a retry must keep it. */
function shop(store: MemoryStore, gateway: { down: boolean; attempts: number[]; ids: string[] }) {
  return workflow('shop', { store })
    .step('prepare', { accepts: [StartEvent] }, (ev, ctx) => {
      ctx.state.set('prepared', (ctx.state.get('prepared') as number | undefined ?? 0) + 1);
      return Order.of({ id: String(ev.data) });
    })
    .step('pay', { accepts: [Order] }, (ev, ctx) => {
      gateway.attempts.push(ctx.attempt);
      gateway.ids.push(ctx.invocationId);
      if (gateway.down) throw new Error('gateway down');
      return StopEvent.of({ result: `paid ${ev.data.id} after ${ctx.state.get('prepared') as number} prepare` });
    });
}

async function failedRun() {
  const store = new MemoryStore();
  const gateway = { down: true, attempts: [] as number[], ids: [] as string[] };
  const wf = shop(store, gateway);
  const run = wf.run('o-1');
  const error = await run.result.catch((e: unknown) => e);
  await run.flush();
  return { store, gateway, wf, run, error };
}

describe('wf.retry: resume a failed or timed-out run from its last checkpoint', () => {
  it('keeps the failed invocation in the terminal checkpoint', async () => {
    const { store, run, error } = await failedRun();
    expect((error as WorkflowError).code).toBe('step_failed');
    const saved = await store.load(run.id);
    expect(saved?.status).toBe('failed');
    const failed = (await store.events(run.id)).find((e) => e.kind === 'step_failed') as Extract<RunEvent, { kind: 'step_failed' }>;
    expect(saved?.inFlight).toEqual([
      { step: 'pay', invocationId: failed.invocationId, envelope: expect.objectContaining({ to: 'pay', event: expect.objectContaining({ type: 'Order', data: { id: 'o-1' } }) }) },
    ]);
  });

  it('re-delivers the failed step with its invocation id: fails once, then completes on retry', async () => {
    const { store, gateway, wf, run } = await failedRun();
    const stored = await store.load(run.id);
    gateway.down = false;
    const again = await wf.retry(store, run.id);
    const events: RunEvent[] = [];
    again.events$.subscribe((e) => events.push(e));
    expect(again.id).toBe(run.id);
    expect(await again.result).toBe('paid o-1 after 1 prepare'); // prepare did not run again; state kept
    await again.flush();
    expect(gateway.attempts).toEqual([1, 1]); // ctx.attempt starts again at 1
    expect(gateway.ids[1]).toBe(gateway.ids[0]); // same invocation id: idempotency keys hold
    const resumed = events.find((e) => e.kind === 'run_resumed');
    expect(resumed).toMatchObject({ kind: 'run_resumed', retry: true, seq: (stored?.seq ?? 0) + 1 });
    expect(events.filter((e) => e.seq > (stored?.seq ?? 0) && e.kind === 'step_started').map((e) => (e as { step: string }).step)).toEqual(['pay']);
    const final = await store.load(run.id);
    expect(final?.status).toBe('completed');
    expect(final?.inFlight).toEqual([]);
    expect((await store.events(run.id)).at(-1)).toMatchObject({ kind: 'run_completed', result: 'paid o-1 after 1 prepare' });
  });

  it('a retry that fails again is failed again, and can be retried again', async () => {
    const { store, gateway, wf, run } = await failedRun();
    const second = await wf.retry(store, run.id);
    expect(await second.result.catch((e: unknown) => (e as WorkflowError).code)).toBe('step_failed');
    await second.flush();
    expect((await store.load(run.id))?.status).toBe('failed');
    gateway.down = false;
    const third = await wf.retry(store, run.id);
    expect(await third.result).toBe('paid o-1 after 1 prepare');
    expect(gateway.attempts).toEqual([1, 1, 1]);
  });

  it('refuses a completed run with not_running and an unknown one with not_found', async () => {
    const store = new MemoryStore();
    const gateway = { down: false, attempts: [] as number[], ids: [] as string[] };
    const wf = shop(store, gateway);
    const run = wf.run('o-2');
    await run.result;
    await run.flush();
    const refused = await wf.retry(store, run.id).catch((e: unknown) => e as WorkflowError);
    expect(refused).toBeInstanceOf(WorkflowError);
    expect((refused as WorkflowError).code).toBe('not_running');
    expect((refused as WorkflowError).message).toMatch(/only a failed or timed-out run can be retried/);
    const missing = await wf.retry(store, 'nope').catch((e: unknown) => e as WorkflowError);
    expect((missing as WorkflowError).code).toBe('not_found');
    expect((await store.load(run.id))?.status).toBe('completed'); // untouched
  });

  it('gives a timed-out run a fresh budget and re-delivers the cancelled invocation', async () => {
    const store = new MemoryStore();
    const scheduler = new VirtualTimeScheduler();
    let hang = true;
    const wf = workflow('slow', { store, timeout: 1_000, scheduler }).step('wait', { accepts: [StartEvent] }, () =>
      hang ? new Promise<never>(() => undefined) : StopEvent.of({ result: 'done' }),
    );
    const run = wf.run();
    scheduler.flush(); // virtual time runs to the timeout
    expect(await run.result.catch((e: unknown) => (e as WorkflowError).code)).toBe('timeout');
    expect(run.status).toBe('timed_out');
    await run.flush();
    const saved = await store.load(run.id);
    expect(saved?.status).toBe('timed_out');
    expect(saved?.elapsedMs).toBe(1_000);
    expect(saved?.inFlight.map((e) => e.step)).toEqual(['wait']);
    hang = false;
    const again = await wf.retry(store, run.id);
    expect(again.snapshot().elapsedMs).toBe(0); // a fresh budget, not 1 000 of 1 000 spent
    scheduler.flush();
    expect(await again.result).toBe('done');
  });

  it('a failed run keeps its elapsed time against the workflow timeout', async () => {
    const store = new MemoryStore();
    const scheduler = new VirtualTimeScheduler();
    const wf = workflow('late', { store, timeout: 1_000, scheduler }).step('boom', { accepts: [StartEvent] }, () =>
      timer(400, scheduler).pipe(map(() => { throw new Error('boom'); })),
    );
    const run = wf.run();
    scheduler.flush();
    expect(await run.result.catch((e: unknown) => (e as WorkflowError).code)).toBe('step_failed');
    await run.flush();
    expect((await store.load(run.id))?.elapsedMs).toBe(400);
    const again = await wf.retry(store, run.id);
    expect(again.snapshot().elapsedMs).toBe(400);
  });
});
