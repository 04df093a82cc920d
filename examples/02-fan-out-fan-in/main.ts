// Fan-out / fan-in: one event per page, a worker limited to 2 at a time, a collector that waits for all.
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';

const Page = event('Page', z.object({ url: z.string() }));
const Summary = event('Summary', z.object({ url: z.string(), words: z.number() }));

const pages = ['a.html', 'b.html', 'c.html', 'd.html', 'e.html'];
let running = 0;
let mostAtOnce = 0;

const summarize = workflow('summarize')
  .step('split', { accepts: [StartEvent], emits: [Page] }, (ev) => (ev.data as string[]).map((url) => Page.of({ url })))
  .step('fetch', { accepts: [Page], emits: [Summary], concurrency: 2 }, async (ev) => {
    mostAtOnce = Math.max(mostAtOnce, ++running);
    await new Promise((r) => setTimeout(r, 5)); // pretend to fetch
    running--;
    return Summary.of({ url: ev.data.url, words: ev.data.url.charCodeAt(0) - 96 });
  })
  .step('join', { accepts: [Summary], collects: [Summary] }, (_ev, ctx) => {
    const all = ctx.collect(Summary, pages.length); // undefined until every page is in
    return all && StopEvent.of({ result: all.reduce((n, s) => n + s.data.words, 0) });
  });

const total = await summarize.run(pages).result;
console.log(`pages: ${pages.length}, words: ${String(total)}, most fetches at once: ${mostAtOnce}`);
