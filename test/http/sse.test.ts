import { afterEach, describe, expect, it } from 'vitest';
import { approval } from './fixtures.js';
import { EventStream, runEvents, start, type TestServer } from './support.js';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

async function waitingRun(s: TestServer) {
  const { body } = await s.call('POST', '/api/workflows/approval/runs', { input: 'Notes' });
  const first = await s.events(body.runId);
  const seen = await first.until((e) => e.kind === 'input_requested');
  return { runId: body.runId as string, first, seen };
}

describe('run event stream', () => {
  it('sends each RunEvent as an SSE message whose id is its seq', async () => {
    server = await start({ workflows: [approval] });
    const { first, seen } = await waitingRun(server);
    first.close();
    expect(first.response.headers.get('content-type')).toBe('text/event-stream');
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.map((e) => e.kind).slice(0, 2)).toEqual(['run_started', 'event_routed']);
  });

  it('resumes after a dropped connection from Last-Event-ID with nothing lost or repeated', async () => {
    server = await start({ workflows: [approval] });
    const { runId, first, seen } = await waitingRun(server);
    first.close(); // the client goes away mid-run
    const asked = seen.at(-1) as Extract<(typeof seen)[number], { kind: 'input_requested' }>;
    await server.call('POST', `/api/runs/${runId}/respond`, { requestId: asked.requestId, response: 'yes' });

    const again = await server.events(runId, { 'Last-Event-ID': String(asked.seq) });
    const rest = await again.rest();
    const resumed = runEvents(rest);
    expect(resumed[0]!.seq).toBe(asked.seq + 1);
    expect(rest.filter((m) => m.event === 'message').map((m) => m.id)).toEqual(resumed.map((e) => String(e.seq)));
    const all = [...seen, ...resumed].map((e) => e.seq);
    expect(all).toEqual(all.map((_, i) => i + 1));
    expect(resumed.at(-1)).toMatchObject({ kind: 'run_completed', result: 'published Notes' });
    expect(rest.at(-1)!.event).toBe('end');
  });

  it('takes the last seen seq from ?lastEventId= too, and rejects a malformed one with 400', async () => {
    server = await start({ workflows: [approval] });
    const { runId, first, seen } = await waitingRun(server);
    first.close();
    const fromQuery = await EventStream.open(`${server.url}/api/runs/${runId}/events?lastEventId=${seen.length - 2}`);
    const tail = await fromQuery.until((e) => e.kind === 'input_requested');
    fromQuery.close();
    expect(tail).toEqual(seen.slice(-2));
    const bad = await server.call('GET', `/api/runs/${runId}/events`, undefined, { 'Last-Event-ID': 'yesterday' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
  });

  it('reports a replay gap only to a client that really missed events', async () => {
    server = await start({ workflows: [approval.withOptions({ replay: 3 })] });
    const { runId, first } = await waitingRun(server);
    first.close();
    await server.registry.flush();
    const { seq } = (await server.call('GET', `/api/runs/${runId}`)).body.snapshot;

    const fresh = await server.events(runId);
    const head = [await fresh.next(), await fresh.next(), await fresh.next(), await fresh.next()];
    fresh.close();
    expect(head[0]).toEqual({ id: undefined, event: 'gap', data: expect.stringContaining(`"missed":${seq - 3}`) });
    expect(head.slice(1).map((m) => m!.id)).toEqual([String(seq - 2), String(seq - 1), String(seq)]);

    const caughtUp = await server.events(runId, { 'Last-Event-ID': String(seq - 1) });
    const next = await caughtUp.next();
    caughtUp.close();
    expect(next).toMatchObject({ id: String(seq), event: 'message' });
  });

  it('keeps an idle stream alive with comments', async () => {
    server = await start({ workflows: [approval], heartbeatMs: 20 });
    const { first } = await waitingRun(server);
    first.close();
    const { runId } = (await server.call('GET', '/api/runs')).body.runs[0];
    const res = await fetch(`${server.url}/api/runs/${runId}/events?lastEventId=1000`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const chunk = await reader.read();
    await reader.cancel();
    expect(new TextDecoder().decode(chunk.value)).toBe(': keep-alive\n\n');
  });

  it('ends open streams when the server closes', async () => {
    server = await start({ workflows: [approval] });
    const { first } = await waitingRun(server);
    const ending = first.rest();
    await server.close();
    // The stream closes cleanly (no socket error) without an `end` event: the run has not ended.
    expect((await ending).map((m) => m.event)).not.toContain('end');
    expect(server.registry.handle((await server.registry.list())[0]!.runId)?.status).toBe('waiting');
  });
});
