import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from 'sluice';
import model from '../../src/http/inspector/client/model.js?raw';
import { forgetful, nested, payment, pipeline } from './inspectorFixtures.js';

interface Inv {
  step: string;
  status: string;
  input: { type: string; data: unknown } | undefined;
  attempts: { attempt: number; status: string; error: { message: string } | null }[];
  outputs: { type: string; data: unknown }[];
  streams: { type: string; data: unknown }[];
  children: { runId: string; model: Model }[];
}
interface Model {
  workflow: string;
  order: Inv[];
  failedStep: string | null;
  outcome: { status: string; result?: unknown; error?: { code: string } } | null;
  idle: { since: number; lastStep?: string } | null;
}
// The page's model is a browser script; its functions are pure, so they run here as they do in the page.
const page = new Function(`${model}\nreturn { newModel, applyEvent, stepCounts, syncWaits };`)() as {
  syncWaits(m: Model, waiting: unknown[]): void;
  newModel(runId: string): Model;
  applyEvent(m: Model, ev: RunEvent): void;
  stepCounts(m: Model): Record<string, { running: number; done: number; failed: number; waiting: number }>;
};

const modelOf = (events: RunEvent[]) => {
  const m = page.newModel(events[0]!.runId);
  for (const ev of events) page.applyEvent(m, ev);
  return m;
};

describe("the inspector page's run model", () => {
  it('attaches a snapshot’s open sleeps and event waits to their invocations and ends them once they are gone', () => {
    const at = (seq: number) => ({ runId: 'r', seq, at: 1_000 + seq });
    const m = modelOf([
      { kind: 'run_started', ...at(1), workflow: 'errand', input: null },
      { kind: 'event_routed', ...at(2), event: { type: 'StartEvent', data: null }, steps: ['nap', 'pay'] },
      { kind: 'step_started', ...at(3), step: 'nap', invocationId: 'e1/nap', type: 'StartEvent', attempt: 1 },
      { kind: 'step_started', ...at(4), step: 'pay', invocationId: 'e1/pay', type: 'StartEvent', attempt: 1 },
    ]);
    const sleep = { kind: 'sleep', requestId: 'e1/nap:1', dueAt: 61_000 };
    const paid = { kind: 'event', requestId: 'e1/pay:1', type: 'Paid' };
    page.syncWaits(m, [sleep, paid, { kind: 'sleep', requestId: 'e9/gone:1', dueAt: 5 }]);
    expect(page.stepCounts(m)).toEqual({ nap: { running: 1, done: 0, failed: 0, waiting: 1 }, pay: { running: 1, done: 0, failed: 0, waiting: 1 } });
    expect(m.order.map((i) => (i as unknown as { waits: unknown[] }).waits)).toEqual([
      [{ requestId: 'e1/nap:1', kind: 'sleep', type: undefined, dueAt: 61_000, start: 1_004, end: null }],
      [{ requestId: 'e1/pay:1', kind: 'event', type: 'Paid', dueAt: undefined, start: 1_004, end: null }],
    ]);
    page.applyEvent(m, { kind: 'event_routed', ...at(5), event: { type: 'Paid', data: {} }, steps: [], waiters: ['e1/pay:1'] });
    page.syncWaits(m, [sleep]);
    expect(page.stepCounts(m)['pay']).toEqual({ running: 1, done: 0, failed: 0, waiting: 0 });
    expect(page.stepCounts(m)['nap']?.waiting).toBe(1);
  });

  it('is idle from run_idle until the next event that is not a checkpoint', async () => {
    const run = forgetful.run('notes');
    const events = await new Promise<RunEvent[]>((done) => {
      const seen: RunEvent[] = [];
      run.events$.subscribe((e) => {
        seen.push(e);
        if (e.kind === 'run_idle') done(seen);
      });
    });
    const idle = events.at(-1) as RunEvent;
    const m = modelOf(events);
    expect(m.idle).toEqual({ since: idle.at, lastStep: 'file' });
    page.applyEvent(m, { kind: 'checkpoint_saved', runId: run.id, seq: idle.seq + 1, at: idle.at + 1 });
    expect(m.idle).toEqual({ since: idle.at, lastStep: 'file' });
    page.applyEvent(m, { kind: 'event_routed', runId: run.id, seq: idle.seq + 2, at: idle.at + 2, event: { type: 'Filed', data: { title: 'x' } }, steps: ['file'] });
    expect(m.idle).toBeNull();
    run.abort();
  });

  it('gives each invocation its input event, attempts, own outputs and ctx.write stream under concurrency', async () => {
    const run = pipeline.run('three chunks');
    const m = modelOf(await lastValueFrom(run.events$.pipe(toArray())));
    const counts = m.order.filter((i) => i.step === 'count');
    expect(counts.map((i) => i.input?.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(counts.map((i) => i.attempts.map((a) => a.status))).toEqual([['done'], ['retried', 'done'], ['done']]);
    expect(counts[1]!.attempts[0]!.error?.message).toBe('chunk 2: connection reset');
    expect(counts.map((i) => i.outputs.map((o) => o.data))).toEqual([[{ n: 1, words: 100 }], [{ n: 2, words: 200 }], [{ n: 3, words: 300 }]]);
    expect(counts[1]!.streams.map((s) => s.data)).toEqual([{ chunk: 2, attempt: 1 }, { chunk: 2, attempt: 2 }]);
    expect(page.stepCounts(m)).toEqual({ split: { running: 0, done: 1, failed: 0, waiting: 0 }, count: { running: 0, done: 3, failed: 0, waiting: 0 }, total: { running: 0, done: 3, failed: 0, waiting: 0 } });
    expect(m.outcome).toEqual({ status: 'completed', result: { words: 600 } });
  });

  it('nests a sub-workflow run under the invocation that started it', async () => {
    const m = modelOf(await lastValueFrom(nested.run('tides').events$.pipe(toArray())));
    const research = m.order.find((i) => i.step === 'research')!;
    expect(research.children).toHaveLength(1);
    const child = research.children[0]!.model;
    expect([child.workflow, child.order.map((i) => i.step), child.outcome]).toEqual(['researcher', ['search', 'summarize'], { status: 'completed', result: '5 pages' }]);
    expect(m.order.map((i) => i.step)).toEqual(['plan', 'research', 'write']);
  });

  it('marks the failing step and the run’s error', async () => {
    const run = payment.run({ amount: 1 });
    const m = modelOf(await lastValueFrom(run.events$.pipe(toArray())));
    expect([m.failedStep, m.outcome?.status, m.outcome?.error?.code]).toEqual(['charge', 'failed', 'step_failed']);
    expect(page.stepCounts(m)['charge']).toEqual({ running: 0, done: 0, failed: 1, waiting: 0 });
  });
});
