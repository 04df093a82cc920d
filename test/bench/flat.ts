/**
 * `npm run bench -- flat` (also part of the full `npm run bench`): what one sluice run costs as it grows
 * (issue 16, "flat cost"), and the flow-control rows (issue 18). Each figure is measured once, in a fresh
 * process (`flat.ts <measure> <args…>`); the parent prints a markdown table.
 *
 * - heap N: a chain run (two async steps, default options) routes N events, then its step awaits a gate:
 *   heap retained by that live run (forced GC, minus the heap before it started), and the bytes of its snapshot
 *   as JSON (nothing pending, one step in flight).
 * - writes STORE N: a chain of N steps, each awaiting `setImmediate`, checkpointing to STORE (file, postgres,
 *   redis) through a counting wrapper: events routed per store write, and bytes per write (the JSON of what
 *   `save` was given: the snapshot, plus the journal once stores take one).
 * - park N: N runs, each inside its first step, are all paused (`pause()`, until quiescent with the step's
 *   output pending), then all resumed to their results: both times (and that of the `resume()` calls alone),
 *   and heap per parked run (the snapshots `pause()` resolved with dropped first: they are the caller's).
 * - unparked N: the reference for park — the same N runs with no pause, from opening their gate to results.
 * - floorpark N: the floor for park — plain RxJS's N runs (engines/rxjs.ts) parked at its pause gate, resumed to results.
 * - keyed N K: a step with `concurrency: { limit: 1, key }` over K keys, N events: events/s, checked that no
 *   key ever had two invocations at once, each key's events ran in order and to its last, and keys ran side
 *   by side (the limit is per key, not global).
 * - rate N: a step with `rateLimit: { limit: 10, interval: 1000 }` in virtual time (sluice/testing), N events
 *   sent at once: checked that no 1 000 virtual ms started more than 10, each window [k s, (k+1) s) started
 *   exactly 10 (the last, the rest), and the last start is at the time the limit implies.
 *
 * Environment: BENCH_QUICK=1 (small sizes), BENCH_ONLY=flat:heap,flat:writes,… (rows), SLUICE_PG_URL /
 * SLUICE_REDIS_URL (run.ts starts throwaway servers when run from there).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as macrotask, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  event,
  FileStore,
  StartEvent,
  StopEvent,
  workflow,
  type CheckpointStore,
  type EventType,
  type RunHandle,
} from 'sluice';
import { virtualTime } from 'sluice/testing';
import { PostgresStore } from 'sluice/postgres';
import { RedisStore } from 'sluice/redis';
import { URL_ENV } from '../support/services.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const PREFIX = 'FLAT_RESULT ';
const Ping = event('Ping');
const Pong = event('Pong');
const Mid = event('Mid');
const Job = event('Job');
const num = (ev: { data: unknown }): number => ev.data as number;

const gcNow = async (): Promise<number> => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  await macrotask();
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** The W1 chain, except that the step receiving event n awaits `gate` before it stops the run. */
function gatedChain(n: number, gate: Promise<void>, io: boolean, store?: CheckpointStore, atGate?: () => void) {
  const next = async (k: number, other: EventType<unknown, string>) => {
    if (io) await macrotask();
    if (k < n) return other.of(k + 1);
    atGate?.();
    await gate;
    return StopEvent.of({ result: k });
  };
  return workflow('chain', store === undefined ? {} : { store })
    .step('ping', { accepts: [StartEvent, Pong] }, async (ev) => (StartEvent.is(ev) ? Ping.of(1) : next(num(ev), Ping)))
    .step('pong', { accepts: [Ping] }, async (ev) => next(num(ev), Pong));
}

