/**
 * SIGKILL at random points (issue 17): a child process runs a workflow that updates state before awaits, runs
 * sub-workflows, fans in their outputs and waits for input, on the FileStore and on the PostgresStore, and
 * kills itself with SIGKILL after a random number of its own RunEvents (plus, half the time, a few ms of its
 * own work, so kills also land inside saves and step bodies). The parent then resumes the run as an operator
 * would (`wf.start` of the same run id: resumed from the store, or started anew when nothing was saved),
 * answers the input request, and must get exactly the result of an uninterrupted run.
 *
 * The child is bundled once (tsup) and started with plain `node`, a few at a time. Kill points come from a
 * seeded PRNG: `SLUICE_KILL_SEED` replays a run of the suite, `SLUICE_KILLS` sets how many per store.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore, WorkflowError, type CheckpointStore, type RunEvent } from 'sluice';
import { PostgresStore } from 'sluice/postgres';
import { sharedServer, titled } from '../support/servers.js';
import { ANSWER, EXPECTED, killWorkflow, RUN_ID } from './fixtures/killWorkflow.js';

const KILLS = Number(process.env['SLUICE_KILLS'] ?? 50);
const SEED = Number(process.env['SLUICE_KILL_SEED'] ?? Date.now() % 2 ** 31);
/** Children alive at once (the machine has two cores). */
const PARALLEL = 6;

const pgInfo = await sharedServer('postgres');
const pgUrl = 'url' in pgInfo ? pgInfo.url : '';

/** mulberry32: a small seeded PRNG, so a failing seed replays the same kill points. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let bundleDir = '';
let childJs = '';
const slots: (() => void)[] = [];
let running = 0;

/** Run the bundled child with `args`, at most PARALLEL at a time. */
async function child(args: string[]): Promise<Child> {
  if (running >= PARALLEL) await new Promise<void>((r) => slots.push(r));
  running++;
  try {
    return await new Promise<Child>((resolve, reject) => {
      const proc = spawn(process.execPath, [childJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      proc.on('error', reject);
      proc.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  } finally {
    running--;
    slots.shift()?.();
  }
}

beforeAll(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), 'sluice-killchild-'));
  const { build } = await import('tsup');
  await build({
    entry: { killChild: fileURLToPath(new URL('./fixtures/killChild.ts', import.meta.url)) },
    outDir: bundleDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    bundle: true,
    noExternal: [/.*/],
    external: ['pg-native'],
    // pg is CommonJS: give the ESM bundle a `require` for Node's built-ins.
    banner: { js: "import { createRequire as __sluiceRequire } from 'node:module'; const require = __sluiceRequire(import.meta.url);" },
    silent: true,
    config: false,
    dts: false,
    sourcemap: false,
    splitting: false,
  });
  childJs = join(bundleDir, 'killChild.js');
}, 60_000);

afterAll(async () => {
  if (bundleDir !== '') await rm(bundleDir, { recursive: true, force: true });
});

interface Backend {
  /** Where one killed run lives: child arguments, and a store on it for the parent. */
  place(i: number): Promise<{ args: [string, string, string]; open: () => CheckpointStore; cleanup: () => Promise<void> }>;
}

