/**
 * `npm run bench -- soak`: 10 000 concurrent sluice runs under random control — pause, resume, abort, respond —
 * each outcome checked against a small model, and the heap checked back at its baseline afterwards.
 *
 * Each run (input i): step `ask` awaits a macrotask, and for even i asks for input (`ctx.requestInput`);
 * step `work` then hands itself 10–19 events, each after a macrotask, and stops with 2i + answer (answer 1
 * when nothing was asked).
 * The model: a run that was aborted while it had not ended is `aborted` (code `aborted`); every other run is
 * `completed` with 2i + the answer it was given. A controller ticks every millisecond: on each tick it picks
 * random live runs and acts on their current status (running → pause/abort; paused → resume/abort;
 * waiting → respond/pause/abort); after CONTROL_MS it stops pausing and aborting, resumes everything and
 * answers every request, so every run ends.
 *
 * Environment: BENCH_SOAK_RUNS (default 10 000; 1 000 with BENCH_QUICK=1), BENCH_SOAK_SEED (default random,
 * printed), BENCH_SOAK_CONTROL_MS (default 3 000). Prints a markdown table; exits 1 on any inconsistency.
 */
import { setImmediate as macrotask, setTimeout as sleep } from 'node:timers/promises';
import { event, StartEvent, StopEvent, workflow, WorkflowError, type RunHandle } from 'sluice';

