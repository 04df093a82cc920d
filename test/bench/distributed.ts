/**
 * `npx tsx test/bench/distributed.ts`: W3 (many tiny runs: start → step → stop, input i, result 2i+1) through
 * `sluice/bullmq`, with 1, 2 and 4 worker processes.
 *
 * Each figure is a fresh set of worker processes (RedisStore checkpoints, concurrency BENCH_DIST_CONCURRENCY
 * each) on a queue of its own; this process is the dispatcher: it enqueues every run at once and awaits every
 * result (`dispatcher.result`, i.e. through the event Streams), so a figure is end to end, start to result.
 * One warm-up batch first, then the measured one; every result is checked.
 *
 * Environment:
 *   BENCH_QUICK=1            small sizes, 1 repeat
 *   BENCH_REPEATS=n          repeats per figure (default 3)
 *   BENCH_WORKERS=1,2,4      worker process counts
 *   BENCH_DIST_RUNS=n        runs per measurement (default 4 000)
 *   BENCH_DIST_CONCURRENCY=n runs each worker holds at once (default 50)
 *   SLUICE_REDIS_URL         a Redis to use; otherwise a throwaway redis-server is started on loopback
 *
 * Prints progress on stderr and a markdown table on stdout; exits 1 if a run was wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Dispatcher, worker } from '../../src/bullmq/index.js';
import { event, StartEvent, StopEvent, workflow } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { dropKeys } from '../bullmq/support.js';
import { tryStart, URL_ENV, type Service } from '../support/services.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const REPEATS = Number(process.env['BENCH_REPEATS'] ?? (QUICK ? 1 : 3));
const WORKERS = (process.env['BENCH_WORKERS'] ?? '1,2,4').split(',').map(Number);
const RUNS = Number(process.env['BENCH_DIST_RUNS'] ?? (QUICK ? 500 : 4_000));
const CONCURRENCY = Number(process.env['BENCH_DIST_CONCURRENCY'] ?? 50);
const WARM_UP = Math.min(500, RUNS);

const Mid = event('Mid');
const tiny = workflow<number>('tiny')
  .step('double', { accepts: [StartEvent] }, async (ev) => Mid.of(2 * (ev.data as number)))
  .step('finish', { accepts: [Mid] }, async (ev) => StopEvent.of({ result: (ev.data as number) + 1 }));

/** Worker mode: `distributed.ts worker <url> <queue> <prefix>`; prints `ready`, stops on SIGTERM. */
async function workerMain(url: string, queue: string, prefix: string): Promise<void> {
  const store = new RedisStore({ url, prefix });
  const w = worker([tiny], { connection: url, store, queue, prefix, concurrency: CONCURRENCY });
  await w.ready();
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void w.close().then(async () => {
      await store.close();
      process.exit(0);
    });
  });
}

function spawnWorker(url: string, queue: string, prefix: string): Promise<ChildProcess> {
  const script = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, ['--import', 'tsx', script, 'worker', url, queue, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
  });
}

async function stopWorker(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Start `n` runs at once and await every result; resolves the seconds taken. */
async function batch(dispatcher: Dispatcher, n: number): Promise<number> {
  const t0 = performance.now();
  const runs = await Promise.all(Array.from({ length: n }, (_, i) => dispatcher.start<number>(tiny, i)));
  const results = await Promise.all(runs.map((run) => run.result));
  const seconds = (performance.now() - t0) / 1000;
  const wrong = results.findIndex((r, i) => r !== 2 * i + 1);
  if (wrong !== -1) throw new Error(`run ${wrong}: expected ${2 * wrong + 1}, got ${String(results[wrong])}`);
  return seconds;
}

/** CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
function cpuOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100 Hz)
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds the Redis server has used so far. */
async function redisCpu(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return field('used_cpu_sys') + field('used_cpu_user');
}

interface Measurement {
  rate: number;
  /** CPU ms per run: all workers together, this (dispatcher) process, the Redis server. */
  cpu: { workers: number; dispatcher: number; redis: number };
}

/** One measurement with `count` fresh worker processes. */
async function measure(url: string, count: number): Promise<Measurement> {
  const id = randomUUID().slice(0, 8);
  const queue = `bench-${id}`;
  const prefix = `bench:${id}:`;
  const procs = await Promise.all(Array.from({ length: count }, () => spawnWorker(url, queue, prefix)));
  const dispatcher = new Dispatcher({ connection: url, queue, prefix });
  const admin = new Redis(url);
  try {
    await batch(dispatcher, WARM_UP);
    const before = { workers: procs.map((p) => cpuOf(p.pid)), dispatcher: process.cpuUsage(), redis: await redisCpu(admin) };
    const seconds = await batch(dispatcher, RUNS);
    const used = process.cpuUsage(before.dispatcher);
    const perRun = (cpuSeconds: number) => (cpuSeconds * 1000) / RUNS;
    return {
      rate: RUNS / seconds,
      cpu: {
        workers: perRun(procs.reduce((sum, p, i) => sum + cpuOf(p.pid) - (before.workers[i] as number), 0)),
        dispatcher: perRun((used.user + used.system) / 1e6),
        redis: perRun((await redisCpu(admin)) - before.redis),
      },
    };
  } finally {
    admin.disconnect();
    await Promise.all(procs.map(stopWorker));
    await dispatcher.close();
    await dropKeys(url, prefix, queue);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  let service: Service | undefined;
  let url = process.env[URL_ENV.redis];
  if (url === undefined || url === '') {
    const started = await tryStart('redis');
    if ('reason' in started) throw new Error(`no Redis for the benchmark: ${started.reason}`);
    service = started;
    url = started.url;
  }
  const rows: string[][] = [];
  let base: number | undefined;
  try {
    for (const count of WORKERS) {
      const ms: Measurement[] = [];
      for (let rep = 0; rep < REPEATS; rep++) {
        const m = await measure(url, count);
        ms.push(m);
        process.stderr.write(
          `W3 via BullMQ, ${count} worker(s) #${rep + 1}: ${m.rate.toFixed(0)} runs/s; CPU ms per run: ` +
            `workers ${m.cpu.workers.toFixed(2)}, dispatcher ${m.cpu.dispatcher.toFixed(2)}, redis ${m.cpu.redis.toFixed(2)}\n`,
        );
      }
      const med = median(ms.map((m) => m.rate));
      base ??= med;
      const cpu = (key: keyof Measurement['cpu']) => median(ms.map((m) => m.cpu[key])).toFixed(2);
      rows.push([
        String(count),
        `${med.toFixed(0)} (best ${Math.max(...ms.map((m) => m.rate)).toFixed(0)})`,
        (med / base).toFixed(2),
        cpu('workers'),
        cpu('dispatcher'),
        cpu('redis'),
      ]);
    }
  } finally {
    await service?.dispose();
  }
  const cpu = cpus();
  process.stdout.write(
    [
      `Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}); Redis on loopback (store, queue and events)`,
      '',
      `W3 through sluice/bullmq: ${RUNS.toLocaleString('en-US')} tiny runs enqueued at once, end to end (start → result), ` +
        `median of ${REPEATS}; each worker a process holding up to ${CONCURRENCY} runs.`,
      '',
      'CPU columns: milliseconds of CPU per run (medians), summed over the worker processes, in the dispatcher, in Redis.',
      '',
      '| worker processes | runs/s | × 1 worker | CPU ms/run: workers | dispatcher | Redis |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
    ].join('\n'),
  );
}

if (process.argv[2] === 'worker') {
  await workerMain(process.argv[3] as string, process.argv[4] as string, process.argv[5] as string);
} else {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
