// Workflows and a seeded store for the inspector's browser tests and its screenshots (npm run screenshots).
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';
import type { SluiceServer } from 'sluice/http';
import { approval, echo } from './fixtures.js';

const pause = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

const Chunk = event('Chunk', z.object({ n: z.number() }));
const Done = event('Done', z.object({ n: z.number(), words: z.number() }));

/** Fans out three chunks to a step with concurrency 2 whose second chunk fails once and is retried. */
export const pipeline = workflow('pipeline', { timeout: null })
  .step('split', { accepts: [StartEvent], emits: [Chunk] }, async () => {
    await pause(15);
    return [1, 2, 3].map((n) => Chunk.of({ n }));
  })
  .step('count', { accepts: [Chunk], emits: [Done], concurrency: 2, retry: { retries: 1 } }, async (ev, ctx) => {
    ctx.write({ type: 'progress', data: { chunk: ev.data.n, attempt: ctx.attempt } });
    await pause(20 + ev.data.n * 10);
    if (ev.data.n === 2 && ctx.attempt === 1) throw new Error('chunk 2: connection reset');
    return Done.of({ n: ev.data.n, words: ev.data.n * 100 });
  })
  .step('total', { accepts: [Done], emits: [StopEvent] }, (ev, ctx) => {
    const seen = ctx.state.update('seen', (n: number | undefined) => (n ?? 0) + 1) as number;
    ctx.state.update('words', (w: number | undefined) => (w ?? 0) + ev.data.words);
    return seen === 3 ? StopEvent.of({ result: { words: ctx.state.get('words') } }) : undefined;
  });

const Report = event('Report', z.object({ pages: z.number() }));

/** A child workflow of two steps, run as the `research` step of `nested`. */
export const researcher = workflow('researcher', { timeout: null })
  .step('search', { accepts: [StartEvent], emits: [Report] }, async (ev) => {
    await pause(20);
    return Report.of({ pages: String(ev.data).length });
  })
  .step('summarize', { accepts: [Report], emits: [StopEvent] }, async (ev) => {
    await pause(15);
    return StopEvent.of({ result: `${ev.data.pages} pages` });
  });

/** A parent whose middle step is a sub-workflow run. */
export const nested = workflow('nested', { timeout: null })
  .step('plan', { accepts: [StartEvent], emits: [event('Topic')] }, (ev) => ({ type: 'Topic', data: String(ev.data) }))
  .subworkflow('research', { accepts: [event('Topic')], workflow: researcher, output: (r: string) => ({ type: 'Notes', data: r }) })
  .step('write', { accepts: [event('Notes')], emits: [StopEvent] }, (ev) => StopEvent.of({ result: `report on ${String(ev.data)}` }));

/** Its `charge` step throws an error with a cause. */
export const payment = workflow('payment', { timeout: null })
  .step('validate', { accepts: [StartEvent], emits: [event('Valid')] }, (ev) => ({ type: 'Valid', data: ev.data }))
  .step('charge', { accepts: [event('Valid')], emits: [StopEvent] }, async () => {
    await pause(10);
    throw new Error('card declined', { cause: new Error('issuer unavailable (503)') });
  });

const Item = event('Item', z.object({ i: z.number() }));

/** One run of 351 invocations: a fan-out of 350 items. */
export const fanout = workflow('fanout', { timeout: null })
  .step('fan', { accepts: [StartEvent], emits: [Item] }, () => Array.from({ length: 350 }, (_, i) => Item.of({ i })))
  .step('each', { accepts: [Item], emits: [StopEvent] }, (_ev, ctx) =>
    ctx.state.update('n', (n: number | undefined) => (n ?? 0) + 1) === 350 ? StopEvent.of({ result: 350 }) : undefined,
  );

const Paid = event('Paid', z.object({ amount: z.number() }));

/** Two waits at once: `nap` sleeps a minute (a real, durable sleep), `pay` waits up to an hour for a Paid event. */
export const errand = workflow('errand', { timeout: null })
  .step('nap', { accepts: [StartEvent] }, async (_ev, ctx) => {
    await ctx.sleep(60_000);
  })
  .step('pay', { accepts: [StartEvent], emits: [StopEvent] }, async (_ev, ctx) => {
    const paid = await ctx.waitFor(Paid, { timeout: 3_600_000 });
    return StopEvent.of({ result: paid === undefined ? 'unpaid' : `paid ${paid.data.amount}` });
  });

const Filed = event('Filed', z.object({ title: z.string() }));

/** Forgets its StopEvent: `file` completes without output and the run goes idle (`run_idle`). */
export const forgetful = workflow('forgetful', { timeout: null })
  .step('draft', { accepts: [StartEvent], emits: [Filed] }, (ev) => Filed.of({ title: String(ev.data) }))
  .step('file', { accepts: [Filed] }, () => undefined);

export const inspectorWorkflows = [approval, pipeline, nested, payment, echo, fanout, errand, forgetful];

/** Resolves once `run` reaches `status`. */
function reach(run: { status: string; status$: { subscribe(f: (s: string) => void): { unsubscribe(): void } } }, status: string): Promise<void> {
  return new Promise<void>((done) => {
    const s = run.status$.subscribe((now) => now === status && done());
    if (run.status === status) s.unsubscribe();
  });
}

/**
 * Seed the server: `echoes` quick runs, then one of each interesting kind (failed, retried, sub-workflow, idle,
 * sleeping and waiting for an event, waiting for input); resolves with their ids once each settled or waits.
 * The sleeping run's minute-long timer is live: abort it (`abortLive`) when done.
 */
export async function seed(server: SluiceServer, echoes = 100) {
  const { registry } = server;
  for (let i = 0; i < echoes; i++) await registry.start('echo', `hello ${i}`, undefined).result;
  const failed = registry.start('payment', { amount: 42 }, undefined);
  await failed.result.catch(() => undefined);
  const pipelined = registry.start('pipeline', 'three chunks', undefined);
  await pipelined.result;
  const sub = registry.start('nested', 'tides', undefined);
  await sub.result;
  const idle = registry.start('forgetful', 'Minutes of Monday', undefined);
  await new Promise<void>((done) => idle.events$.subscribe((e) => e.kind === 'run_idle' && done()));
  const sleeping = registry.start('errand', null, undefined);
  await reach(sleeping, 'waiting');
  const waiting = registry.start('approval', 'Release notes', undefined);
  await reach(waiting, 'waiting');
  await registry.flush();
  return { failed: failed.id, pipeline: pipelined.id, nested: sub.id, idle: idle.id, sleeping: sleeping.id, waiting: waiting.id };
}

/** Abort the runs still live on the server (their timers would outlive the test). */
export async function abortLive(server: SluiceServer): Promise<void> {
  for (const row of await server.registry.list()) {
    const run = server.registry.handle(row.runId);
    if (run !== undefined && !['completed', 'failed', 'aborted', 'timed_out'].includes(run.status)) run.abort();
  }
}
