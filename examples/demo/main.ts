// `npm start`: the durable story in one minute. A run drafts a post, asks a human to approve it, is
// checkpointed to ./.sluice/ while it waits, is picked up again from the file store by a fresh workflow
// object (as another process would), and finishes when the answer comes.
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { event, FileStore, StartEvent, StopEvent, workflow, type RunEvent, type RunHandle } from 'sluice';

const Draft = event('Draft', z.object({ title: z.string(), body: z.string() }));
const Approved = event('Approved', z.object({ title: z.string() }));

const store = new FileStore('./.sluice');

// A function, so the "second process" below builds its own workflow object from code, not from memory.
const publishing = () =>
  workflow('publishing', { store })
    .step('draft', { accepts: [StartEvent], emits: [Draft] }, async (ev) => {
      const topic = String(ev.data);
      return Draft.of({ title: `Notes on ${topic}`, body: `${topic} is pausable, durable and observable.` });
    })
    .step('review', { accepts: [Draft], emits: [Approved, StopEvent] }, async (ev, ctx) => {
      const answer = await ctx.requestInput<string>(`Publish "${ev.data.title}"? (yes/no)`, { metadata: ev.data });
      return answer.trim().toLowerCase().startsWith('y')
        ? Approved.of({ title: ev.data.title })
        : StopEvent.of({ result: 'not published' });
    })
    .step('publish', { accepts: [Approved] }, (ev, ctx) => {
      ctx.write({ type: 'Progress', data: `uploading "${ev.data.title}"` });
      return StopEvent.of({ result: `published "${ev.data.title}"` });
    });

let lastShown = 0;
function show(e: RunEvent): void {
  if (e.seq <= lastShown) return; // a resumed run replays the history carried in its snapshot first
  if (e.kind === 'checkpoint_saved') return; // summarised below, once the checkpoint is on disk
  lastShown = e.seq;
  const line = (() => {
    switch (e.kind) {
      case 'event_routed':
        return `${e.event.type} → ${e.steps.length > 0 ? e.steps.join(', ') : '(run)'}`;
      case 'step_started':
      case 'step_completed':
        return `${e.step}${e.kind === 'step_completed' ? ` (${e.durationMs} ms)` : ''}`;
      case 'input_requested':
        return `"${e.prompt}"`;
      case 'stream':
        return String(e.event.data);
      case 'run_completed':
        return JSON.stringify(e.result);
      case 'run_failed':
        return `${e.error.code}: ${e.error.message}`;
      default:
        return '';
    }
  })();
  console.log(`  ${String(e.seq).padStart(2)}  ${e.kind.padEnd(16)} ${line}`);
}

async function ask(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    console.log(`\n${prompt}\n(no terminal attached: answering "yes" automatically)\n`);
    return 'yes';
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`\n${prompt} `);
  rl.close();
  return answer;
}

const waitingFor = (run: RunHandle) =>
  new Promise<{ requestId: string; prompt: string }>((resolve) =>
    run.events$.subscribe((e) => (e.kind === 'input_requested' ? resolve(e) : undefined)),
  );

console.log('sluice demo: a workflow that waits for a human, persisted in ./.sluice/\n');
const first = publishing().run('sluice');
const live = first.events$.subscribe(show);
const request = await waitingFor(first);
await first.flush();
live.unsubscribe();
const saved = await store.load(first.id);
console.log(`\nstatus: ${first.status}; checkpoint saved to .sluice/${first.id}.json (status ${saved?.status}, seq ${saved?.seq})`);
first.abort('demo: this process pretends to exit');

console.log('resuming the run from the file store with a fresh workflow object…\n');
lastShown = saved?.seq ?? 0;
const resumed = await publishing().resumeFrom(store, first.id);
resumed.events$.subscribe(show);
resumed.respond(request.requestId, await ask(request.prompt));
console.log(`\nresult: ${String(await resumed.result)}`);
await resumed.flush();
console.log(`stored status: ${(await store.load(first.id))?.status} (see .sluice/${first.id}.json)`);
