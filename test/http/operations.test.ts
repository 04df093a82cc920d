import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from 'sluice';
import { approval, echo } from './fixtures.js';
import { start, type TestServer } from './support.js';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

describe('idempotent starts and schedules over HTTP', () => {
  it('starts a run of a given runId once: 201 the first time, 200 and the same run after', async () => {
    const store = new MemoryStore();
    server = await start({ workflows: [approval], store });
    const first = await server.call('POST', '/api/workflows/approval/runs', { input: 'Notes', runId: 'doc-1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ runId: 'doc-1', workflow: 'approval' });
    const again = await server.call('POST', '/api/runs', { workflow: 'approval', input: 'Other', runId: 'doc-1' });
    expect(again.status).toBe(200);
    expect(again.body.runId).toBe('doc-1');
    expect(again.headers.get('location')).toBe('/api/runs/doc-1');
    const listed = await server.call('GET', '/api/runs');
    expect(listed.body.runs.map((r: { runId: string }) => r.runId)).toEqual(['doc-1']);
    const shown = await server.call('GET', '/api/runs/doc-1');
    expect(shown.body.snapshot.input).toBe('Notes');
  });

  it('reports an ended run of that id with its stored status instead of starting it again', async () => {
    const store = new MemoryStore();
    server = await start({ workflows: [echo], store });
    const first = await server.call('POST', '/api/runs', { workflow: 'echo', input: 'hi', runId: 'e-1' });
    expect(first.status).toBe(201);
    const done = (await (await server.events('e-1')).rest()).filter((m) => m.event === 'message');
    expect(JSON.parse(done.at(-1)!.data)).toMatchObject({ kind: 'run_completed', result: 'HI' });
    await server.registry.flush();
    const again = await server.call('POST', '/api/runs', { workflow: 'echo', input: 'other', runId: 'e-1' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ runId: 'e-1', workflow: 'echo', status: 'completed' });
    expect((await store.list()).length).toBe(1);
  });

  it('refuses POST /api/runs without a known workflow', async () => {
    server = await start({ workflows: [echo] });
    const missing = await server.call('POST', '/api/runs', { input: 1 });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues[0].path).toBe('workflow');
    const unknown = await server.call('POST', '/api/runs', { workflow: 'nope' });
    expect(unknown.status).toBe(404);
  });

  it('lists the dispatcher’s schedules, and answers 404 without a dispatcher', async () => {
    const schedules = [{ id: 'beat', workflow: 'echo', every: 1000, iterations: 2, next: 1 }];
    server = await start({ workflows: [echo], dispatcher: { schedules: async () => schedules } });
    const listed = await server.call('GET', '/api/schedules');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ schedules });
    await server.close();
    server = await start({ workflows: [echo] });
    const none = await server.call('GET', '/api/schedules');
    expect(none.status).toBe(404);
    expect(none.body.error.message).toContain('no dispatcher is configured');
  });
});