async function heap(n: number): Promise<Record<string, unknown>> {
  const before = await gcNow();
  let open!: () => void;
  let reached!: () => void;
  const atGate = new Promise<void>((resolve) => (reached = resolve));
  const gate = new Promise<void>((resolve) => (open = resolve));
  const t0 = performance.now();
  const run = gatedChain(n, gate, false, undefined, reached).run(0);
  await atGate; // the step that received event n is in flight, awaiting the gate
  const seconds = (performance.now() - t0) / 1000;
  const after = await gcNow();
  let snapshotBytes: number | string;
  try {
    snapshotBytes = Buffer.byteLength(JSON.stringify(run.snapshot()));
  } catch (error) {
    snapshotBytes = `JSON.stringify failed: ${(error as Error).message}`;
  }
  open();
  const result = await run.result;
  if (result !== n) throw new Error(`expected ${n}, got ${String(result)}`);
  return { events: n, retained: after - before, snapshotBytes, seconds };
}

/** A store that counts what it is asked to write (and passes every argument on, journal included). */
function counting(inner: CheckpointStore): { store: CheckpointStore; writes: number; bytes: number; journaled: number } {
  const tally = { writes: 0, bytes: 0, journaled: 0 };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'save') {
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return (...args: unknown[]) => {
        tally.writes++;
        tally.bytes += Buffer.byteLength(JSON.stringify(args[0]));
        if (Array.isArray(args[1])) {
          tally.journaled += args[1].length;
          tally.bytes += Buffer.byteLength(JSON.stringify(args[1]));
        }
        return (target.save as (...a: unknown[]) => Promise<void>)(...args);
      };
    },
  });
  return {
    store,
    get writes() {
      return tally.writes;
    },
    get bytes() {
      return tally.bytes;
    },
    get journaled() {
      return tally.journaled;
    },
  };
}

async function openStore(kind: string): Promise<{ store: CheckpointStore; close(): Promise<void> }> {
  if (kind === 'file') {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-flat-'));
    return { store: new FileStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
  }
  const url = process.env[kind === 'postgres' ? URL_ENV.postgres : URL_ENV.redis];
  if (url === undefined || url === '') throw new Error(`no ${kind} server`);
  if (kind === 'postgres') {
    const table = `sluice_flat_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    return {
      store: new PostgresStore({ pool, table }),
      close: async () => {
        await pool.query(`DROP TABLE IF EXISTS ${table}`);
        await pool.end();
      },
    };
  }
  const store = new RedisStore({ url, prefix: `sluice-flat:${randomUUID().slice(0, 8)}:` });
  return {
    store,
    close: async () => {
      await store.prune();
      await store.close();
    },
  };
}

async function writes(kind: string, n: number): Promise<Record<string, unknown>> {
  const { store, close } = await openStore(kind);
  try {
    const c = counting(store);
    const t0 = performance.now();
    const run = gatedChain(n, Promise.resolve(), true, c.store).run(0);
    const result = await run.result;
    await run.flush();
    const seconds = (performance.now() - t0) / 1000;
    if (result !== n) throw new Error(`expected ${n}, got ${String(result)}`);
    const saved = await store.load(run.id);
    if (saved?.status !== 'completed') throw new Error(`the store holds ${saved?.status}, not completed`);
    // Once stores keep a journal (issue 16), it must hold every RunEvent once, in seq order, up to the snapshot's.
    const reader = (store as { events?: (id: string) => Promise<{ seq: number; kind: string }[]> }).events;
    if (typeof reader === 'function' && c.journaled > 0) {
      const journal = await reader.call(store, run.id);
      const out = journal.findIndex((e, i) => i > 0 && e.seq <= journal[i - 1]!.seq);
      if (out !== -1) throw new Error(`journal out of order at ${out}`);
      if ((journal.at(-1)?.seq ?? 0) > saved.seq) throw new Error(`journal goes to seq ${journal.at(-1)?.seq}, beyond the snapshot's ${saved.seq}`);
      const routed = journal.filter((e) => e.kind === 'event_routed').length;
      if (routed < n) throw new Error(`the journal holds ${routed} event_routed entries for ${n} routed events`);
    }
    // n events routed (Ping/Pong 1..n) plus the StartEvent and the StopEvent.
    return { events: n + 2, writes: c.writes, bytes: c.bytes, journaled: c.journaled, seconds };
  } finally {
    await close();
  }
}

