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
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
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
  /**
   * W5: one run of n steps in sequence, each awaiting a macrotask (`setImmediate`), with the engine's
   * checkpointing on (`store` picks the backend; `url` its server). Step k (1..n) calls `mark(k)` as it starts.
   * Resolves n.
   */
  longRun?(n: number, store: LongRunStore, mark: (k: number) => void, url?: string): Promise<unknown>;
  /** Workloads this engine cannot express, with the reason (shown as n/a, never faked). */
  readonly unsupported?: Partial<Record<WorkloadId, string>>;
}

export type LongRunStore = 'memory' | 'file' | 'postgres' | 'redis';

export type EngineId = 'rxjs' | 'sluice' | 'langgraph' | 'mastra' | 'llamaindex';
export const ENGINE_LABELS: Record<EngineId, string> = {
  rxjs: 'plain RxJS (floor)',
  sluice: 'sluice',
  langgraph: 'LangGraph.js 1.7.3',
  mastra: 'Mastra 1.71.0',
  llamaindex: 'LlamaIndex 1.3.4 (historical)',
};
/**
 * The peers are 10–100× slower than sluice: they run the same workload at a smaller size where said
 * (`Workload.peerSize`; rates are per item, so the figures compare), warm up at a tenth of it, and
 * repeat fewer times (run.ts).
 */
export const PEERS: readonly EngineId[] = ['langgraph', 'mastra', 'llamaindex'];

export interface Workload {
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
  /** Size for the slow peers (PEERS), when smaller than `size`. */
  peerSize?: number;
  /** Rate workloads: the warm-up run's size, when not `size` (W5: a long run is its own warm-up). */
  warmSize?: number;
  /** Drive one measured unit of work. */
  run(engine: Engine, n: number): Promise<unknown>;
  /** undefined when `result` is right, else what is wrong. */
  check(result: unknown, n: number): string | undefined;
  /** Long runs: also report flatness (see longRunWorkload). */
  flatness?: boolean;
}

