/**
 * The workloads on sluice, through its public API only (DESIGN.md §2), with default options unless a
 * workload says otherwise (history on, 300 s timeout, 10 000-event replay). Events carry no zod schema:
 * the other engines validate nothing either.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as macrotask, setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pino } from 'pino';
import {
  event,
  FileStore,
  MemoryStore,
  StartEvent,
  StopEvent,
  workflow,
  type CheckpointStore,
  type EventType,
  type WorkflowOptions,
} from 'sluice';
import { PostgresStore } from 'sluice/postgres';
import { RedisStore } from 'sluice/redis';
import { runChild, type Engine, type LongRunStore } from '../workloads.js';

const Ping = event('Ping');
const Pong = event('Pong');
const Work = event('Work');
const Answer = event('Answer');
const Mid = event('Mid');
const Tick = event('Tick');

const num = (ev: { data: unknown }): number => ev.data as number;

function chainWorkflow(n: number, options: WorkflowOptions = {}) {
  const next = (k: number, other: EventType<unknown, string>) => (k >= n ? StopEvent.of({ result: k }) : other.of(k + 1));
  return workflow('chain', options)
    .step('ping', { accepts: [StartEvent, Pong] }, async (ev) => (StartEvent.is(ev) ? Ping.of(1) : next(num(ev), Ping)))
    .step('pong', { accepts: [Ping] }, async (ev) => next(num(ev), Pong));
}

const Next = event('Next');

/** W5: step k (1..n) marks, awaits a macrotask and hands k+1 to itself; the last one stops with n. */
function longWorkflow(n: number, mark: (k: number) => void, store: CheckpointStore) {
  return workflow('long', { store }).step('step', { accepts: [StartEvent, Next] }, async (ev) => {
    const k = StartEvent.is(ev) ? 1 : num(ev);
    mark(k);
    await macrotask();
    return k >= n ? StopEvent.of({ result: n }) : Next.of(k + 1);
  });
}

/** A checkpoint store of the kind asked for, and how to clean up after it. */
async function openStore(kind: LongRunStore, url?: string): Promise<{ store: CheckpointStore; close(): Promise<void> }> {
  switch (kind) {
    case 'memory':
      return { store: new MemoryStore(), close: async () => {} };
    case 'file': {
      const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
      return { store: new FileStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
    }
    case 'postgres': {
      const table = `sluice_bench_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      return {
        store: new PostgresStore({ pool, table }),
        close: async () => {
          await pool.query(`DROP TABLE IF EXISTS ${table}`);
          await pool.end();
        },
      };
    }
    case 'redis': {
      const store = new RedisStore({ url: url ?? '', prefix: `sluice-bench:${randomUUID().slice(0, 8)}:` });
      return {
        store,
        close: async () => {
          await store.prune();
          await store.close();
        },
      };
    }
  }
}

const tinyWorkflow = workflow('tiny')
  .step('double', { accepts: [StartEvent] }, async (ev) => Mid.of(2 * num(ev)))
  .step('finish', { accepts: [Mid] }, async (ev) => StopEvent.of({ result: num(ev) + 1 }));

const engine: Engine = {
  chain: (n) => chainWorkflow(n).run(0).result,

  fanOut(n, concurrency) {
    return workflow('fan')
      .step('start', { accepts: [StartEvent] }, async () => Array.from({ length: n }, (_, i) => Work.of(i)))
      .step('worker', { accepts: [Work], ...(concurrency === undefined ? {} : { concurrency }) }, async (ev) =>
        Answer.of(num(ev)),
      )
      .step('collect', { accepts: [Answer], collects: [Answer] }, (_ev, ctx) => {
        const all = ctx.collect(Answer, n);
        if (all === undefined) return undefined;
        return StopEvent.of({ result: { count: all.length, sum: all.reduce((s, a) => s + num(a), 0) } });
      })
      .run(0).result;
  },

  tiny: (i) => tinyWorkflow.run(i).result,

  async stream(n) {
    const run = workflow('stream')
      .step('writer', { accepts: [StartEvent] }, (_ev, ctx) => {
        for (let i = 0; i < n; i++) ctx.write(Tick.of(i));
        return StopEvent.of({ result: n });
      })
      .run(0);
    let read = 0;
    await new Promise<void>((resolve, reject) =>
      run.events$.subscribe({
        next: (e) => {
          if (e.kind === 'stream' && e.event.type === Tick.type) read++;
        },
        complete: resolve,
        error: reject,
      }),
    );
    await run.result;
    return read;
  },

  async park(n) {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const wf = workflow('park')
      .step('first', { accepts: [StartEvent] }, async (ev) => {
        await gate;
        return Mid.of(2 * num(ev));
      })
      .step('second', { accepts: [Mid] }, async (ev) => StopEvent.of({ result: num(ev) + 1 }));
    const runs = Array.from({ length: n }, (_, i) => wf.run(i));
    await sleep(20); // the first dispatch happens on the scheduler: let every run enter its first step
    const pausing = runs.map((r) => r.pause());
    open();
    await Promise.all(pausing); // in-flight steps have settled
    // Check with a fresh snapshot: the one pause() resolves with can miss the step's output (engine bug, see report).
    const notParked = runs.findIndex((r) => {
      const s = r.snapshot();
      return s.status !== 'paused' || s.inFlight.length > 0 || !s.pending.some((e) => e.event.type === Mid.type);
    });
    if (notParked !== -1) throw new Error(`run ${notParked} is not paused with Mid pending`);
    return () => {
      for (const r of runs) r.resume();
      return Promise.all(runs.map((r) => r.result));
    };
  },

  async chainWithFileStore(n) {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
    try {
      const run = chainWorkflow(n, { store: new FileStore(dir) }).run(0);
      const result = await run.result;
      // Count the time to write the last checkpoint too, where the handle offers a way to wait for it.
      await (run as { flush?: () => Promise<void> }).flush?.();
      return result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },

  async chainWithPostgresStore(n, url) {
    // A table of its own, dropped afterwards; the store runs on a pool it was given, so it leaves it open.
    const table = `sluice_bench_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      const run = chainWorkflow(n, { store: new PostgresStore({ pool, table }) }).run(0);
      const result = await run.result;
      await run.flush(); // as for FileStore: the last checkpoint is part of the work
      return result;
    } finally {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    }
  },

  async chainWithRedisStore(n, url) {
    // A key prefix of its own, pruned afterwards.
    const store = new RedisStore({ url, prefix: `sluice-bench:${randomUUID().slice(0, 8)}:` });
    try {
      const run = chainWorkflow(n, { store }).run(0);
      const result = await run.result;
      await run.flush(); // as for FileStore: the last checkpoint is part of the work
      return result;
    } finally {
      await store.prune();
      await store.close();
    }
  },

  chainWithSilentLogger: (n) => chainWorkflow(n, { logger: pino({ level: 'silent' }) }).run(0).result,

  async longRun(n, kind, mark, url) {
    const { store, close } = await openStore(kind, url);
    try {
      const run = longWorkflow(n, mark, store).run(0);
      const result = await run.result;
      await run.flush(); // the last checkpoint is part of the work
      const saved = await store.load(run.id);
      if (saved?.status !== 'completed') throw new Error(`the store holds status ${saved?.status}, not completed`);
      return result;
    } finally {
      await close();
    }
  },
};

runChild(engine, 'sluice');