/** n runs of the park workflow, each inside its first step (awaiting `gate`), and the function that opens it. */
async function parkRuns(n: number): Promise<{ runs: RunHandle[]; open: () => void }> {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const wf = workflow('park')
    .step('first', { accepts: [StartEvent] }, async (ev) => {
      await gate;
      return Mid.of(2 * num(ev));
    })
    .step('second', { accepts: [Mid] }, async (ev) => StopEvent.of({ result: num(ev) + 1 }));
  const runs = Array.from({ length: n }, (_, i) => wf.run(i));
  await sleep(50); // the first dispatch is on the scheduler: let every run enter its first step
  return { runs, open };
}

function checkParked(results: unknown[]): void {
  const wrong = results.findIndex((r, i) => r !== 2 * i + 1);
  if (wrong !== -1) throw new Error(`run ${wrong}: expected ${2 * wrong + 1}, got ${String(results[wrong])}`);
}

/**
 * Pause every run, open their gate, and wait until all are paused; returns the seconds. The snapshots pause()
 * resolved with are the caller's, not what a parked run holds: awaited here, they go with this frame.
 */
async function pauseAll(runs: RunHandle[], open: () => void): Promise<number> {
  const t0 = performance.now();
  const pausing = runs.map((r) => r.pause());
  open();
  await Promise.all(pausing);
  return (performance.now() - t0) / 1000;
}

async function park(n: number): Promise<Record<string, unknown>> {
  const before = await gcNow();
  const parked = await parkRuns(n);
  let runs = parked.runs;
  const parkSeconds = await pauseAll(runs, parked.open);
  const notParked = runs.findIndex((r) => r.status !== 'paused');
  if (notParked !== -1) throw new Error(`run ${notParked} is ${runs[notParked]?.status}, not paused`);
  const after = await gcNow();
  const t1 = performance.now();
  for (const r of runs) r.resume();
  const resumeCallSeconds = (performance.now() - t1) / 1000;
  const results = await Promise.all(runs.map((r) => r.result));
  const resumeSeconds = (performance.now() - t1) / 1000;
  runs = [];
  checkParked(results);
  return { runs: n, parkSeconds, resumeCallSeconds, resumeSeconds, heapPerRun: (after - before) / n };
}

/** The reference for park: the same n runs, the gate opened with no pause, all to their results. */
async function unparked(n: number): Promise<Record<string, unknown>> {
  const { runs, open } = await parkRuns(n);
  const t0 = performance.now();
  open();
  const results = await Promise.all(runs.map((r) => r.result));
  const seconds = (performance.now() - t0) / 1000;
  checkParked(results);
  return { runs: n, seconds };
}

/** The floor for park: plain RxJS's runs (engines/rxjs.ts), parked at its pause gate, then all resumed to results. */
async function floorPark(n: number): Promise<Record<string, unknown>> {
  const { engine } = await import('./engines/rxjs.js');
  const release = await (engine.park as (n: number) => Promise<() => Promise<unknown[]>>)(n);
  const t0 = performance.now();
  const results = await release();
  const seconds = (performance.now() - t0) / 1000;
  checkParked(results);
  return { runs: n, seconds };
}

