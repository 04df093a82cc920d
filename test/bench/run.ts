/**
 * `npm run bench`: sluice vs a plain-RxJS floor vs LangGraph.js, Mastra and (historical) LlamaIndex, side by
 * side; then what a sluice run costs as it grows (flat.ts) and W3 through sluice/bullmq (distributed.ts).
 * `npm run bench -- soak`: the soak (soak.ts) only; `npm run bench -- flat`: the flat-cost table only;
 * `npm run bench -- profile [W1,W3seq,W4] [sluice,rxjs]`: CPU profiles summarised (profile.ts).
 *
 * Every measurement is a fresh child process (`node --expose-gc --import tsx engines/<engine>.ts <workload>`):
 * importing LlamaIndex or LangGraph turns on async-context tracking for the whole process, which would slow
 * the others. Repeats alternate engines (the order rotates each repeat) so drift hits all of them alike.
 *
 * Environment:
 *   BENCH_QUICK=1            small sizes, 2 repeats (a smoke run)
 *   BENCH_REPEATS=n          repeats per figure (default 5); BENCH_PEER_REPEATS (default 3) for the peers
 *   BENCH_ONLY=W1,M          only these workloads (ids in workloads.ts; W3dist = the sluice/bullmq table;
 *                            flat = the flat-cost table, flat:heap,flat:writes,flat:park,flat:keyed,flat:rate its rows)
 *   BENCH_ENGINES=rxjs,mastra   only these engines (rxjs, sluice, langgraph, mastra, llamaindex)
 *   BENCH_LONG_RUN_BUDGET=s  seconds a W5 run may take before it is reported unfinished (default 60)
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
  LONG_RUN_BUDGET_S,
  PEERS,
  QUICK,
  RESULT_PREFIX,
  WORKLOADS,
  type ChildResult,
  type EngineId,
  type WorkloadId,
} from './workloads.js';

const ALL_ENGINES: EngineId[] = ['rxjs', 'sluice', 'langgraph', 'mastra', 'llamaindex'];
const list = (name: string): string[] | undefined => process.env[name]?.split(',').map((s) => s.trim()).filter(Boolean);
// Five repeats: the shortest figures (W4 measures 60–90 ms) move 20 % between processes on a busy host, and
// a median of three still swung whole tables.
const REPEATS = Number(process.env['BENCH_REPEATS'] ?? (QUICK ? 2 : 5));
/** The slow peers repeat fewer times (their runs take seconds); three, so the median is a middle run, not a mean of two. */
const PEER_REPEATS = Math.min(REPEATS, Number(process.env['BENCH_PEER_REPEATS'] ?? (QUICK ? 1 : 3)));
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
  values: number[]; // seconds per item (rate) or bytes per item (memory), one per repeat
  size: number;
  error?: string;
  skipped?: string; // why the workload could not run here (no server)
  unsupported?: string; // why the engine cannot express the workload
  flatness: number[]; // long runs
  /** A long run cut at its budget: how far it got (no further repeats). */
  unfinished?: { steps: number; of: number; seconds: number; phase: string };
}

/**
 * Servers for the workloads that need one: given in SLUICE_PG_URL / SLUICE_REDIS_URL, else started here;
 * either way the URL reaches the children in that variable. Resolves why a server could not be had.
 */
async function acquireServers(started: Service[], extra: ServerKind[]): Promise<Map<ServerKind, string>> {
  const unavailable = new Map<ServerKind, string>();
  const kinds = new Set([
    ...extra,
    ...ONLY.flatMap((id) => {
      const w = WORKLOADS[id];
      const runs = ENGINES.some((e) => w.engines?.includes(e) ?? true);
      return w.needs !== undefined && runs ? [w.needs] : [];
    }),
  ]);
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
      for (const engine of engines) figures.set(`${id}/${engine}`, { values: [], flatness: [], size: WORKLOADS[id].size, skipped });
      continue;
    }
    for (let rep = 0; rep < REPEATS; rep++) {
      // Rotate the order each repeat: no engine always runs first, or always right after another.
      const order = engines.map((_, i) => engines[(i + rep) % engines.length]!);
      for (const engine of order) {
        if (PEERS.includes(engine) && rep >= PEER_REPEATS) continue;
        const key = `${id}/${engine}`;
        const fig = figures.get(key) ?? { values: [], flatness: [], size: WORKLOADS[id].size };
        figures.set(key, fig);
        // Failed, unsupported or unfinished once: the figure is settled.
        if (fig.error !== undefined || fig.unsupported !== undefined || fig.unfinished !== undefined) continue;
        const t0 = Date.now();
        const r = await child(engine, id);
        let said: string;
        if (r.ok) {
          fig.size = r.size;
          if (r.flatness !== undefined) fig.flatness.push(r.flatness);
          if (r.unfinished !== undefined) {
            fig.unfinished = { steps: r.size, of: r.unfinished.of, seconds: r.value, phase: r.unfinished.phase };
            said = `did not finish: ${r.size} of ${r.unfinished.of} steps (${r.unfinished.phase}) in ${r.value.toFixed(0)} s`;
          } else {
            // Rates come as seconds for the run (per item here); memory already as bytes per item.
            const perItem = WORKLOADS[id].kind === 'memory' ? r.value : r.value / r.size;
            fig.values.push(perItem);
            said = `${format(id, perItem)}${r.flatness === undefined ? '' : `, flatness ${r.flatness.toFixed(2)}`}`;
          }
        } else if ('unsupported' in r) {
          fig.unsupported = r.unsupported;
          said = `n/a: ${r.unsupported}`;
        } else {
          fig.error = r.error;
          said = `FAILED ${r.error.split('\n')[0]}`;
        }
        process.stderr.write(`${id} ${engine} #${rep + 1}: ${said} (${((Date.now() - t0) / 1000).toFixed(1)}s)\n`);
      }
    }
  }
  return figures;
}

