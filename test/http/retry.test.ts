import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore, StartEvent, StopEvent, workflow, type RunEvent } from 'sluice';
import { echo } from './fixtures.js';
import { runEvents, start, type TestServer } from './support.js';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

/** `charge` fails while `gateway.down`. */
function flaky(gateway: { down: boolean }) {
  return workflow('flaky').step('charge', { accepts: [StartEvent] }, (ev) => {
    if (gateway.down) throw new Error('gateway down');
    return StopEvent.of({ result: `charged ${String(ev.data)}` });
  });
}

async function failed(s: TestServer): Promise<string> {
  const created = await s.call('POST', '/api/workflows/flaky/runs', { input: 'o-7' });
  const stream = await s.events(created.body.runId);
  await stream.rest();
  const view = await s.call('GET', `/api/runs/${created.body.runId}`);
  expect(view.body).toMatchObject({ status: 'failed', error: { code: 'step_failed', step: 'charge' } });
  return created.body.runId as string;
}

describe('POST /api/runs/:id/retry', () => {
  it('resumes a failed run from its last checkpoint: 200 with the run view, then it completes', async () => {
    const gateway = { down: true };
    const store = new MemoryStore();
    server = await start({ workflows: [flaky(gateway)], store });
    const runId = await failed(server);
    const failedSeq = (await store.load(runId))!.seq;
    gateway.down = false;
    const res = await server.call('POST', `/api/runs/${runId}/retry`, {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ runId, workflow: 'flaky', live: true });
    expect(['running', 'completed']).toContain(res.body.status);
    expect(res.body.error).toBeUndefined(); // the earlier attempt's error is not this run's outcome
    const events = runEvents(await (await server.events(runId, { 'last-event-id': String(failedSeq) })).rest()) as RunEvent[];
    expect(events[0]).toMatchObject({ kind: 'run_resumed', retry: true, seq: failedSeq + 1 });
    expect(events.filter((e) => e.kind === 'step_started').map((e) => (e as { step: string }).step)).toEqual(['charge']);
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 'charged o-7' });
    await server.registry.flush();
    const view = await server.call('GET', `/api/runs/${runId}`);
    expect(view.body).toMatchObject({ status: 'completed', result: 'charged o-7' });
  });

  it('answers 409 not_running for a completed run, 404 for an unknown one, 400 for a body that is not {}', async () => {
    const store = new MemoryStore();
    server = await start({ workflows: [echo], store });
    const created = await server.call('POST', '/api/workflows/echo/runs', { input: 'hi' });
    await (await server.events(created.body.runId)).rest();
    const res = await server.call('POST', `/api/runs/${created.body.runId}/retry`, {});
    expect([res.status, res.body.error.code]).toEqual([409, 'not_running']);
    expect(res.body.error.message).toMatch(/only a failed or timed-out run can be retried/);
    const ghost = await server.call('POST', '/api/runs/ghost/retry', {});
    expect([ghost.status, ghost.body.error.code]).toEqual([404, 'not_found']);
    const bad = await server.call('POST', `/api/runs/${created.body.runId}/retry`, { step: 1 });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
  });
});
