// Operations: idempotent starts, recovery after a crash, and (with Redis) schedules and remote control.
//
// Part 1 needs nothing: a child process starts run 'invoice-42' on a FileStore and is killed mid-step; this
// process recovers it with recover(), then starts 'invoice-42' again and gets the stored result, not a rerun.
// Part 2 needs Redis (SLUICE_REDIS_URL or localhost:6379; skipped with a message otherwise): a schedule that
// fires three times, and a run paused, sent an event and resumed from here while a worker holds it.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { event, FileStore, recover, StartEvent, StopEvent, workflow, type CheckpointStore } from 'sluice';
import { Dispatcher, worker } from 'sluice/bullmq';
import { RedisStore } from 'sluice/redis';

const Priced = event('Priced', z.object({ total: z.number() }));
const Nudge = event('Nudge', z.string());

/** price → charge; in the child process `charge` never returns, so it dies there. */
const invoice = (store: CheckpointStore) =>
  workflow<string>('invoice', { store, timeout: null })
    .step('price', { accepts: [StartEvent] }, (ev) => Priced.of({ total: Number(ev.data) * 3 }))
    .step('charge', { accepts: [Priced] }, async (ev) => {
      if (process.argv[2] === 'child') await new Promise(() => {});
      return StopEvent.of({ result: `charged ${ev.data.total}` });
    });

if (process.argv[2] === 'child') {
  const run = await invoice(new FileStore(process.argv[3]!)).start(14, { runId: 'invoice-42' });
  run.events$.subscribe((e) => {
    if (e.kind === 'step_started' && e.step === 'charge') void run.flush().then(() => console.log('charging'));
  });
} else {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-ops-'));
  try {
    await crashAndRecover(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await distributed(process.env['SLUICE_REDIS_URL'] || 'redis://127.0.0.1:6379');
}

async function crashAndRecover(dir: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const store = new FileStore(dir);
  console.log(`crashed with invoice-42 ${(await store.load('invoice-42'))?.status} in its charge step`);

  const runs = await recover({ workflows: [invoice(store)], store });
  console.log(`recovered: ${runs.map((r) => r.id).join(', ')}`);
  console.log(`result: ${await runs[0]!.result}`);
  await runs[0]!.flush();

  const again = await invoice(store).start(14, { runId: 'invoice-42' });
  console.log(`started again: ${again.status}, ${await again.result}`);
}

/** Scheduled runs every 100 ms, three times; then a run paused, nudged and resumed remotely. */
async function distributed(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  const up = await probe.connect().then(() => probe.ping(), () => undefined);
  probe.disconnect();
  if (up !== 'PONG') {
    console.log(`skipping the sluice/bullmq part: no Redis at ${url} (set SLUICE_REDIS_URL)`);
    return;
  }
  const queue = `example-10-${randomUUID().slice(0, 8)}`;
  const names = { queue, prefix: `${queue}:` };
  const report = workflow<string>('report', { timeout: null }).step('write', { accepts: [StartEvent] }, () =>
    StopEvent.of({ result: 'report written' }),
  );
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const job = workflow<string>('job', { timeout: null })
    .step('work', { accepts: [StartEvent] }, async () => {
      await gate;
      return StopEvent.of({ result: 'worked' });
    })
    .step('nudged', { accepts: [Nudge] }, (ev) => StopEvent.of({ result: `nudged: ${ev.data}` }));
  const store = new RedisStore({ url, prefix: names.prefix });
  const w = worker([report, job], { connection: url, store, ...names });
  const dispatcher = new Dispatcher({ connection: url, ...names });
  try {
    await w.ready();
    const fired: string[] = [];
    const three = new Promise<void>((resolve) => {
      w.bullmq.on('completed', (j) => {
        if (j.data.kind === 'start' && j.data.schedule === 'every-100ms' && fired.push(j.returnvalue.runId) === 3) resolve();
      });
    });
    await dispatcher.schedule('every-100ms', report, { every: 100 });
    console.log(`schedules: ${(await dispatcher.schedules()).map((s) => `${s.id} (${s.workflow} every ${s.every} ms)`).join(', ')}`);
    await three;
    await dispatcher.unschedule('every-100ms');
    const results = await Promise.all(fired.slice(0, 3).map((id) => dispatcher.result(id)));
    console.log(`fired 3 runs: ${results.join(', ')}`);

    const run = await dispatcher.start(job, null);
    await new Promise<void>((resolve) => run.events$.subscribe((e) => e.kind === 'step_started' && resolve()));
    await run.pause();
    console.log('paused remotely');
    await run.send(Nudge.of('from the dispatcher'));
    await dispatcher.resume(run.id);
    console.log(`result: ${await run.result}`);
  } finally {
    release();
    await w.close();
    await dispatcher.close();
    await store.close();
    const client = new Redis(url);
    const keys = [...(await client.keys(`${names.prefix}*`)), ...(await client.keys(`bull:${queue}:*`))];
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  }
}
