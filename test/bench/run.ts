/**
 * `npm run bench`: sluice vs @llamaindex/workflow-core vs a plain-RxJS floor, side by side.
 *
 * Every measurement is a fresh child process (`node --expose-gc --import tsx engines/<engine>.ts <workload>`):
 * importing LlamaIndex turns on async-context tracking for the whole process, which would slow the others.
 * Repeats alternate engines (the order rotates each repeat) so drift hits all of them alike.
 *
 * Environment:
 *   BENCH_QUICK=1            small sizes, 2 repeats (a smoke run)
 *   BENCH_REPEATS=n          repeats per figure (default 5)
 *   BENCH_ONLY=W1,M          only these workloads (ids in workloads.ts; W3dist = the sluice/bullmq table)
 *   BENCH_ENGINES=rxjs,llamaindex   only these engines
 *   BENCH_CHILD_TIMEOUT=s    kill a child after s seconds (default 600)
 *   SLUICE_PG_URL, SLUICE_REDIS_URL   servers for the W1 + PostgresStore / RedisStore rows; without them
 *                            throwaway servers are started on loopback as for the store tests (and stopped
 *                            at the end); when none can be had those rows are skipped with a note
 *                            (SLUICE_START_SERVICES=0: never start one; SLUICE_REQUIRE_SERVICES=1: fail instead)
 *
 * Prints progress on stderr and a markdown table on stdout; exits 1 if any run failed or was wrong.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { REQUIRE_ENV, URL_ENV, tryStart, type ServerKind, type Service } from '../support/services.js';
import {
  ENGINE_LABELS,
  QUICK,
  RESULT_PREFIX,
  WORKLOADS,
  type ChildResult,
  type EngineId,
  type WorkloadId,
} from './workloads.js';

const ALL_ENGINES: EngineId[] = ['rxjs', 'llamaindex', 'sluice'];
const list = (name: string): string[] | undefined => process.env[name]?.split(',').map((s) => s.trim()).filter(Boolean);
const REPEATS = Number(process.env['BENCH_REPEATS'] ?? (QUICK ? 2 : 5));
const ENGINES = ALL_ENGINES.filter((e) => list('BENCH_ENGINES')?.includes(e) ?? true);
const ONLY = (Object.keys(WORKLOADS) as WorkloadId[]).filter((w) => list('BENCH_ONLY')?.includes(w) ?? true);
const CHILD_TIMEOUT_MS = Number(process.env['BENCH_CHILD_TIMEOUT'] ?? 600) * 1000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Run one measurement in its own process. */
function child(engine: EngineId, workload: WorkloadId): Promise<ChildResult> {
  const script = fileURLToPath(new URL(`./engines/${engine}.ts`, import.meta.url));
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, workload], {
      cwd: ROOT,
      // sluice is measured from its build (dist/, made by `npm run bench`), as users run it.
      env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'test', 'bench', 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (line !== undefined) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult);
      const why = signal === 'SIGKILL' ? `killed after ${CHILD_TIMEOUT_MS / 1000}s` : `exit ${code ?? signal}`;
      const lines = stderr.trim().split('\n');
      const cause = lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '';
      resolve({ ok: false, error: `${why}, no result: ${cause.trim()}` });
    });
  });
}

interface Figure {
  values: number[]; // seconds per run (rate) or bytes per item (memory), one per repeat
  size: number;
  error?: string;
  skipped?: string; // why the workload could not run here (no server)
}

/**
 * Servers for the workloads that need one: given in SLUICE_PG_URL / SLUICE_REDIS_URL, else started here;
 * either way the URL reaches the children in that variable. Resolves why a server could not be had.
 */