async function keyed(n: number, keys: number): Promise<Record<string, unknown>> {
  const keyOf = (ev: { data: unknown }) => `k${num(ev) % keys}`;
  const active = new Set<string>();
  const lastSeen = new Map<string, number>();
  let violations = 0;
  let done = 0;
  let peak = 0; // keys running side by side at once: a per-key limit must not become a global one
  const wf = workflow('keyed')
    .step('start', { accepts: [StartEvent] }, async () => Array.from({ length: n }, (_, i) => Job.of(i)))
    .step('job', { accepts: [Job], concurrency: { limit: 1, key: keyOf } }, async (ev) => {
      const key = keyOf(ev);
      // Never two of one key at once, and each key's events in the order they were sent.
      if (active.has(key) || (lastSeen.get(key) ?? -1) > num(ev)) violations++;
      active.add(key);
      peak = Math.max(peak, active.size);
      lastSeen.set(key, num(ev));
      await macrotask();
      active.delete(key);
      return ++done === n ? StopEvent.of({ result: done }) : undefined;
    });
  const t0 = performance.now();
  const result = await wf.run(0).result;
  const seconds = (performance.now() - t0) / 1000;
  const last = [...lastSeen.values()];
  const unfinished = last.length !== keys || last.some((v) => v < n - keys) ? ' (a key did not reach its last event)' : '';
  if (result !== n || violations > 0 || peak < 2 || unfinished !== '')
    throw new Error(`result ${String(result)} of ${n}, ${violations} per-key violations, at most ${peak} keys at once${unfinished}`);
  return { events: n, keys, seconds, peak };
}

async function rate(n: number): Promise<Record<string, unknown>> {
  const limit = 10;
  const interval = 1000;
  const vt = virtualTime();
  const starts: number[] = [];
  let result: unknown;
  const wf = workflow('rate', { timeout: null })
    .step('start', { accepts: [StartEvent] }, () => Array.from({ length: n }, (_, i) => Job.of(i)))
    .step('job', { accepts: [Job], rateLimit: { limit, interval } }, (ev) => {
      starts.push(vt.scheduler.now());
      return starts.length === n ? StopEvent.of({ result: num(ev) }) : undefined;
    });
  const t0 = performance.now();
  vt.run(() => {
    const run = vt.start(wf, 0);
    run.result$.subscribe((r) => (result = r));
  });
  const seconds = (performance.now() - t0) / 1000;
  // Starts in any `interval` of virtual time (a sliding window, as the slots free), and in each window
  // [k·interval, (k+1)·interval): with every event sent at 0, each is exactly `limit` (the last, the rest).
  let worst = 0;
  for (let i = 0, j = 0; i < starts.length; i++) {
    while (starts[i]! - starts[j]! >= interval) j++;
    worst = Math.max(worst, i - j + 1);
  }
  const perWindow = new Map<number, number>();
  for (const t of starts) perWindow.set(Math.floor(t / interval), (perWindow.get(Math.floor(t / interval)) ?? 0) + 1);
  const windows = Math.ceil(n / limit);
  const uneven = [...Array(windows).keys()].filter((k) => perWindow.get(k) !== Math.min(limit, n - k * limit));
  const lastExpected = (windows - 1) * interval;
  const last = starts.at(-1);
  if (starts.length !== n || worst > limit || uneven.length > 0 || perWindow.size !== windows || last !== lastExpected || result !== n - 1)
    throw new Error(
      `${starts.length} starts of ${n}, at most ${worst} per ${interval} ms (limit ${limit}), ${uneven.length} windows not full ` +
        `(first: ${uneven[0]}), last at ${String(last)} (expected ${lastExpected}), result ${String(result)}`,
    );
  return { events: n, virtualMs: last, windows, seconds };
}

// ---- the parent: one child per figure, one table --------------------------------------------------

interface Row {
  what: string;
  cells: string[];
  target: string;
}

function childRun(args: string[]): Promise<Record<string, unknown>> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=6144', '--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), Number(process.env['BENCH_CHILD_TIMEOUT'] ?? 300) * 1000);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(PREFIX));
      if (line !== undefined) return resolve(JSON.parse(line.slice(PREFIX.length)) as Record<string, unknown>);
      const lines = err.trim().split('\n');
      const cause = lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '';
      resolve({ error: `${signal === 'SIGKILL' ? 'killed (timeout or out of memory)' : `exit ${String(code ?? signal)}`}: ${cause.trim()}` });
    });
  });
}

