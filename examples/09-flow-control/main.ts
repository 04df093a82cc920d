// Flow control and durable waits: one charge per customer at a time, at most two charges per 50 ms,
// re-indexing a document only once its edits pause, and a step that waits for a payment sent from outside.
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';

const Order = event('Order', z.object({ id: z.number(), customer: z.string() }));
const Charged = event('Charged', z.object({ id: z.number() }));
const Edit = event('Edit', z.object({ doc: z.string(), rev: z.number() }));
const Paid = event('Paid', z.object({ total: z.number() }));

const chargeStarts: number[] = [];
const running = new Map<string, number>();
let mostPerCustomer = 0;

const shop = workflow('shop', { timeout: 60_000 })
  .step('take', { accepts: [StartEvent] }, () => [
    ...[1, 2, 3, 4].map((id) => Order.of({ id, customer: id === 3 ? 'bob' : 'ann' })),
    ...[1, 2, 3].map((rev) => Edit.of({ doc: 'terms', rev })),
  ])
  .step(
    'charge',
    {
      accepts: [Order],
      concurrency: { limit: 1, key: (ev) => ev.data.customer }, // one charge per customer at a time
      rateLimit: { limit: 2, interval: 50 }, // and at most two charges per 50 ms in all
    },
    async (ev, ctx) => {
      const now = (running.get(ev.data.customer) ?? 0) + 1;
      running.set(ev.data.customer, now);
      mostPerCustomer = Math.max(mostPerCustomer, now);
      await ctx.sleep(5); // a durable sleep: kept in snapshots with its due time
      running.set(ev.data.customer, now - 1);
      return Charged.of({ id: ev.data.id });
    },
  )
  .step('reindex', { accepts: [Edit], debounce: { ms: 20, key: (ev) => ev.data.doc } }, (ev) => {
    console.log(`indexed ${ev.data.doc} at rev ${ev.data.rev}`);
  })
  .step('ship', { accepts: [Charged] }, async (ev, ctx) => {
    if (ev.data.id !== 4) return;
    // Park until a payment is sent to the run (run.send, or POST /api/runs/:id/send), at most a minute.
    const paid = await ctx.waitFor(Paid, { match: (p) => p.data.total > 0, timeout: 60_000 });
    return StopEvent.of({ result: paid === undefined ? 'no payment' : `shipped after a payment of ${paid.data.total}` });
  });

const run = shop.run();
let dropped = 0;
run.events$.subscribe((e) => {
  if (e.kind === 'event_dropped') dropped++;
  if (e.kind === 'step_started' && e.step === 'charge') chargeStarts.push(e.at); // when the rate slot was granted
});
let sent = false;
run.status$.subscribe((status) => {
  // Sleeping charges make the run 'waiting' too; pay once the payment is what it waits for.
  if (status !== 'waiting' || sent || !run.snapshot().waiting.some((w) => w.kind === 'event')) return;
  sent = true;
  console.log(`status while the payment is awaited: ${status}`);
  setTimeout(() => run.send(Paid.of({ total: 42 })), 10);
});
const result = await run.result;
// Most starts within any 50 ms. A start's RunEvent is stamped when the step starts, which on a busy machine can
// lag the moment its rate slot was granted by a few ms (a GC pause, another test): count within 40 ms.
const busiest = Math.max(...chargeStarts.map((t) => chargeStarts.filter((u) => u >= t && u - t < 40).length));
console.log(`charges started: ${chargeStarts.length}, at most ${busiest} within 50 ms`);
console.log(`most charges at once for one customer: ${mostPerCustomer}`);
console.log(`edits superseded by a newer one: ${dropped}`);
console.log(`result: ${String(result)}`);
