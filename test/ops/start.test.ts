import { filter, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, FileStore, MemoryStore, StartEvent, StopEvent, workflow, WorkflowError, type CheckpointStore, type RunEvent } from 'sluice';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const Half = event('Half', z.number());

/** start → half (waits for the gate) → Stop(n + 1); counts the invocations of each step. */
function counted(store: CheckpointStore) {
  const calls = { start: 0, half: 0 };
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const wf = workflow<number>('counted', { store, timeout: null })
    .step('start', { accepts: [StartEvent] }, async (ev) => {
      calls.start++;
      return Half.of(Number(ev.data) / 2);
    })
    .step('half', { accepts: [Half] }, async (ev) => {
      calls.half++;
      await gate;
      return StopEvent.of({ result: ev.data + 1 });
    });
  return { wf, calls, open };
}

const kindsOf = (events: RunEvent[]) => events.map((e) => e.kind).filter((k) => !k.startsWith('checkpoint_'));
const collect = (events$: import('rxjs').Observable<RunEvent>) =>
  new Promise<RunEvent[]>((resolve, reject) => {
    const all: RunEvent[] = [];
    events$.subscribe({ next: (e) => all.push(e), complete: () => resolve(all), error: reject });
  });

describe('wf.start(input, { runId })', () => {
  it('gives one run for two starts of one id in one process, before the first checkpoint', async () => {
    const { wf, calls, open } = counted(new MemoryStore());
    const [a, b] = await Promise.all([wf.start(10, { runId: 'once' }), wf.start(10, { runId: 'once' })]);
    expect(a).toBe(b);
    open();
    expect(await a.result).toBe(6);
    expect(calls).toEqual({ start: 1, half: 1 });
    expect(kindsOf(await collect(a.events$)).filter((k) => k === 'run_started')).toEqual(['run_started']);
  });

  it('follows the live run when started again while it runs', async () => {
    const { wf, calls, open } = counted(new MemoryStore());
    const first = await wf.start(4, { runId: 'live' });
    await firstValueFrom(first.events$.pipe(filter((e) => e.kind === 'step_started' && e.step === 'half')));
    const again = await wf.start(4, { runId: 'live' });
    expect(again).toBe(first);
    open();
    expect(await again.result).toBe(3);
    expect(calls).toEqual({ start: 1, half: 1 });
  });

  it('settles with the stored result of a run that has ended, starting nothing', async () => {
    const store = new MemoryStore();
    const { wf, calls, open } = counted(store);
    open();
    const first = await wf.start(8, { runId: 'done' });
    expect(await first.result).toBe(5);
    await first.flush();
    const events = await collect(first.events$);
    // The process forgets an ended run once its final checkpoint is in (a chain on its result and flush):
    // one macrotask turn lets that bookkeeping finish, so the start below goes to the store.
    await new Promise((r) => setImmediate(r));

    const later = counted(store);
    const again = await later.wf.start(8, { runId: 'done' });
    expect(again).not.toBe(first);
    expect(again.status).toBe('completed');
    expect(await again.result).toBe(5);
    expect(later.calls).toEqual({ start: 0, half: 0 });
    expect(calls).toEqual({ start: 1, half: 1 });
    // Its events are the stored history; its controls do what they do on an ended run.
    expect(await collect(again.events$)).toEqual(events);
    await expect(again.pause()).rejects.toMatchObject({ code: 'not_running' });
    expect(() => again.send(Half.of(1))).toThrow(expect.objectContaining({ code: 'not_running' }));
    expect(again.snapshot().status).toBe('completed');
  });

  it('settles with the stored error of a run that failed', async () => {
    const store = new MemoryStore();
    const failing = workflow('failing', { store }).step('boom', { accepts: [StartEvent] }, async () => {
      throw new Error('boom');
    });
    const first = await failing.start(null, { runId: 'bad' });
    await expect(first.result).rejects.toMatchObject({ code: 'step_failed' });
    await first.flush();
    const again = await failing.start(null, { runId: 'bad' });
    const error = await again.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error).toMatchObject({ code: 'step_failed', step: 'boom', message: expect.stringContaining('boom') });
  });

  it('resumes from the store a run that has not ended and that nobody holds (another process checkpointed it)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-start-'));
    try {
      // "Process one" ran the start step and checkpointed with `half` in flight, then died.
      const one = counted(new FileStore(dir));
      const run = one.wf.run(6, { runId: 'mid' });
      await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'step_started' && e.step === 'half')));
      await run.flush();
      const stored = run.snapshot();
      expect(stored.status).toBe('running');
      run.abort('process one dies');
      await run.result.catch(() => undefined);
      const other = new FileStore(join(dir, 'two'));
      await other.save(stored);

      const two = counted(other);
      two.open();
      const resumed = await two.wf.start(6, { runId: 'mid' });
      expect(await resumed.result).toBe(4);
      expect(two.calls).toEqual({ start: 0, half: 1 });
      const events = await collect(resumed.events$);
      expect(kindsOf(events)).toContain('run_resumed');
      await resumed.flush();
      expect((await other.load('mid'))?.status).toBe('completed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('leaves a stored paused run paused', async () => {
    const store = new MemoryStore();
    const { wf, open } = counted(store);
    const run = wf.run(2, { runId: 'resting' });
    await firstValueFrom(run.events$.pipe(filter((e) => e.kind === 'step_started' && e.step === 'half')));
    const paused = run.pause();
    open();
    await paused;
    await run.flush();
    const other = new MemoryStore();
    await other.save(run.snapshot());
    run.abort();

    const again = counted(other);
    again.open();
    const handle = await again.wf.start(2, { runId: 'resting' });
    expect(handle.status).toBe('paused');
    handle.resume();
    expect(await handle.result).toBe(2);
  });

  it('starts a new run every time without a runId, and refuses a run id of another workflow', async () => {
    const store = new MemoryStore();
    const { wf, open } = counted(store);
    open();
    const [a, b] = await Promise.all([wf.start(2), wf.start(2)]);
    expect(a.id).not.toBe(b.id);
    expect([await a.result, await b.result]).toEqual([2, 2]);
    await a.flush();
    const other = workflow('other', { store }).step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: 1 }));
    await expect(other.start(null, { runId: a.id })).rejects.toMatchObject({ code: 'invalid_snapshot' });
    await expect(wf.start(1, { runId: '' })).rejects.toMatchObject({ code: 'invalid_workflow' });
  });

  it('is idempotent without a store within the process', async () => {
    const wf = workflow<number>('plain').step('s', { accepts: [StartEvent] }, async (ev) => StopEvent.of({ result: Number(ev.data) }));
    const [a, b] = await Promise.all([wf.start(1, { runId: 'p' }), wf.start(2, { runId: 'p' })]);
    expect(a).toBe(b);
    expect(await a.result).toBe(1);
  });
});
