/**
 * The workloads on Mastra (@mastra/core 1.71.0), through its public, idiomatic API: `createWorkflow` /
 * `createStep` with zod schemas, `.then`, `.dountil`, `.foreach({ concurrency })`, `suspend()` / `run.resume`,
 * the step `writer` read from `run.stream()`. A `Mastra` instance with `InMemoryStore` storage where the
 * workload needs persistence (W5, M); none elsewhere (as for the other engines). One step execution is one "event".
 *
 * Mapping, one line per workload:
 * - W1 chain: `.dountil(inc, k ≥ n)`: one step execution per event (Mastra routes no events between steps).
 * - W2 fan-out/in: `.then(gen)` (n items) `.foreach(work, { concurrency: n })` `.then(sum)`; W2c: concurrency 8.
 * - W3 tiny: `.then(double).then(finish)`, one `createRun()` + `start()` per run.
 * - W4 stream: one step `await writer.write(i)` n times; `run.stream().fullStream` is read.
 * - W5 long run: `.dountil(step, k ≥ n)`, each step awaiting `setImmediate`, snapshots persisted to
 *   `InMemoryStore` (Mastra's default: after each step); verified from the store afterwards.
 * - M park: step `gate` calls `suspend()` (InMemoryStore); resumed with `run.resume({ step, resumeData })`.
 */
import { Mastra } from '@mastra/core';
import { InMemoryStore } from '@mastra/core/storage';
import { createStep, createWorkflow } from '@mastra/core/workflows';
import { setImmediate as macrotask } from 'node:timers/promises';
import { z } from 'zod';
import { runChild, type Engine } from '../workloads.js';

const K = z.object({ k: z.number() });
const X = z.object({ x: z.number() });

const inc = createStep({ id: 'inc', inputSchema: K, outputSchema: K, execute: async ({ inputData }) => ({ k: inputData.k + 1 }) });

const gen = createStep({
  id: 'gen',
  inputSchema: z.object({ n: z.number() }),
  outputSchema: z.array(z.number()),
  execute: async ({ inputData }) => Array.from({ length: inputData.n }, (_, i) => i),
});
const work = createStep({ id: 'work', inputSchema: z.number(), outputSchema: z.number(), execute: async ({ inputData }) => inputData });
const Sum = z.object({ count: z.number(), sum: z.number() });
const sum = createStep({
  id: 'sum',
  inputSchema: z.array(z.number()),
  outputSchema: Sum,
  execute: async ({ inputData }) => ({ count: inputData.length, sum: inputData.reduce((a, b) => a + b, 0) }),
});
const fanWorkflow = (concurrency: number) =>
  createWorkflow({ id: `fan-${concurrency}`, inputSchema: z.object({ n: z.number() }), outputSchema: Sum })
    .then(gen)
    .foreach(work, { concurrency })
    .then(sum)
    .commit();

const double = createStep({ id: 'double', inputSchema: X, outputSchema: X, execute: async ({ inputData }) => ({ x: 2 * inputData.x }) });
const finish = createStep({ id: 'finish', inputSchema: X, outputSchema: z.number(), execute: async ({ inputData }) => inputData.x + 1 });
const tinyWorkflow = createWorkflow({ id: 'tiny', inputSchema: X, outputSchema: z.number() }).then(double).then(finish).commit();

const writerStep = createStep({
  id: 'writer',
  inputSchema: z.object({ n: z.number() }),
  outputSchema: z.number(),
  execute: async ({ inputData, writer }) => {
    for (let i = 0; i < inputData.n; i++) await writer.write(i);
    return inputData.n;
  },
});
const streamWorkflow = createWorkflow({ id: 'stream', inputSchema: z.object({ n: z.number() }), outputSchema: z.number() })
  .then(writerStep)
  .commit();

function resultOf<T>(r: { status: string; result?: unknown; error?: unknown }): T {
  if (r.status !== 'success') throw new Error(`run ended ${r.status}: ${String(r.error)}`);
  return r.result as T;
}

const engine: Engine = {
  async chain(n) {
    const wf = createWorkflow({ id: 'chain', inputSchema: K, outputSchema: K })
      .dountil(inc, async ({ inputData }) => inputData.k >= n)
      .commit();
    const run = await wf.createRun();
    return resultOf<{ k: number }>(await run.start({ inputData: { k: 0 } })).k;
  },

  async fanOut(n, concurrency) {
    const run = await fanWorkflow(concurrency ?? n).createRun();
    return resultOf(await run.start({ inputData: { n } }));
  },

  async tiny(i) {
    const run = await tinyWorkflow.createRun();
    return resultOf(await run.start({ inputData: { x: i } }));
  },

  async stream(n) {
    const run = await streamWorkflow.createRun();
    const out = run.stream({ inputData: { n } });
    let read = 0;
    for await (const chunk of out.fullStream) if (chunk.type === 'workflow-step-output') read++;
    resultOf(await out.result);
    return read;
  },

  async longRun(n, _store, mark) {
    const step = createStep({
      id: 'step',
      inputSchema: K,
      outputSchema: K,
      execute: async ({ inputData }) => {
        const k = inputData.k + 1;
        mark(k);
        await macrotask();
        return { k };
      },
    });
    const long = createWorkflow({ id: 'long', inputSchema: K, outputSchema: K })
      .dountil(step, async ({ inputData }) => inputData.k >= n)
      .commit();
    const storage = new InMemoryStore();
    const mastra = new Mastra({ storage, workflows: { long }, logger: false });
    const wf = mastra.getWorkflow('long');
    const run = await wf.createRun();
    const k = resultOf<{ k: number }>(await run.start({ inputData: { k: 0 } })).k;
    const saved = await wf.getWorkflowRunById(run.runId);
    if (saved?.status !== 'success') throw new Error(`the store holds status ${saved?.status}, not success`);
    return k;
  },

  async park(n) {
    const gate = createStep({
      id: 'gate',
      inputSchema: X,
      outputSchema: X,
      resumeSchema: z.object({ go: z.boolean() }),
      execute: async ({ inputData, resumeData, suspend }) => {
        if (resumeData === undefined) return await suspend({});
        return { x: 2 * inputData.x };
      },
    });
    const park = createWorkflow({ id: 'park', inputSchema: X, outputSchema: z.number() }).then(gate).then(finish).commit();
    const mastra = new Mastra({ storage: new InMemoryStore(), workflows: { park }, logger: false });
    const wf = mastra.getWorkflow('park');
    const runs = await Promise.all(Array.from({ length: n }, () => wf.createRun()));
    const started = await Promise.all(runs.map((run, i) => run.start({ inputData: { x: i } })));
    const notParked = started.findIndex((s) => s.status !== 'suspended');
    if (notParked !== -1) throw new Error(`run ${notParked} is ${started[notParked]?.status}, not suspended`);
    started.length = 0;
    return async () => {
      const done = await Promise.all(runs.map((run) => run.resume({ step: 'gate', resumeData: { go: true } })));
      return done.map((r) => resultOf(r));
    };
  },
};

runChild(engine, 'mastra');
