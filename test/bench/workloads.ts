/**
 * The benchmark workloads: names, sizes, how each is driven and what a correct run returns.
 *
 * Each engine file (engines/<engine>.ts) implements {@link Engine} and ends with `runChild(engine)`;
 * the driver (run.ts) starts it once per repeat as its own process:
 *
 *   node --expose-gc --import tsx test/bench/engines/<engine>.ts <workload>
 *
 * The child warms up with one full-size run, then measures one run, checks every result and prints one
 * line `BENCH_RESULT {json}` on stdout. A wrong result is a failure, not a number.
 */
import { setImmediate as tick } from 'node:timers/promises';
import { URL_ENV, type ServerKind } from '../support/services.js';

/** BENCH_QUICK=1: small sizes for a smoke run. */
export const QUICK = process.env['BENCH_QUICK'] === '1';
const size = (full: number, quick: number): number => (QUICK ? quick : full);

/** What every engine implements (the sluice-only variants are optional). */
export interface Engine {
  /**
   * W1: one run, ping-pong between two async steps. Start counts as event 0; the step receiving event k
   * answers with event k+1 of the other kind, or, when k = n, with Stop(k). Resolves the stop result (n).
   */
  chain(n: number): Promise<unknown>;
  /** W2/W2c: start emits n Work events, a worker answers each, a collector gathers n; resolves {count, sum}. */
  fanOut(n: number, concurrency: number | undefined): Promise<unknown>;
  /** W3: one tiny run (start → step → stop) with input i; resolves 2i+1. */
  tiny(input: number): Promise<unknown>;
  /** W4: a step writes n stream events; resolves how many a consumer read before the run ended. */
  stream(n: number): Promise<unknown>;
  /**
   * M: start n runs (input i, result 2i+1) and leave each parked mid-workflow (paused where the engine
   * can pause); resolves once all are parked, with a function that lets them finish and gives the results.
   */
  park(n: number): Promise<() => Promise<unknown[]>>;
  /** W1 with a FileStore checkpointing after every dispatch (sluice only). */
  chainWithFileStore?(n: number): Promise<unknown>;
  /** W1 with a PostgresStore at `url` checkpointing after every dispatch (sluice only). */
  chainWithPostgresStore?(n: number, url: string): Promise<unknown>;
  /** W1 with a RedisStore at `url` checkpointing after every dispatch (sluice only). */
  chainWithRedisStore?(n: number, url: string): Promise<unknown>;
  /** W1 with a pino logger at level silent (sluice only). */
  chainWithSilentLogger?(n: number): Promise<unknown>;
}

export type EngineId = 'rxjs' | 'llamaindex' | 'sluice';
export const ENGINE_LABELS: Record<EngineId, string> = {
  rxjs: 'plain RxJS (floor)',
  llamaindex: 'LlamaIndex 1.3.4',
  sluice: 'sluice',
};

interface Workload {
  title: string;
  /** 'rate': items per second (higher is better); 'memory': bytes per item (lower is better). */
  kind: 'rate' | 'memory';
  unit: string;
  size: number;
  /** Engines that run it; all when absent. */
  engines?: EngineId[];
  /**
   * A server the workload needs. run.ts starts one as the store tests do (test/support/services.ts) unless
   * SLUICE_PG_URL / SLUICE_REDIS_URL names one, hands the URL to the children in that variable, and skips
   * the row with a note when no server can be had.
   */
  needs?: ServerKind;
  /** The floor row to compare with, when the workload has no floor of its own. */
  floorOf?: WorkloadId;
  /** Drive one measured unit of work. */
  run(engine: Engine, n: number): Promise<unknown>;
  /** undefined when `result` is right, else what is wrong. */
  check(result: unknown, n: number): string | undefined;
}

export type WorkloadId = 'W1' | 'W2' | 'W2c' | 'W3seq' | 'W3par' | 'W4' | 'M' | 'W1file' | 'W1pg' | 'W1redis' | 'W1pino';

const sameAs = (expected: unknown) => (result: unknown): string | undefined =>
  JSON.stringify(result) === JSON.stringify(expected)
    ? undefined
    : `expected ${JSON.stringify(expected)}, got ${JSON.stringify(result)?.slice(0, 200)}`;

/** Result i must be 2i+1 (W3 and M). */
function tinyResults(results: unknown, n: number): string | undefined {
  if (!Array.isArray(results) || results.length !== n) return `expected ${n} results`;
  const wrong = results.findIndex((r, i) => r !== 2 * i + 1);
  return wrong === -1 ? undefined : `run ${wrong}: expected ${2 * wrong + 1}, got ${JSON.stringify(results[wrong])}`;
}