const kib = (b: number): string => (b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(1)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${Math.round(b)} B`);
const failedCell = (r: Record<string, unknown>): string | undefined =>
  typeof r['error'] === 'string' ? `**FAIL**: ${r['error'].slice(0, 160)}` : typeof r['unsupported'] === 'string' ? `n/a: ${r['unsupported']}` : undefined;

async function parent(): Promise<void> {
  const only = process.env['BENCH_ONLY']?.split(',').map((s) => s.trim());
  const wants = (row: string): boolean => only === undefined || only.includes(`flat:${row}`) || only.includes('flat');
  const rows: Row[] = [];
  let failed = false;
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const note = (r: Record<string, unknown>): Record<string, unknown> => {
    if (typeof r['error'] === 'string') failed = true;
    return r;
  };

  if (wants('heap')) {
    const sizes = QUICK ? [1_000, 10_000] : [10_000, 1_000_000];
    const rs = [];
    for (const n of sizes) {
      const r = note(await childRun(['heap', String(n)]));
      log(`flat heap ${n}: ${JSON.stringify(r)}`);
      rs.push(r);
    }
    rows.push({
      what: `heap retained by a live chain run after ${sizes.map((s) => s.toLocaleString('en-US')).join(' / ')} events`,
      cells: rs.map((r) => failedCell(r) ?? kib(r['retained'] as number)),
      target: '≤ 16 MiB',
    });
    rows.push({
      what: `its snapshot as JSON (nothing pending), ${sizes.map((s) => s.toLocaleString('en-US')).join(' / ')} events`,
      cells: rs.map((r) => failedCell(r) ?? (typeof r['snapshotBytes'] === 'number' ? kib(r['snapshotBytes']) : String(r['snapshotBytes']))),
      target: '≤ 16 KiB',
    });
  }

  if (wants('writes')) {
    const sizes = QUICK ? [200, 1_000] : [1_000, 10_000];
    for (const kind of ['file', 'postgres', 'redis']) {
      if (kind !== 'file' && !process.env[kind === 'postgres' ? URL_ENV.postgres : URL_ENV.redis]) {
        rows.push({ what: `${kind}: events per write / bytes per write`, cells: ['skipped: no server'], target: '' });
        continue;
      }
      const rs = [];
      for (const n of sizes) {
        const r = note(await childRun(['writes', kind, String(n)]));
        log(`flat writes ${kind} ${n}: ${JSON.stringify(r)}`);
        rs.push(r);
      }
      const per = (r: Record<string, unknown>) => (r['bytes'] as number) / (r['writes'] as number);
      const cells = rs.map(
        (r) =>
          failedCell(r) ??
          `${((r['events'] as number) / (r['writes'] as number)).toFixed(1)} events/write, ${kib(per(r))}/write ` +
            `(${r['writes'] as number} writes, ${((r['events'] as number) / (r['seconds'] as number)).toFixed(0)} steps/s)`,
      );
      const [a, b] = rs;
      const growth = a !== undefined && b !== undefined && failedCell(a) === undefined && failedCell(b) === undefined ? ` — bytes/write ×${(per(b) / per(a)).toFixed(1)}` : '';
      rows.push({
        what: `${kind === 'file' ? 'FileStore' : kind === 'postgres' ? 'PostgresStore' : 'RedisStore'}: chain of I/O steps, ${sizes.map((s) => s.toLocaleString('en-US')).join(' / ')} steps${growth}`,
        cells,
        target: '≤ 2 events/write; bytes/write ×≤ 1.3',
      });
    }
  }

  if (wants('park')) {
    const n = QUICK ? 5_000 : 100_000;
    const r = note(await childRun(['park', String(n)]));
    log(`flat park ${n}: ${JSON.stringify(r)}`);
    const u = note(await childRun(['unparked', String(n)]));
    log(`flat unparked ${n}: ${JSON.stringify(u)}`);
    const floor = note(await childRun(['floorpark', String(n)]));
    log(`flat floorpark ${n}: ${JSON.stringify(floor)}`);
    const f = failedCell(r) ?? failedCell(u) ?? failedCell(floor);
    const s = (key: string, from = r) => `${(from[key] as number).toFixed(2)} s`;
    rows.push({
      what: `park ${n.toLocaleString('en-US')} runs with pause(), then resume them all`,
      cells: [
        f ??
          `pause all ${s('parkSeconds')} + resume all to results ${s('resumeSeconds')} (the resume() calls ${s('resumeCallSeconds')}) ` +
            `= ${((r['parkSeconds'] as number) + (r['resumeSeconds'] as number)).toFixed(2)} s; the same runs with no pause: ${s('seconds', u)}; ` +
            `plain RxJS (the floor) resuming its ${n.toLocaleString('en-US')} parked runs to results: ${s('seconds', floor)}; ` +
            `${kib(r['heapPerRun'] as number)} heap per parked run`,
      ],
      target: '≤ 2 s in total; ≤ 2 KiB per run',
    });
  }

  if (wants('keyed')) {
    const [n, keys] = QUICK ? [1_000, 100] : [10_000, 1_000];
    const r = note(await childRun(['keyed', String(n), String(keys)]));
    log(`flat keyed: ${JSON.stringify(r)}`);
    rows.push({
      what: `concurrency { limit: 1, key } over ${keys.toLocaleString('en-US')} keys, ${n.toLocaleString('en-US')} events (each awaits setImmediate)`,
      cells: [
        failedCell(r) ??
          `${((r['events'] as number) / (r['seconds'] as number)).toFixed(0)} events/s; checked: per-key order, never two of a key at once, ` +
            `up to ${String(r['peak'])} keys side by side`,
      ],
      target: 'verified',
    });
  }

  if (wants('rate')) {
    const n = QUICK ? 200 : 10_000;
    const r = note(await childRun(['rate', String(n)]));
    log(`flat rate: ${JSON.stringify(r)}`);
    rows.push({
      what: `rateLimit { limit: 10, interval: 1000 } in virtual time, ${n.toLocaleString('en-US')} events`,
      cells: [
        failedCell(r) ??
          `${((r['events'] as number) / (r['seconds'] as number)).toFixed(0)} events/s wall; checked: exactly 10 starts in each of ` +
            `${String(r['windows'])} windows of 1 000 virtual ms, never 11 in any 1 000 ms, last start at ${String(r['virtualMs'])} ms`,
      ],
      target: 'verified',
    });
  }

  const width = Math.max(...rows.map((r) => r.cells.length));
  process.stdout.write(
    [
      'What a sluice run costs as it grows (one measurement each, fresh process, forced GC for heap figures):',
      '',
      `| measure | ${Array.from({ length: width }, (_, i) => (i === 0 ? 'figure (first size)' : 'second size')).join(' | ')} | target |`,
      `| --- | ${Array.from({ length: width }, () => '---').join(' | ')} | --- |`,
      ...rows.map((r) => `| ${r.what} | ${[...r.cells, ...Array.from({ length: width - r.cells.length }, () => '')].join(' | ')} | ${r.target} |`),
      '',
    ].join('\n'),
  );
  process.exitCode = failed ? 1 : 0;
}

const [mode, ...rest] = process.argv.slice(2);
const measures: Record<string, (...a: string[]) => Promise<Record<string, unknown>>> = {
  heap: (n) => heap(Number(n)),
  writes: (kind, n) => writes(kind!, Number(n)),
  park: (n) => park(Number(n)),
  unparked: (n) => unparked(Number(n)),
  floorpark: (n) => floorPark(Number(n)),
  keyed: (n, k) => keyed(Number(n), Number(k)),
  rate: (n) => rate(Number(n)),
};
const measure = mode === undefined ? undefined : measures[mode];
if (measure === undefined) {
  await parent();
} else {
  try {
    const r = await measure(...rest);
    process.stdout.write(`${PREFIX}${JSON.stringify(r)}\n`, () => process.exit(0));
  } catch (error) {
    process.stdout.write(`${PREFIX}${JSON.stringify({ error: (error as Error).stack ?? String(error) })}\n`, () => process.exit(1));
  }
}