export type WorkloadId =
  | 'W1'
  | 'W2'
  | 'W2c'
  | 'W3seq'
  | 'W3par'
  | 'W4'
  | 'W5'
  | 'W5big'
  | 'W5file'
  | 'W5pg'
  | 'W5redis'
  | 'M'
  | 'W1file'
  | 'W1pg'
  | 'W1redis'
  | 'W1pino';

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
    peerSize: size(5_000, 500),
    run: (e, n) => e.chain(n),
    check: (r, n) => sameAs(n)(r),
  },
  W2: {
    title: 'W2 fan-out/fan-in',
    kind: 'rate',
    unit: 'events/s',
    size: size(10_000, 500),
    peerSize: size(2_000, 300),
    run: (e, n) => e.fanOut(n, undefined),
    check: (r, n) => sameAs({ count: n, sum: (n * (n - 1)) / 2 })(r),
  },
  W2c: {
    title: `W2c fan-out/fan-in, worker concurrency ${W2C_CONCURRENCY}`,
    kind: 'rate',
    unit: 'events/s',
    size: size(10_000, 500),
    peerSize: size(2_000, 300),
    run: (e, n) => e.fanOut(n, W2C_CONCURRENCY),
    check: (r, n) => sameAs({ count: n, sum: (n * (n - 1)) / 2 })(r),
  },
  W3seq: {
    title: 'W3 many tiny runs, sequential',
    kind: 'rate',
    unit: 'runs/s',
    size: size(10_000, 300),
    peerSize: size(1_000, 200),
    run: (e, n) => pool(n, 1, (i) => e.tiny(i)),
    check: tinyResults,
  },
  W3par: {
    title: `W3 many tiny runs, ${W3_IN_FLIGHT} in flight`,
    kind: 'rate',
    unit: 'runs/s',
    size: size(10_000, 300),
    peerSize: size(1_000, 200),
    run: (e, n) => pool(n, W3_IN_FLIGHT, (i) => e.tiny(i)),
    check: tinyResults,
  },
  W4: {
    title: 'W4 stream: events read by a consumer',
    kind: 'rate',
    unit: 'events/s',
    size: size(100_000, 2_000),
    peerSize: size(20_000, 2_000),
    run: (e, n) => e.stream(n),
    check: (r, n) => sameAs(n)(r),
  },
  W5: longRunWorkload('W5 long run: 1 run, steps awaiting setImmediate, checkpoints in memory', 'memory', size(20_000, 1_500)),
  W5big: {
    ...longRunWorkload('W5 long run, 100 000 steps, MemoryStore', 'memory', size(100_000, 3_000)),
    engines: ['sluice'],
    floorOf: 'W5',
  },
  W5file: { ...longRunWorkload('W5 long run + FileStore', 'file', size(20_000, 1_500)), engines: ['sluice'], floorOf: 'W5' },
  W5pg: {
    ...longRunWorkload('W5 long run + PostgresStore', 'postgres', size(20_000, 1_500)),
    engines: ['sluice'],
    needs: 'postgres',
    floorOf: 'W5',
  },
  W5redis: {
    ...longRunWorkload('W5 long run + RedisStore', 'redis', size(20_000, 1_500)),
    engines: ['sluice'],
    needs: 'redis',
    floorOf: 'W5',
  },
  M: {
    title: 'M heap per parked run (10k held)',
    kind: 'memory',
    unit: 'bytes/run',
    size: size(10_000, 500),
    peerSize: size(1_000, 200),
    // Measured by measureMemory; `run` is the warm-up (park and release).
    run: async (e, n) => (await e.park(n))(),
    check: tinyResults,
  },
  W1file: {
    title: 'W1 + FileStore checkpoint per dispatch',
    kind: 'rate',
    unit: 'events/s',
    size: size(10_000, 500), // each event waits for its save (checkpoints keep up): store-latency bound
    engines: ['sluice'],
    floorOf: 'W1',
    run: (e, n) => need(e.chainWithFileStore, 'chainWithFileStore')(n),
    check: (r, n) => sameAs(n)(r),
  },
  W1pg: {
    title: 'W1 + PostgresStore checkpoint per dispatch',
    kind: 'rate',
    unit: 'events/s',
    size: size(10_000, 500), // each event waits for its save (checkpoints keep up): store-latency bound
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
    size: size(10_000, 500), // each event waits for its save (checkpoints keep up): store-latency bound
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

/** When each step of the current long run started (performance.now(), index = step 1..n). */
let marks = new Float64Array(0);
const FLAT_WINDOW = 1_000;

/**
 * W5: one run of `n` steps, each awaiting a macrotask, with checkpointing to `store`. Reports steps/s and
 * flatness = time of the last 1 000 steps ÷ time of the first 1 000 (1.0 = every step costs the same).
 */
function longRunWorkload(title: string, store: LongRunStore, n: number): Workload {
  return {
    title,
    kind: 'rate',
    unit: 'steps/s',
    size: n,
    warmSize: Math.min(n, 1_000),
    flatness: true,
    ...(store === 'postgres' || store === 'redis' ? { needs: store } : {}),
    run: (e, size) => {
      marks = new Float64Array(size + 1);
      const url = store === 'postgres' || store === 'redis' ? serverUrl(store) : undefined;
      return need(e.longRun, 'longRun')(size, store, (k) => (marks[k] = performance.now()), url);
    },
    check: (r, size) => {
      const wrong = sameAs(size)(r);
      if (wrong !== undefined) return wrong;
      const missing = marks.findIndex((t, k) => k > 0 && t === 0);
      return missing === -1 ? undefined : `step ${missing} never started`;
    },
  };
}

/** Flatness of the long run just measured (see longRunWorkload). */
function flatness(n: number): number | undefined {
  const w = Math.min(FLAT_WINDOW, Math.floor(n / 4));
  if (n < 4 || marks.length < n + 1) return undefined;
  return (marks[n]! - marks[n - w]!) / (marks[1 + w]! - marks[1]!);
}

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
export type ChildResult =
  | { ok: true; value: number; size: number; flatness?: number; unfinished?: { of: number; phase: string } }
  | { ok: false; error: string }
  | { ok: false; unsupported: string };
export const RESULT_PREFIX = 'BENCH_RESULT ';

/** The size an engine runs a workload at (the peers run the smaller `peerSize` where one is given). */
export function sizeFor(w: Workload, engine: EngineId): number {
  return PEERS.includes(engine) && w.peerSize !== undefined ? Math.min(w.peerSize, w.size) : w.size;
}

async function measureRate(engine: Engine, w: Workload, n: number, peer: boolean): Promise<Measured> {
  const fail = (phase: string, r: unknown, size: number): void => {
    const wrong = w.check(r, size);
    if (wrong !== undefined) throw new Error(`wrong result (${phase}): ${wrong}`);
  };
  const warm = Math.min(n, w.warmSize ?? (peer ? Math.max(1, Math.ceil(n / 10)) : n));
  if (w.flatness === true) {
    // A long run gets a time budget: past it, what was done is the figure (the child exits, killing the run).
    const budget = LONG_RUN_BUDGET_S * 1000;
    const tw = performance.now();
    const warmed = await Promise.race([w.run(engine, warm), sleep(budget, TIMEOUT)]);
    if (warmed === TIMEOUT) return unfinished(warm, (performance.now() - tw) / 1000, 'warm-up');
    fail('warm-up', warmed, warm);
    const profiler = await profilerIfAsked();
    const t0 = performance.now();
    const result = await Promise.race([w.run(engine, n), sleep(budget, TIMEOUT)]);
    const seconds = (performance.now() - t0) / 1000;
    await profiler?.stop(process.env['BENCH_CPU_PROFILE']!);
    if (result === TIMEOUT) return unfinished(n, seconds, 'measured');
    fail('measured', result, n);
    const flat = flatness(n);
    return { value: seconds, ...(flat === undefined ? {} : { flatness: flat }) };
  }
  fail('warm-up', await w.run(engine, warm), warm);
  const profiler = await profilerIfAsked();
  // No forced GC here: it throws away optimised code and slows the next run (see notes).
  const t0 = performance.now();
  const result = await w.run(engine, n);
  const seconds = (performance.now() - t0) / 1000;
  await profiler?.stop(process.env['BENCH_CPU_PROFILE']!);
  fail('measured', result, n);
  return { value: seconds };
}

/** BENCH_CPU_PROFILE=file (profile.ts): a CPU profile of the measured run only. */
async function profilerIfAsked(): Promise<Awaited<ReturnType<typeof startProfiler>> | undefined> {
  return process.env['BENCH_CPU_PROFILE'] === undefined ? undefined : startProfiler();
}

/** The V8 profiler through node:inspector, started now; `stop` writes the .cpuprofile. */
async function startProfiler(): Promise<{ stop(file: string): Promise<void> }> {
  const { Session } = await import('node:inspector');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const TIMEOUT = Symbol('timeout');
/** Seconds a long run (W5) may take, warm-up and measured run each; BENCH_LONG_RUN_BUDGET overrides. */
export const LONG_RUN_BUDGET_S = Number(process.env['BENCH_LONG_RUN_BUDGET'] ?? (QUICK ? 20 : 60));

/** A long run cut at its budget: the steps done (the last one marked) in the time taken, flagged. */
function unfinished(n: number, seconds: number, phase: string): Measured {
  let done = 0;
  for (let k = n; k > 0; k--)
    if (marks[k] !== 0) {
      done = k;
      break;
    }
  const flat = done > 8 ? flatness(done) : undefined;
  return { value: seconds, steps: done, unfinished: { of: n, phase }, ...(flat === undefined ? {} : { flatness: flat }) };
}

interface Measured {
  value: number;
  flatness?: number;
  /** Steps done, when not the full size (an unfinished long run). */
  steps?: number;
  unfinished?: { of: number; phase: string };
}

async function measureMemory(engine: Engine, w: Workload, n: number, peer: boolean): Promise<Measured> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const settle = async (): Promise<number> => {
    await tick();
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const warmN = peer ? Math.max(1, Math.ceil(n / 10)) : n;
  const warm = w.check(await w.run(engine, warmN), warmN);
  if (warm !== undefined) throw new Error(`wrong result (warm-up): ${warm}`);
  const before = await settle();
  const release = await engine.park(n);
  const after = await settle();
  const wrong = w.check(await release(), n);
  if (wrong !== undefined) throw new Error(`wrong result (measured): ${wrong}`);
  return { value: (after - before) / n };
}

/** Entry point of an engine child process: measure the workload named in argv[2] and report. */
export function runChild(engine: Engine, id: EngineId): void {
  const report = (r: ChildResult): void => {
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(r)}\n`, () => process.exit(r.ok ? 0 : 1));
  };
  const failed = (e: unknown): void => report({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.on('unhandledRejection', failed);
  process.on('uncaughtException', failed);

  const wid = process.argv[2] as WorkloadId;
  const w = WORKLOADS[wid];
  if (w === undefined) return failed(new Error(`unknown workload ${String(wid)}`));
  const why = engine.unsupported?.[wid];
  if (why !== undefined) return report({ ok: false, unsupported: why });
  const n = sizeFor(w, id);
  (w.kind === 'memory' ? measureMemory(engine, w, n, PEERS.includes(id)) : measureRate(engine, w, n, PEERS.includes(id))).then(
    ({ steps, ...r }) => report({ ok: true, size: steps ?? n, ...r }),
    failed,
  );
}