/** Human figure from one cost per item: a rate from seconds per item, or bytes. */
function format(id: WorkloadId, perItem: number): string {
  const w = WORKLOADS[id];
  if (w.kind === 'memory') return perItem >= 1024 ? `${(perItem / 1024).toFixed(1)} KiB` : `${Math.round(perItem)} B`;
  return `${rate(1 / perItem)}/s`;
}

const rate = (r: number): string =>
  r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)} k` : r >= 10 ? r.toFixed(0) : r.toFixed(1);
const short = (n: number): string => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : n.toLocaleString('en-US'));

function table(figures: Map<string, Figure>): { text: string; failed: boolean } {
  let failed = false;
  const notes: string[] = [];
  const note = (text: string): string => {
    notes.push(text);
    return `[${notes.length}]`;
  };
  const cell = (id: WorkloadId, engine: EngineId): { text: string; cost?: number } => {
    const f = figures.get(`${id}/${engine}`);
    if (f === undefined) return { text: '—' };
    const w = WORKLOADS[id];
    if (f.skipped !== undefined) {
      if (process.env[REQUIRE_ENV] === '1') failed = true;
      return { text: `skipped ${note(`${id} on ${engine}: skipped, no ${w.needs ?? ''} server: ${f.skipped.split('\n')[0]}`)}` };
    }
    if (f.unsupported !== undefined) return { text: `n/a ${note(`${id} on ${ENGINE_LABELS[engine]}: ${f.unsupported}`)}` };
    if (f.error !== undefined) {
      failed = true;
      return { text: `**FAIL** ${note(`${id} on ${engine}: ${f.error.split('\n')[0]}`)}` };
    }
    const flat = f.flatness.length > 0 ? `, flat ${median(f.flatness).toFixed(2)}` : '';
    if (f.unfinished !== undefined) {
      const u = f.unfinished;
      const why =
        `${id} on ${ENGINE_LABELS[engine]}: did not finish within the ${LONG_RUN_BUDGET_S} s budget ` +
        `(${u.phase} run: ${u.steps.toLocaleString('en-US')} of ${u.of.toLocaleString('en-US')} steps in ${u.seconds.toFixed(0)} s` +
        `${flat === '' ? '' : `; flatness of the steps done${flat.slice(6)}`})`;
      return { text: `**DNF**: ${short(u.steps)} of ${short(u.of)} in ${u.seconds.toFixed(0)} s (${rate(u.steps / u.seconds)}/s) ${note(why)}` };
    }
    const med = median(f.values);
    const sized = f.size === w.size ? '' : ` (n = ${short(f.size)})`;
    return { text: `${format(id, med)}${sized}${flat}`, cost: med };
  };
  const engines = ENGINES.filter((e) => e !== 'rxjs');
  const peers = engines.filter((e) => e !== 'sluice');
  const head = ['workload', 'size', 'unit', ENGINE_LABELS.rxjs];
  if (engines.includes('sluice')) head.push('sluice', '× floor');
  for (const p of peers) head.push(ENGINE_LABELS[p], engines.includes('sluice') ? 'sluice ×' : '');
  const rows = [head, head.map(() => '---')];
  for (const id of ONLY) {
    const w = WORKLOADS[id];
    const floor = cell(w.floorOf ?? id, 'rxjs');
    const floorText = w.floorOf === undefined ? floor.text : `(see ${w.floorOf})`;
    const row = [w.title, short(w.size), w.unit, ENGINES.includes('rxjs') ? floorText : '—'];
    const mine = engines.includes('sluice') ? cell(id, 'sluice') : undefined;
    if (mine !== undefined) {
      const ratio = mine.cost !== undefined && floor.cost !== undefined ? (mine.cost / floor.cost).toFixed(2) : '—';
      row.push(mine.text, ratio);
    }
    for (const p of peers) {
      const runs = w.engines?.includes(p) ?? true;
      const c = runs ? cell(id, p) : { text: '—' };
      // How many times cheaper sluice is than the peer (time per item, or bytes per run).
      const ahead = mine?.cost !== undefined && c.cost !== undefined ? `${(c.cost / mine.cost).toFixed(c.cost / mine.cost >= 10 ? 0 : 1)}` : '—';
      row.push(c.text, ahead);
    }
    rows.push(row);
  }
  const cpu = cpus();
  const text = [
    `Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${process.platform}/${process.arch}` +
      `${QUICK ? ', BENCH_QUICK (small sizes)' : ''}`,
    '',
    `Median of ${REPEATS} repeats (the peers: ${PEER_REPEATS}), each in a fresh process after one warm-up run. ` +
      '"× floor": cost relative to plain RxJS (time per item, or bytes per run; 1.00 = as cheap as the floor). ' +
      '"sluice ×": how many times cheaper sluice is than that engine. "(n = …)": run at a smaller size. ' +
      '"flat": time of the last 1 000 steps ÷ the first 1 000. Every run\'s result was checked.',
    '',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    ...(notes.length > 0 ? ['', ...notes.map((n, i) => `[${i + 1}] ${n}`)] : []),
  ].join('\n');
  return { text, failed };
}

/** Another bench script (distributed.ts, flat.ts, soak.ts) as a child; its stdout table. */
function script(name: string, node: string[] = [], args: string[] = []): Promise<{ ok: boolean; text: string }> {
  const file = fileURLToPath(new URL(`./${name}`, import.meta.url));
  return new Promise((resolve) => {
    // Inherits SLUICE_PG_URL / SLUICE_REDIS_URL when servers were started above, so every table uses them.
    const proc = spawn(process.execPath, [...node, '--import', 'tsx', file, ...args], {
      cwd: ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'test', 'bench', 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    proc.stdout.on('data', (d: Buffer) => (text += d.toString()));
    proc.on('close', (code) => resolve({ ok: code === 0, text }));
  });
}

/**
 * `npm run bench` runs the engine table, then the flat-cost table (flat.ts) and the sluice/bullmq table
 * (distributed.ts). `npm run bench -- soak` runs only the soak (soak.ts); `-- flat` only the flat-cost table.
 */
const mode = process.argv[2];
const only = list('BENCH_ONLY');
const wantsFlat = mode === 'flat' || (mode === undefined && (only?.some((o) => o.startsWith('flat')) ?? true));
const wantsDist = mode === undefined && (only?.includes('W3dist') ?? true);
const wantsTable = mode === undefined && (only === undefined || ONLY.length > 0);
const t0 = Date.now();
const started: Service[] = [];
const tables: { title: string; ok: boolean; text: string }[] = [];
let figures: Map<string, Figure> | undefined;
try {
  if (mode === 'soak') {
    tables.push({ title: 'Soak', ...(await script('soak.ts', ['--expose-gc'])) });
  } else if (mode === 'profile') {
    tables.push({ title: 'CPU profiles', ...(await script('profile.ts', [], process.argv.slice(3))) });
  } else {
    const unavailable = await acquireServers(started, wantsFlat ? ['postgres', 'redis'] : []);
    if (wantsTable) figures = await measure(unavailable);
    if (wantsFlat) tables.push({ title: 'Flat cost and flow control (sluice)', ...(await script('flat.ts')) });
    if (wantsDist) tables.push({ title: 'W3 through sluice/bullmq (worker processes on this machine)', ...(await script('distributed.ts')) });
  }
} finally {
  await Promise.allSettled(started.map((s) => s.dispose()));
}
let failed = false;
for (const t of tables) {
  process.stdout.write(`\n${t.title}:\n\n${t.text}`);
  if (!t.ok) failed = true;
}
// The engine table last: the output ends in it.
if (figures !== undefined) {
  const main = table(figures);
  process.stdout.write(`\nEngines side by side:\n\n${main.text}\n`);
  if (main.failed) failed = true;
}
process.stderr.write(`npm run bench took ${((Date.now() - t0) / 60_000).toFixed(1)} min\n`);
process.exitCode = failed ? 1 : 0;
