import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type WorkflowOptions } from 'sluice';

const Tick = event('Tick', z.object({ n: z.number() }));

/** start → tick ×3 → stop: 14 RunEvents. */
const ticker = (options: WorkflowOptions = {}) =>
  workflow('ticker', { timeout: null, ...options })
    .step('start', { accepts: [StartEvent] }, () => Tick.of({ n: 1 }))
    .step('tick', { accepts: [Tick] }, (ev) => (ev.data.n >= 3 ? StopEvent.of({ result: ev.data.n }) : Tick.of({ n: ev.data.n + 1 })));

const seqs = (events: readonly { seq: number }[]) => events.map((e) => e.seq);

describe('run history', () => {
  it('keeps every RunEvent by default', async () => {
    const run = ticker().run(null);
    await run.result;
    const snap = run.snapshot();
    expect(seqs(snap.history)).toEqual(Array.from({ length: snap.seq }, (_, i) => i + 1));
    expect(snap.history.at(-1)?.kind).toBe('run_completed');
  });

  it('with historyLimit keeps only the latest events, while seq and the events$ replay stay whole', async () => {
    const run = ticker({ historyLimit: 3 }).run(null);
    await run.result;
    const snap = run.snapshot();
    expect(seqs(snap.history)).toEqual([snap.seq - 2, snap.seq - 1, snap.seq]);
    expect(snap.history.map((e) => e.kind)).toEqual(['step_completed', 'event_routed', 'run_completed']);
    const replayed = await firstValueFrom(run.events$.pipe(toArray()));
    expect(replayed).toHaveLength(snap.seq);
  });

  it('bounds the history a resumed run carries and continues its numbering', async () => {
    const first = ticker().run(null);
    const paused = await first.pause();
    first.abort();
    await firstValueFrom(first.events$.pipe(toArray()));
    // (It used to double the history with repeated seqs; wf.resume now refuses seq going backwards, so the
    // bound is made smaller than the history instead.)
    expect(paused.history.length).toBe(2);

    const resumed = ticker({ historyLimit: 1 }).resume(paused);
    expect(seqs(resumed.snapshot().history)).toEqual([paused.seq + 1]);
    expect(await resumed.result).toBe(3);
    const snap = resumed.snapshot();
    expect(seqs(snap.history)).toEqual([snap.seq]);
  });

  it('historyLimit: 0 keeps no history but still numbers the events', async () => {
    const run = ticker({ historyLimit: 0 }).run(null);
    await run.result;
    expect(run.snapshot().history).toEqual([]);
    expect(run.snapshot().seq).toBeGreaterThan(10);
  });

  it('rejects a historyLimit that is not a non-negative integer as invalid_workflow', () => {
    for (const historyLimit of [-1, 1.5, Number.NaN]) {
      expect(() => ticker({ historyLimit }).validate()).toThrow(expect.objectContaining({ code: 'invalid_workflow' }));
    }
  });
});
