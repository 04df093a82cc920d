// The workflow both the dispatcher and the workers know (the workers run it; the dispatcher only names it).
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';

export const Order = z.object({ id: z.string(), qty: z.number(), price: z.number(), packMs: z.number().default(0) });
const Quote = z.object({ id: z.string(), total: z.number(), packMs: z.number() });
const Priced = event('Priced', Quote);
const Approved = event('Approved', Quote);
export const Packing = event('Packing', z.object({ worker: z.string() }));

export const orders = workflow<string>('orders', { timeout: null })
  .step('price', { accepts: [StartEvent] }, (ev) => {
    const { id, qty, price, packMs } = Order.parse(ev.data);
    return Priced.of({ id, total: qty * price, packMs });
  })
  .step('approve', { accepts: [Priced] }, async (ev, ctx) => {
    // Big orders wait for a human; the run rests in the store meanwhile, held by no worker.
    if (ev.data.total > 500 && (await ctx.requestInput<string>(`Ship ${ev.data.id} for ${ev.data.total}?`)) !== 'yes') {
      return StopEvent.of({ result: `${ev.data.id}: rejected` });
    }
    return Approved.of(ev.data);
  })
  .step('pack', { accepts: [Approved] }, async (ev, ctx) => {
    ctx.write(Packing.of({ worker: process.env['WORKER_NAME'] ?? 'unnamed' }));
    await delay(ev.data.packMs, undefined, { signal: ctx.signal });
    return StopEvent.of({ result: `${ev.data.id}: packed, ${ev.data.total}` });
  });
