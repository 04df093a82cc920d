// The 30-second tour: two steps, a typed event, live lifecycle events and the result.
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';

const Query = event('Query', z.object({ text: z.string() }));

const qa = workflow('qa', { timeout: 60_000 })
  .step('search', { accepts: [StartEvent], concurrency: 4 }, async (ev) => Query.of({ text: String(ev.data) }))
  .step('answer', { accepts: [Query] }, async (ev) => StopEvent.of({ result: ev.data.text.toUpperCase() }));

const run = qa.run('hello');
run.events$.subscribe((e) => {
  const what = e.kind.startsWith('step_') && 'type' in e ? `${e.step} (${e.type})` : e.kind === 'event_routed' ? e.event.type : '';
  console.log(`${String(e.seq).padStart(2)} ${e.kind} ${what}`.trimEnd());
});
console.log('result:', await run.result);
