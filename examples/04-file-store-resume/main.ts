// Durable runs: checkpoint to files, pause, drop the run, and continue it from the store with a new workflow object.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { event, FileStore, StartEvent, StopEvent, workflow, type CheckpointStore } from 'sluice';

const Tick = event('Tick', z.object({ n: z.number() }));

const countdown = (store: CheckpointStore) =>
  workflow('countdown', { store })
    .step('start', { accepts: [StartEvent] }, (ev) => Tick.of({ n: Number(ev.data) }))
    .step('tick', { accepts: [Tick] }, async (ev, ctx) => {
      await new Promise((r) => setTimeout(r, 2));
      ctx.state.update<number>('ticks', (t = 0) => t + 1);
      return ev.data.n === 0 ? StopEvent.of({ result: `liftoff after ${ctx.state.get('ticks')} ticks` }) : Tick.of({ n: ev.data.n - 1 });
    });

const dir = await mkdtemp(join(tmpdir(), 'sluice-example-'));
const store = new FileStore(dir);

const first = countdown(store).run(5);
await new Promise((r) => setTimeout(r, 6));
const snapshot = await first.pause(); // quiescent: the tick in flight finished, its output is pending
await first.flush(); // the paused checkpoint is on disk
console.log(`paused: status ${snapshot.status}, pending ${snapshot.pending.map((e) => `${e.event.type}(${JSON.stringify(e.event.data)})`).join(', ')}`);
first.abort('process exit'); // stand-in for the process going away

const again = await countdown(store).resumeFrom(store, first.id);
console.log('resumed:', await again.result);
await again.flush();
console.log('stored status:', (await store.load(first.id))?.status);
await rm(dir, { recursive: true, force: true });
