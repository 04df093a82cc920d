// The HTTP API and inspector: serve a workflow, then drive one run over HTTP as a client would —
// start it, follow its RunEvents as Server-Sent Events, answer its input request, read its final state.
// `npx tsx --import ./test/support/rawImports.mjs examples/08-inspector/main.ts --keep` leaves the server
// running: open the printed URL (the hook loads the inspector page's files, which the build inlines).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, type RunEvent } from 'sluice';
import { serve } from 'sluice/http';
import { publish } from './workflows.js';

const dir = await mkdtemp(join(tmpdir(), 'sluice-08-'));
const store = new FileStore(dir);
const server = await serve({ workflows: [publish], store, port: 0 });
console.log(`inspector: ${server.url}/`);

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await res.json()) as Record<string, any>;
};

/** Follow `GET /api/runs/:id/events` until the server's closing `end` event. */
async function* runEvents(runId: string): AsyncGenerator<RunEvent> {
  const res = await fetch(`${server.url}/api/runs/${runId}/events`);
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffer += decoder.decode(chunk.value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const lines = buffer.slice(0, cut).split('\n');
      buffer = buffer.slice(cut + 2);
      const field = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
      if (field('event') === 'end') return void (await reader.cancel());
      const data = field('data');
      if (data !== undefined && field('event') === undefined) yield JSON.parse(data) as RunEvent;
    }
  }
}

const { runId } = await call('POST', '/api/workflows/publish/runs', { input: 'Notes on sluice' });
for await (const ev of runEvents(runId)) {
  if (ev.kind === 'input_requested') {
    console.log(`asked: ${ev.prompt}`);
    const status = (await call('GET', `/api/runs/${runId}`)).status;
    console.log(`status while nobody answers: ${status}`);
    await call('POST', `/api/runs/${runId}/respond`, { requestId: ev.requestId, response: 'yes' });
  }
  if (ev.kind === 'run_completed') console.log(`result: ${String(ev.result)}`);
}
const final = await call('GET', `/api/runs/${runId}`);
console.log(`final status: ${final.status}, state: ${JSON.stringify(final.snapshot.state.published)}`);

if (process.argv.includes('--keep')) {
  console.log('serving until Ctrl-C');
} else {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