const QUICK = process.env['BENCH_QUICK'] === '1';
const RUNS = Number(process.env['BENCH_SOAK_RUNS'] ?? (QUICK ? 1_000 : 10_000));
const SEED = Number(process.env['BENCH_SOAK_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CONTROL_MS = Number(process.env['BENCH_SOAK_CONTROL_MS'] ?? (QUICK ? 1_000 : 3_000));
/** Heap after the soak may exceed the baseline by this much (allocator slack, code, caches). */
const HEAP_SLACK = 8 * 1024 * 1024;

/** mulberry32: a small seeded PRNG, so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const Mid = event('Mid');
/** Each run hops HOPS..2·HOPS times through `work` after its input, a macrotask each: long enough to be controlled. */
const HOPS = 10;
const wf = workflow('soak', { timeout: null })
  .step('ask', { accepts: [StartEvent] }, async (ev, ctx) => {
    const i = ev.data as number;
    await macrotask();
    const answer = i % 2 === 0 ? await ctx.requestInput<number>('a number?') : 1;
    return Mid.of({ i, answer, left: HOPS + (i % HOPS) });
  })
  .step('work', { accepts: [Mid] }, async (ev) => {
    const { i, answer, left } = ev.data as { i: number; answer: number; left: number };
    await macrotask();
    return left > 0 ? Mid.of({ i, answer, left: left - 1 }) : StopEvent.of({ result: 2 * i + answer });
  });

interface Model {
  aborted: boolean;
  answer?: number;
}

interface Tally {
  pauses: number;
  resumes: number;
  aborts: number;
  responds: number;
  rejected: Record<string, number>; // control calls the engine refused, by error code
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const heapNow = async (): Promise<number> => {
  await macrotask();
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

async function soak(): Promise<{ ok: boolean; text: string }> {
  const random = prng(SEED);
  // Warm up (code, caches), then take the baseline.
  await Promise.all(Array.from({ length: 200 }, (_, i) => {
    const r = wf.run(2 * i + 1);
    return r.result;
  }));
  const baseline = await heapNow();
  const tally: Tally = { pauses: 0, resumes: 0, aborts: 0, responds: 0, rejected: {} };
  const t0 = performance.now();
  let runs: RunHandle[] = Array.from({ length: RUNS }, (_, i) => wf.run(i));
  const models: Model[] = runs.map(() => ({ aborted: false }));
  let peak = 0;
  const attempt = (f: () => void): boolean => {
    try {
      f();
      return true;
    } catch (error) {
      const code = error instanceof WorkflowError ? error.code : `not a WorkflowError: ${String(error)}`;
      tally.rejected[code] = (tally.rejected[code] ?? 0) + 1;
      return false;
    }
  };
  const respond = (run: RunHandle, i: number): void => {
    // Snapshot v2 tags waits with a kind ('input' | 'sleep' | 'event'); v1 entries are all input requests.
    const open = run.snapshot().waiting.find((w) => (w as { kind?: string }).kind === undefined || (w as { kind?: string }).kind === 'input');
    if (open === undefined) return;
    const answer = 1 + Math.floor(random() * 100);
    if (attempt(() => run.respond(open.requestId, answer))) {
      models[i]!.answer = answer;
      tally.responds++;
    }
  };

  // Control phase: random actions on random live runs, for CONTROL_MS after every run has started (and at
  // least 20 ticks, however slow the machine).
  const live = new Set(runs.keys());
  const tc = performance.now();
  let ticks = 0;
  while ((performance.now() - tc < CONTROL_MS || ticks < 20) && live.size > 0) {
    ticks++;
    const picks = Math.max(1, Math.floor(live.size / 10));
    const ids = [...live];
    for (let p = 0; p < picks; p++) {
      const i = ids[Math.floor(random() * ids.length)]!;
      const run = runs[i]!;
      const x = random();
      switch (run.status) {
        case 'running':
          if (x < 0.3) {
            tally.pauses++;
            void run.pause().catch(() => undefined);
          } else if (x < 0.33) {
            models[i]!.aborted = true;
            tally.aborts++;
            run.abort();
          }
          break;
        case 'paused':
          if (x < 0.7) {
            tally.resumes++;
            attempt(() => run.resume());
          } else if (x < 0.75) {
            models[i]!.aborted = true;
            tally.aborts++;
            run.abort();
          }
          break;
        case 'waiting':
          if (x < 0.6) respond(run, i);
          else if (x < 0.75) {
            tally.pauses++;
            void run.pause().catch(() => undefined);
          } else if (x < 0.78) {
            models[i]!.aborted = true;
            tally.aborts++;
            run.abort();
          }
          break;
        default:
          live.delete(i);
      }
    }
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    await sleep(1);
  }

  // Drain phase: resume everything, answer every request, until every run has ended.
  const drainStart = performance.now();
  while (live.size > 0) {
    for (const i of [...live]) {
      const run = runs[i]!;
      if (run.status === 'paused') attempt(() => run.resume());
      else if (run.status === 'waiting') respond(run, i);
      else if (run.status !== 'running') live.delete(i);
    }
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    if (performance.now() - drainStart > 120_000) break;
    await sleep(5);
  }

  // Check every outcome against the model.
  const outcomes = await Promise.all(
    runs.map((r) => r.result.then((value) => ({ value }), (error: unknown) => ({ error }))),
  );
  const wrong: string[] = [];
  let completed = 0;
  let aborted = 0;
  outcomes.forEach((o, i) => {
    const m = models[i]!;
    const status = runs[i]!.status;
    if ('error' in o) {
      const code = o.error instanceof WorkflowError ? o.error.code : String(o.error);
      if (m.aborted && code === 'aborted' && status === 'aborted') aborted++;
      else wrong.push(`run ${i}: failed ${code} (status ${status}), model: ${m.aborted ? 'aborted' : 'completed'}`);
      return;
    }
    const expected = 2 * i + (i % 2 === 0 ? (m.answer ?? NaN) : 1);
    // An abort that came after the run had already ended changes nothing: completed is right then too.
    if (o.value === expected && status === 'completed') completed++;
    else wrong.push(`run ${i}: completed with ${String(o.value)} (status ${status}), expected ${m.aborted ? 'aborted or ' : ''}${expected}`);
  });
  if (live.size > 0) wrong.unshift(`${live.size} runs never ended (drain phase gave up after 120 s)`);
  const seconds = (performance.now() - t0) / 1000;
  runs = [];
  outcomes.length = 0;
  const after = await heapNow();
  const heapOk = after - baseline <= HEAP_SLACK;
  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  const rejected = Object.entries(tally.rejected).map(([code, n]) => `${code} ×${n}`).join(', ') || 'none';
  const text = [
    `Soak: ${RUNS.toLocaleString('en-US')} concurrent runs under random control for ${CONTROL_MS} ms (${ticks} ticks), then drained; seed ${SEED}.`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| runs completed / aborted (model-consistent) | ${completed.toLocaleString('en-US')} / ${aborted.toLocaleString('en-US')} |`,
    `| inconsistent outcomes | ${wrong.length === 0 ? '0' : `**${wrong.length}**`} |`,
    `| control calls: pause / resume / abort / respond | ${tally.pauses} / ${tally.resumes} / ${tally.aborts} / ${tally.responds} |`,
    `| control calls the engine refused (by code) | ${rejected} |`,
    `| wall time | ${seconds.toFixed(1)} s |`,
    `| heap: baseline → peak → after (forced GC) | ${mib(baseline)} → ${mib(peak)} → ${mib(after)} (${after - baseline >= 0 ? '+' : ''}${mib(after - baseline)}${heapOk ? ', back at baseline' : ', **NOT back at baseline**'}) |`,
    ...(wrong.length > 0 ? ['', 'First inconsistencies:', ...wrong.slice(0, 10).map((w) => `- ${w}`)] : []),
    '',
  ].join('\n');
  return { ok: wrong.length === 0 && heapOk, text };
}

const { ok, text } = await soak();
process.stdout.write(text);
process.exitCode = ok ? 0 : 1;