const fileBackend: Backend = {
  async place() {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kill-'));
    return {
      args: ['file', dir, '-'],
      // Quiet: a kill inside a save leaves a temp file, which the resuming store removes and reports.
      open: () => new FileStore(dir, { logger: { warn: () => undefined } }),
      cleanup: async () => {
        // A store that started after the kill removed the killed process's temp files.
        expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

let admin: pg.Pool | undefined;
const pgBackend: Backend = {
  async place(i) {
    admin ??= new pg.Pool({ connectionString: pgUrl, max: 2 });
    const table = `kill_${SEED}_${i < 0 ? "u" : i}_${Math.floor(Math.random() * 1e9)}`;
    const stores: PostgresStore[] = [];
    return {
      args: ['pg', pgUrl, table],
      open: () => {
        const store = new PostgresStore({ connectionString: pgUrl, table });
        stores.push(store);
        return store;
      },
      cleanup: async () => {
        await Promise.all(stores.map((s) => s.close()));
        await admin?.query(`DROP TABLE IF EXISTS ${table}, ${table}_events`);
      },
    };
  },
};

afterAll(async () => {
  await admin?.end();
});

/** Resume (or restart) the killed run as an operator would, answer its request, and resolve how it ended. */
async function recoverRun(store: CheckpointStore) {
  const run = await killWorkflow(store).start(null, { runId: RUN_ID });
  const seqs: number[] = [];
  const refused: unknown[] = [];
  run.events$.subscribe((e: RunEvent) => {
    seqs.push(e.seq);
    if (e.kind !== 'input_requested') return;
    try {
      run.respond(e.requestId, ANSWER);
    } catch (error) {
      // The journal replays the request the killed process made; answering it twice is refused, rightly.
      if (!WorkflowError.is(error) || error.code !== 'unknown_request') refused.push(error);
    }
  });
  const result = await run.result;
  await run.flush();
  return { result, seqs, refused, stored: (await store.load(RUN_ID))?.status };
}

/** Rejects if `work` has not settled within `s` seconds: a resumed run that hangs is a failure, not a stuck suite. */
function withinSeconds<T>(s: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the resumed run did not end within ${s} s`)), s * 1000)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function suite(name: string, backend: Backend) {
  return () => {
    const random = prng(SEED ^ (name === 'pg' ? 0x5eed : 0));
    let uninterrupted: { result: unknown; events: number; waitAt: number };

    beforeAll(async () => {
      const place = await backend.place(-1);
      const out = await child([...place.args, '-1', '0']);
      expect(out.code, out.stderr).toBe(0);
      uninterrupted = JSON.parse(out.stdout) as typeof uninterrupted;
      await place.cleanup();
    }, 60_000);

    it('an uninterrupted run in a child process gives the expected result', () => {
      expect(uninterrupted.result).toEqual(EXPECTED);
      expect(uninterrupted.waitAt).toBeGreaterThan(20);
    });

    // Kill points over the whole run up to its wait (a point past it kills the waiting run); the delay is 0
    // (inside the event callback) half the time, else 1–6 ms of the child's own work.
    const points = Array.from({ length: KILLS }, (_, i) => {
      const at = random();
      const delayMs = random() < 0.5 ? 0 : 1 + Math.floor(random() * 6);
      return { i, at, delayMs };
    });

    it(`resumes each of ${KILLS} runs killed at random points to the uninterrupted result [seed ${SEED}]`, async () => {
      const failures: unknown[] = [];
      const killedAt = new Set<number>();
      const one = async ({ i, at, delayMs }: (typeof points)[number]) => {
        const killAfter = 1 + Math.floor(at * (uninterrupted.waitAt + 4));
        killedAt.add(killAfter);
        const where = `seed ${SEED}, ${name} #${i}: killed after ${killAfter} events + ${delayMs} ms`;
        const place = await backend.place(i);
        try {
          const out = await child([...place.args, String(killAfter), String(delayMs)]);
          if (out.signal !== 'SIGKILL' || out.stdout !== '') throw new Error(`the child was not killed (${out.code}): ${out.stdout}${out.stderr}`);
          const after = await withinSeconds(30, recoverRun(place.open()));
          expect(after.result).toEqual(uninterrupted.result);
          expect(after.stored).toBe('completed');
          expect(after.refused).toEqual([]);
          // The history continues across the kill without a gap or a repeat.
          expect(after.seqs).toEqual(after.seqs.map((_, k) => k + 1));
        } catch (error) {
          failures.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
        } finally {
          await place.cleanup().catch((error: unknown) => failures.push(`${where}: cleanup: ${String(error)}`));
        }
      };
      await Promise.all(points.map(one));
      expect(failures).toEqual([]);
      // The points spread over the run (not all at its start or its wait).
      expect(killedAt.size).toBeGreaterThan(Math.min(KILLS, uninterrupted.waitAt) / 3);
    }, 300_000);
  };
}

describe(`SIGKILL at ${KILLS} random points on the FileStore [seed ${SEED}]`, suite('file', fileBackend));
describe.skipIf('skip' in pgInfo)(titled(`SIGKILL at ${KILLS} random points on the PostgresStore [seed ${SEED}]`, pgInfo), suite('pg', pgBackend));
