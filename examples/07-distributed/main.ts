// Distributed execution: this script is the dispatcher, and starts two worker processes (itself, with
// `worker a` / `worker b`). Runs go to whichever worker is free; one waits for an answer given here; one is
// moved to the other worker when its worker stops mid-step. Needs Redis: SLUICE_REDIS_URL or localhost:6379.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { filter, firstValueFrom, map, take, toArray } from 'rxjs';
import { Dispatcher, worker } from 'sluice/bullmq';
import { RedisStore } from 'sluice/redis';
import { orders, Packing } from './workflows.js';

const url = process.env['SLUICE_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

if (process.argv[2] === 'worker') {
  // A worker process: checkpoints in Redis (any shared store would do), takes jobs until SIGTERM.
  const [name, queue, prefix] = process.argv.slice(3) as [string, string, string];
  process.env['WORKER_NAME'] = name;
  const store = new RedisStore({ url, prefix });
  const w = worker([orders], { connection: url, store, queue, prefix });
  await w.ready();
  console.log('ready');
  process.once('SIGTERM', () => void w.close().then(() => store.close()));
} else {
  await checkRedis(url);
  const queue = `example-07-${randomUUID().slice(0, 8)}`;
  const prefix = `${queue}:`;
  const start = (name: string) =>
    new Promise<ChildProcess>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'worker', name, queue, prefix]);
      child.stdout.once('data', () => resolve(child));
      child.stderr.pipe(process.stderr);
    });
  const workers = { a: await start('a'), b: await start('b') };
  console.log('workers a and b ready');
  const dispatcher = new Dispatcher({ connection: url, queue, prefix });

  // Six small orders, spread over the two workers.
  const small = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => dispatcher.start(orders, { id: `order-${n}`, qty: n, price: 15 })));
  for (const run of small) console.log(await run.result);

  // A big one waits for approval; the answer goes in from here and the run continues on a free worker.
  const big = await dispatcher.start(orders, { id: 'order-7', qty: 40, price: 15 });
  const asked = await firstValueFrom(big.events$.pipe(filter((e) => e.kind === 'input_requested')));
  if (asked.kind === 'input_requested') {
    console.log(`order-7 asks: ${asked.prompt}`);
    await big.respond(asked.requestId, 'yes');
  }
  console.log(await big.result);

  // Stop the worker that is packing order-8: it hands the run back, and the other worker resumes it.
  const slow = await dispatcher.start(orders, { id: 'order-8', qty: 10, price: 15, packMs: 2_500 });
  const packers$ = slow.events$.pipe(
    map((e) => (e.kind === 'stream' && Packing.is(e.event) ? e.event.data.worker : undefined)),
    filter((name) => name !== undefined),
  );
  const packer = (await firstValueFrom(packers$)) as 'a' | 'b';
  workers[packer].kill('SIGTERM');
  console.log('order-8: its worker was stopped while packing');
  console.log(await slow.result);
  const [, repacker] = await firstValueFrom(packers$.pipe(take(2), toArray()));
  console.log(`order-8: resumed from its checkpoint on the other worker: ${repacker !== packer}`);

  // Tidy up: the jobs and the checkpoints (events and results expire by themselves after a day).
  await dispatcher.queue.obliterate({ force: true });
  await dispatcher.close();
  const store = new RedisStore({ url, prefix });
  await store.prune();
  await store.close();
  await Promise.all(Object.values(workers).map(stopped));
}

/** Stop a worker (if not asked to already) and wait until it has exited. */
function stopped(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
    child.once('exit', resolve);
    if (!child.killed) child.kill('SIGTERM');
  });
}

/** Fail at once, saying what to do, when Redis is not there (BullMQ would otherwise retry the connection forever). */
async function checkRedis(redisUrl: string): Promise<void> {
  const probe = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {}); // reported below
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    console.error(
      `07-distributed needs Redis, and ${redisUrl} cannot be reached (${(error as Error).message}).\n` +
        'Start one (e.g. `redis-server` or `docker run -p 6379:6379 redis:7`) or point SLUICE_REDIS_URL at yours.',
    );
    process.exit(1);
  } finally {
    probe.disconnect();
  }
}