/** Run `count` tasks with at most `concurrency` in flight, keeping results in index order. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

const W3_IN_FLIGHT = 100;
const W2C_CONCURRENCY = 8;

export const WORKLOADS: Record<WorkloadId, Workload> = {
  W1: {
    title: 'W1 chain: 1 run, ping-pong',
    kind: 'rate',
    unit: 'events/s',
    size: size(100_000, 2_000),
    run: (e, n) => e.chain(n),
    check: (r, n) => sameAs(n)(r),
  },
  W2: {
    title: 'W2 fan-out/fan-in',
    kind: 'rate',
    unit: 'events/s',
    size: size(10_000, 500),
    run: (e, n) => e.fanOut(n, undefined),
    check: (r, n) => sameAs({ count: n, sum: (n * (n - 1)) / 2 })(r),
  },
  W2c: {
    title: `W2c fan-out/fan-in, worker concurrency ${W2C_CONCURRENCY}`,
    kind: 'rate',
    unit: 'events/s',
    size: size(10_000, 500),
    run: (e, n) => e.fanOut(n, W2C_CONCURRENCY),
    check: (r, n) => sameAs({ count: n, sum: (n * (n - 1)) / 2 })(r),
  },
  W3seq: {
    title: 'W3 many tiny runs, sequential',
    kind: 'rate',
    unit: 'runs/s',
    size: size(10_000, 300),
    run: (e, n) => pool(n, 1, (i) => e.tiny(i)),
    check: tinyResults,
  },
  W3par: {
    title: `W3 many tiny runs, ${W3_IN_FLIGHT} in flight`,
    kind: 'rate',
    unit: 'runs/s',
    size: size(10_000, 300),
    run: (e, n) => pool(n, W3_IN_FLIGHT, (i) => e.tiny(i)),
    check: tinyResults,
  },
  W4: {
    title: 'W4 stream: events read by a consumer',
    kind: 'rate',
    unit: 'events/s',
    size: size(100_000, 2_000),
    run: (e, n) => e.stream(n),
    check: (r, n) => sameAs(n)(r),
  },
  M: {
    title: 'M heap per parked run (10k held)',
    kind: 'memory',
    unit: 'bytes/run',
    size: size(10_000, 500),
    // Measured by measureMemory; `run` is the warm-up (park and release).
    run: async (e, n) => (await e.park(n))(),
    check: tinyResults,
  },
  W1file: {
    title: 'W1 + FileStore checkpoint per dispatch',
    kind: 'rate',
    unit: 'events/s',
    size: size(100_000, 500),
    engines: ['sluice'],
    floorOf: 'W1',
    run: (e, n) => need(e.chainWithFileStore, 'chainWithFileStore')(n),
    check: (r, n) => sameAs(n)(r),
  },
  W1pg: {
    title: 'W1 + PostgresStore checkpoint per dispatch',
    kind: 'rate',
    unit: 'events/s',
    size: size(100_000, 500),
    engines: ['sluice'],
    needs: 'postgres',
    floorOf: 'W1',
    run: (e, n) => need(e.chainWithPostgresStore, 'chainWithPostgresStore')(n, serverUrl('postgres')),
    check: (r, n) => sameAs(n)(r),
  },
  W1redis: {
    title: 'W1 + RedisStore checkpoint per dispatch',
    kind: 'rate',
    unit: 'events/s',
    size: size(100_000, 500),
    engines: ['sluice'],
    needs: 'redis',
    floorOf: 'W1',
    run: (e, n) => need(e.chainWithRedisStore, 'chainWithRedisStore')(n, serverUrl('redis')),
    check: (r, n) => sameAs(n)(r),
  },
  W1pino: {
    title: 'W1 + pino logger (level silent)',
    kind: 'rate',
    unit: 'events/s',
    size: size(100_000, 2_000),
    engines: ['sluice'],
    floorOf: 'W1',
    run: (e, n) => need(e.chainWithSilentLogger, 'chainWithSilentLogger')(n),
    check: (r, n) => sameAs(n)(r),
  },
};

function need<F>(f: F | undefined, name: string): F {
  if (f === undefined) throw new Error(`engine does not implement ${name}`);
  return f;
}

/** Where the server a workload needs is (set by run.ts for its children). */
function serverUrl(kind: ServerKind): string {
  const url = process.env[URL_ENV[kind]];
  if (url === undefined || url === '') throw new Error(`no ${kind} server: ${URL_ENV[kind]} is not set`);
  return url;
}

/** One child's answer on stdout. `value` is seconds (rate) or bytes per item (memory). */
export type ChildResult = { ok: true; value: number; size: number } | { ok: false; error: string };
export const RESULT_PREFIX = 'BENCH_RESULT ';

async function measureRate(engine: Engine, w: Workload): Promise<number> {
  const fail = (phase: string, r: unknown): void => {
    const wrong = w.check(r, w.size);
    if (wrong !== undefined) throw new Error(`wrong result (${phase}): ${wrong}`);
  };
  fail('warm-up', await w.run(engine, w.size));
  // No forced GC here: it throws away optimised code and slows the next run (see notes).
  const t0 = performance.now();
  const result = await w.run(engine, w.size);
  const seconds = (performance.now() - t0) / 1000;
  fail('measured', result);
  return seconds;
}

async function measureMemory(engine: Engine, w: Workload): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const settle = async (): Promise<number> => {
    await tick();
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const warm = w.check(await w.run(engine, w.size), w.size);
  if (warm !== undefined) throw new Error(`wrong result (warm-up): ${warm}`);
  const before = await settle();
  const release = await engine.park(w.size);
  const after = await settle();
  const wrong = w.check(await release(), w.size);
  if (wrong !== undefined) throw new Error(`wrong result (measured): ${wrong}`);
  return (after - before) / w.size;
}

/** Entry point of an engine child process: measure the workload named in argv[2] and report. */
export function runChild(engine: Engine): void {
  const report = (r: ChildResult): void => {
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(r)}\n`, () => process.exit(r.ok ? 0 : 1));
  };
  const failed = (e: unknown): void => report({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.on('unhandledRejection', failed);
  process.on('uncaughtException', failed);

  const id = process.argv[2] as WorkloadId;
  const w = WORKLOADS[id];
  if (w === undefined) return failed(new Error(`unknown workload ${String(id)}`));
  (w.kind === 'memory' ? measureMemory(engine, w) : measureRate(engine, w)).then(
    (value) => report({ ok: true, value, size: w.size }),
    failed,
  );
}