async function acquireServers(started: Service[]): Promise<Map<ServerKind, string>> {
  const unavailable = new Map<ServerKind, string>();
  const kinds = new Set(
    ONLY.flatMap((id) => {
      const w = WORKLOADS[id];
      const runs = ENGINES.some((e) => w.engines?.includes(e) ?? true);
      return w.needs !== undefined && runs ? [w.needs] : [];
    }),
  );
  for (const kind of kinds) {
    const given = process.env[URL_ENV[kind]];
    if (given !== undefined && given !== '') continue;
    const outcome = await tryStart(kind);
    if ('reason' in outcome) {
      unavailable.set(kind, outcome.reason);
      process.stderr.write(`no ${kind} server, its workloads are skipped: ${outcome.reason}\n`);
    } else {
      started.push(outcome);
      process.env[URL_ENV[kind]] = outcome.url;
    }
  }
  return unavailable;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function measure(unavailable: Map<ServerKind, string>): Promise<Map<string, Figure>> {
  const figures = new Map<string, Figure>();
  for (const id of ONLY) {
    const engines = ENGINES.filter((e) => WORKLOADS[id].engines?.includes(e) ?? true);
    const needs = WORKLOADS[id].needs;
    const skipped = needs === undefined ? undefined : unavailable.get(needs);
    if (skipped !== undefined) {
      for (const engine of engines) figures.set(`${id}/${engine}`, { values: [], size: WORKLOADS[id].size, skipped });
      continue;
    }
    for (let rep = 0; rep < REPEATS; rep++) {
      // Rotate the order each repeat: no engine always runs first, or always right after another.
      const order = engines.map((_, i) => engines[(i + rep) % engines.length]!);
      for (const engine of order) {
        const key = `${id}/${engine}`;
        const fig = figures.get(key) ?? { values: [], size: WORKLOADS[id].size };
        figures.set(key, fig);
        if (fig.error !== undefined) continue; // failed once: the figure is void
        const t0 = Date.now();
        const r = await child(engine, id);
        if (r.ok) fig.values.push(r.value);
        else fig.error = r.error;
        process.stderr.write(
          `${id} ${engine} #${rep + 1}: ${r.ok ? format(id, r.value, r.size) : `FAILED ${r.error.split('\n')[0]}`} (${((Date.now() - t0) / 1000).toFixed(1)}s)\n`,
        );
      }
    }
  }
  return figures;
}

/** Human figure from one raw value: a rate from seconds, or bytes. */
function format(id: WorkloadId, value: number, size: number): string {
  const w = WORKLOADS[id];
  if (w.kind === 'memory') return value >= 1024 ? `${(value / 1024).toFixed(1)} KiB` : `${Math.round(value)} B`;
  const rate = size / value;
  const s = rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M` : rate >= 1e3 ? `${(rate / 1e3).toFixed(1)} k` : rate.toFixed(0);
  return `${s}/s`;
}

function table(figures: Map<string, Figure>): { text: string; failed: boolean } {
  let failed = false;
  const notes: string[] = [];
  const cell = (id: WorkloadId, engine: EngineId): { text: string; cost?: number } => {
    const f = figures.get(`${id}/${engine}`);
    if (f === undefined) return { text: '—' };
    if (f.skipped !== undefined) {
      if (process.env[REQUIRE_ENV] === '1') failed = true;
      notes.push(`${id} on ${engine}: skipped, no ${WORKLOADS[id].needs ?? ''} server: ${f.skipped.split('\n')[0]}`);
      return { text: `skipped [${notes.length}]` };
    }
    if (f.error !== undefined) {
      failed = true;
      notes.push(`${id} on ${engine}: ${f.error.split('\n')[0]}`);
      return { text: `**FAIL** [${notes.length}]` };
    }
    const med = median(f.values);
    return { text: `${format(id, med, f.size)} (best ${format(id, Math.min(...f.values), f.size)})`, cost: med / f.size };
  };
  const engines = ENGINES.filter((e) => e !== 'rxjs');
  const head = ['workload', 'size', 'unit', ENGINE_LABELS.rxjs, ...engines.flatMap((e) => [ENGINE_LABELS[e], '× floor'])];
  const rows = [head, head.map(() => '---')];
  for (const id of ONLY) {
    const w = WORKLOADS[id];
    const floor = cell(w.floorOf ?? id, 'rxjs');
    const floorText = w.floorOf === undefined ? floor.text : `(see ${w.floorOf})`;
    const row = [w.title, w.size.toLocaleString('en-US'), w.unit, ENGINES.includes('rxjs') ? floorText : '—'];
    for (const e of engines) {
      const c = cell(id, e);
      const ratio = c.cost !== undefined && floor.cost !== undefined ? `${(c.cost / floor.cost).toFixed(2)}` : '—';
      row.push(c.text, ratio);
    }
    rows.push(row);
  }
  const cpu = cpus();
  const text = [
    `Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${process.platform}/${process.arch}` +
      `${QUICK ? ', BENCH_QUICK (small sizes)' : ''}`,
    '',
    `Median of ${REPEATS} repeats, each in a fresh process after one warm-up run; in parentheses the best repeat ` +
      '(min time / min bytes). "× floor" is the cost relative to plain RxJS: time per item, or bytes per run; ' +
      'lower is better, 1.00 = as cheap as the floor. Every run\'s result was checked.',
    '',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    ...(notes.length > 0 ? ['', ...notes.map((n, i) => `[${i + 1}] ${n}`)] : []),
  ].join('\n');
  return { text, failed };
}

/** W3 through sluice/bullmq with 1, 2 and 4 worker processes (test/bench/distributed.ts); its table. */
function distributed(): Promise<{ ok: boolean; text: string }> {
  const script = fileURLToPath(new URL('./distributed.ts', import.meta.url));
  return new Promise((resolve) => {
    // Inherits SLUICE_REDIS_URL when a server was started above, so both tables use the same Redis.
    const proc = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    proc.stdout.on('data', (d: Buffer) => (text += d.toString()));
    proc.on('close', (code) => resolve({ ok: code === 0, text }));
  });
}

const started: Service[] = [];
let figures: Map<string, Figure>;
let dist: { ok: boolean; text: string } | undefined;
try {
  figures = await measure(await acquireServers(started));
  if (list('BENCH_ONLY')?.includes('W3dist') ?? true) dist = await distributed();
} finally {
  await Promise.allSettled(started.map((s) => s.dispose()));
}
const { text, failed } = table(figures);
process.stdout.write(`${text}\n`);
if (dist !== undefined) process.stdout.write(`\nW3 through sluice/bullmq (worker processes on this machine):\n\n${dist.text}`);
process.exitCode = failed || dist?.ok === false ? 1 : 0;
