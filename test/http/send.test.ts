import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, MemoryStore, StartEvent, StopEvent, workflow, type RunHandle } from 'sluice';
import { runEvents, start, type TestServer } from './support.js';

// POST /api/runs/:id/send (DESIGN §6.4): deliver an event to a run live here or resting in the store.

const Letter = event('Letter', z.object({ text: z.string() }));

const Paid = event('Paid', z.object({ total: z.number() }));

/** Waits for a payment no step accepts: only its ctx.waitFor takes it. */
const till = workflow('till', { timeout: null }).step('await', { accepts: [StartEvent] }, async (_ev, ctx) => {
  const paid = await ctx.waitFor(Paid);
  return StopEvent.of({ result: paid?.data.total });
});

/** Opens, then idles until a Letter arrives; ends with its text. */
const mailbox = workflow('mailbox', { timeout: null })
  .step('open', { accepts: [StartEvent] }, () => undefined)
  .step('read', { accepts: [Letter], emits: [StopEvent] }, (ev) => StopEvent.of({ result: ev.data.text }));

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

function opened(run: RunHandle): Promise<void> {
  return new Promise((done) => run.events$.subscribe((e) => e.kind === 'step_completed' && e.step === 'open' && done()));
}

describe('POST /api/runs/:id/send', () => {
  it('routes the event into a live run, whose step takes it', async () => {
    server = await start({ workflows: [mailbox] });
    const created = await server.call('POST', '/api/workflows/mailbox/runs', {});
    const runId = created.body.runId as string;
    await opened(server.registry.handle(runId) as RunHandle);

    const res = await server.call('POST', `/api/runs/${runId}/send`, { event: { type: 'Letter', data: { text: 'hello' } } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ runId, status: expect.any(String), live: true });
    const events = runEvents(await (await server.events(runId)).rest());
    expect(events.find((e) => e.kind === 'event_routed' && e.event.type === 'Letter')).toMatchObject({
      event: { type: 'Letter', data: { text: 'hello' } },
      steps: ['read'],
    });
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 'hello' });
  });

  it('reports an idle run as idle in GET /api/runs/:id and the runs page, until a sent event revives it', async () => {
    server = await start({ workflows: [mailbox] });
    const created = await server.call('POST', '/api/workflows/mailbox/runs', {});
    const runId = created.body.runId as string;
    const run = server.registry.handle(runId) as RunHandle;
    const idle = new Promise<number>((done) => run.events$.subscribe((e) => e.kind === 'run_idle' && done(e.at)));
    const since = await idle;
    const view = await server.call('GET', `/api/runs/${runId}`);
    expect(view.body).toMatchObject({ status: 'running', idle: { since, lastStep: 'open' } });
    const page = await server.call('GET', '/api/runs?limit=10');
    expect(page.body.runs).toEqual([expect.objectContaining({ runId, idle: { since, lastStep: 'open' } })]);
    await server.call('POST', `/api/runs/${runId}/send`, { event: { type: 'Letter', data: { text: 'hi' } } });
    await run.result;
    const done = await server.call('GET', `/api/runs/${runId}`);
    expect(done.body).toMatchObject({ status: 'completed', result: 'hi' });
    expect(done.body).not.toHaveProperty('idle');
  });

  it('refuses with 400 invalid_event an event nothing would take, and the run goes on', async () => {
    server = await start({ workflows: [mailbox] });
    const runId = (await server.call('POST', '/api/workflows/mailbox/runs', {})).body.runId as string;
    const run = server.registry.handle(runId) as RunHandle;
    await opened(run);

    const res = await server.call('POST', `/api/runs/${runId}/send`, { event: { type: 'Postcard', data: {} } });
    expect([res.status, res.body.error.code]).toEqual([400, 'invalid_event']);
    expect(res.body.error.details).toEqual({ runId, type: 'Postcard' });
    expect(run.status).toBe('running');
    run.abort();
  });

  it('refuses with 400 invalid_event an event whose data fails its type’s schema', async () => {
    server = await start({ workflows: [mailbox] });
    const runId = (await server.call('POST', '/api/workflows/mailbox/runs', {})).body.runId as string;
    await opened(server.registry.handle(runId) as RunHandle);
    const res = await server.call('POST', `/api/runs/${runId}/send`, { event: { type: 'Letter', data: { text: 42 } } });
    expect([res.status, res.body.error.code]).toEqual([400, 'invalid_event']);
    server.registry.handle(runId)?.abort();
  });

  it('refuses a body without an event with 400 invalid_request', async () => {
    server = await start({ workflows: [mailbox] });
    const runId = (await server.call('POST', '/api/workflows/mailbox/runs', {})).body.runId as string;
    for (const body of [{}, { event: { data: 1 } }, { event: { type: '' } }, { event: { type: 'Letter' }, extra: 1 }, '{']) {
      const res = await server.call('POST', `/api/runs/${runId}/send`, body);
      expect([res.status, res.body.error.code]).toEqual([400, 'invalid_request']);
    }
    server.registry.handle(runId)?.abort();
  });

  it('answers 404 not_found for an unknown run and 409 not_running for one that has ended', async () => {
    server = await start({ workflows: [mailbox] });
    const missing = await server.call('POST', '/api/runs/ghost/send', { event: { type: 'Letter', data: { text: 'x' } } });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);

    const runId = (await server.call('POST', '/api/workflows/mailbox/runs', {})).body.runId as string;
    const run = server.registry.handle(runId) as RunHandle;
    run.abort();
    const late = await server.call('POST', `/api/runs/${runId}/send`, { event: { type: 'Letter', data: { text: 'x' } } });
    expect([late.status, late.body.error.code]).toEqual([409, 'not_running']);
  });

  it('resumes a run resting in the store, then sends; a refused event does not wake it', async () => {
    const store = new MemoryStore();
    const elsewhere = mailbox.run();
    await opened(elsewhere);
    await store.save(elsewhere.snapshot());
    elsewhere.abort('the process died');
    const runId = elsewhere.id;

    server = await start({ workflows: [mailbox], store });
    const refused = await server.call('POST', `/api/runs/${runId}/send`, { event: { type: 'Postcard', data: {} } });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'invalid_event']);
    expect(server.registry.handle(runId)).toBeUndefined();

    const res = await server.call('POST', `/api/runs/${runId}/send`, { event: { type: 'Letter', data: { text: 'from afar' } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ runId, live: true });
    const events = runEvents(await (await server.events(runId)).rest());
    expect(events.map((e) => e.kind)).toContain('run_resumed');
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 'from afar' });
    await server.registry.flush();
    expect((await store.load(runId))?.status).toBe('completed');
  });

  it('delivers to a ctx.waitFor of a stored run an event no step accepts', async () => {
    const store = new MemoryStore();
    const elsewhere = till.run();
    await new Promise<void>((done) => elsewhere.status$.subscribe((s) => s === 'waiting' && done()));
    await store.save(elsewhere.snapshot());
    elsewhere.abort('the process died');

    server = await start({ workflows: [till], store });
    const stray = await server.call('POST', `/api/runs/${elsewhere.id}/send`, { event: { type: 'Letter', data: { text: 'x' } } });
    expect([stray.status, stray.body.error.code]).toEqual([400, 'invalid_event']);
    const res = await server.call('POST', `/api/runs/${elsewhere.id}/send`, { event: { type: 'Paid', data: { total: 42 } } });
    expect(res.status).toBe(200);
    const events = runEvents(await (await server.events(elsewhere.id)).rest());
    expect(events.find((e) => e.kind === 'event_routed' && e.event.type === 'Paid')).toMatchObject({ steps: [], waiters: [expect.stringMatching(/:1$/)] });
    expect(events.at(-1)).toMatchObject({ kind: 'run_completed', result: 42 });
  });
});
