import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore, type RunEvent, type SnapshotV1 } from 'sluice';
import { approval, boom, echo } from './fixtures.js';
import { runEvents, start, type TestServer } from './support.js';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

/** Start an approval run and wait until it asks; returns its id and the request. */
async function startWaiting(s: TestServer, title = 'Notes') {
  const created = await s.call('POST', '/api/workflows/approval/runs', { input: title });
  const stream = await s.events(created.body.runId);
  const seen = await stream.until((e) => e.kind === 'input_requested');
  stream.close();
  const asked = seen.at(-1) as Extract<RunEvent, { kind: 'input_requested' }>;
  return { runId: created.body.runId as string, requestId: asked.requestId, seen };
}

describe('workflows', () => {
  it('lists each workflow with its steps and the graph drawn from accepts and emits', async () => {
    server = await start({ workflows: [approval, echo] });
    const res = await server.call('GET', '/api/workflows');
    expect(res.status).toBe(200);
    expect(res.body.workflows.map((w: { name: string }) => w.name)).toEqual(['approval', 'echo']);
    const [wf, plain] = res.body.workflows;
    expect(wf.version).toBe(approval.version);
    expect(wf.steps).toEqual([
      { name: 'draft', kind: 'step', accepts: ['StartEvent'], emits: ['Draft'] },
      { name: 'review', kind: 'step', accepts: ['Draft'], emits: ['Approved', 'StopEvent'] },
      { name: 'publish', kind: 'step', accepts: ['Approved'], emits: ['StopEvent'] },
    ]);
    expect(wf.edges).toEqual([
      { from: null, to: 'draft', type: 'StartEvent' },
      { from: 'draft', to: 'review', type: 'Draft' },
      { from: 'review', to: 'publish', type: 'Approved' },
    ]);
    expect(plain.steps).toEqual([{ name: 'shout', kind: 'step', accepts: ['StartEvent'], emits: null }]);
  });

  it('starts a run with 201, its id and a Location header', async () => {
    server = await start({ workflows: [echo] });
    const res = await server.call('POST', '/api/workflows/echo/runs', { input: 'hi' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ runId: expect.any(String), workflow: 'echo', status: 'running' });
    expect(res.headers.get('location')).toBe(`/api/runs/${res.body.runId}`);
    const done = (await (await server.events(res.body.runId)).rest()).filter((m) => m.event === 'message');
    expect(JSON.parse(done.at(-1)!.data)).toMatchObject({ kind: 'run_completed', result: 'HI' });
  });

  it('answers 404 not_found for an unknown workflow', async () => {
    server = await start({ workflows: [echo] });
    const res = await server.call('POST', '/api/workflows/nope/runs', {});
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('rejects a body that is not JSON or does not fit with 400 invalid_request and the issues', async () => {
    server = await start({ workflows: [echo] });
    const notJson = await server.call('POST', '/api/workflows/echo/runs', '{"input":');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('invalid_request');
    const extra = await server.call('POST', '/api/workflows/echo/runs', { input: 1, runID: 'mine' });
    expect(extra.status).toBe(400);
    expect(extra.body.error.code).toBe('invalid_request');
    expect(extra.body.error.details.issues).toEqual([{ path: '', message: expect.stringContaining('runID') }]);
    const badState = await server.call('POST', '/api/workflows/echo/runs', { state: [1] });
    expect(badState.status).toBe(400);
    expect(badState.body.error.details.issues[0].path).toBe('state');
  });
});

describe('runs', () => {
  it('shows a waiting run with its open request, answers it and reports completion', async () => {
    server = await start({ workflows: [approval] });
    const { runId, requestId } = await startWaiting(server);
    expect(requestId).toMatch(/\/review:1$/);

    const waiting = await server.call('GET', `/api/runs/${runId}`);
    expect(waiting.status).toBe(200);
    expect(waiting.body).toMatchObject({ runId, workflow: 'approval', status: 'waiting', live: true });
    expect(waiting.body.snapshot.waiting).toEqual([{ kind: 'input', requestId, prompt: 'Publish Notes?', metadata: { title: 'Notes' } }]);
    // State is transactional per invocation: the review step's write lands when it settles, not while it waits.
    expect(waiting.body.snapshot.state).toEqual({});

    const stream = await server.events(runId, { 'last-event-id': String(waiting.body.snapshot.seq) });
    const answered = await server.call('POST', `/api/runs/${runId}/respond`, { requestId, response: 'yes' });
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ runId, live: true });
    const rest = await stream.rest();
    expect(runEvents(rest).map((e) => e.kind)).toContain('input_received');
    expect(runEvents(rest).at(-1)).toMatchObject({ kind: 'run_completed', result: 'published Notes' });
    expect(rest.at(-1)).toEqual({ id: undefined, event: 'end', data: '{"status":"completed"}' });

    const done = await server.call('GET', `/api/runs/${runId}`);
    expect(done.body.status).toBe('completed');
    expect(done.body.snapshot.state).toEqual({ title: 'Notes' });
  });

  it('answers 400 unknown_request for a wrong request id and 400 invalid_request for a missing response', async () => {
    server = await start({ workflows: [approval] });
    const { runId, requestId } = await startWaiting(server);
    const wrong = await server.call('POST', `/api/runs/${runId}/respond`, { requestId: 'nope', response: 'yes' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ code: 'unknown_request', details: { requestId: 'nope' } });
    const missing = await server.call('POST', `/api/runs/${runId}/respond`, { requestId });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('invalid_request');
    expect(missing.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(['response']);
    expect((await server.call('GET', `/api/runs/${runId}`)).body.status).toBe('waiting');
  });

  it('answers 404 not_found for an unknown run on every run route', async () => {
    server = await start({ workflows: [approval] });
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/runs/ghost'],
      ['GET', '/api/runs/ghost/events'],
      ['POST', '/api/runs/ghost/pause'],
      ['POST', '/api/runs/ghost/resume'],
      ['POST', '/api/runs/ghost/abort'],
      ['POST', '/api/runs/ghost/respond', { requestId: 'r', response: 1 }],
    ];
    for (const [method, path, body] of routes) {
      const res = await server.call(method, path, body);
      expect([path, res.status, res.body.error.code]).toEqual([path, 404, 'not_found']);
    }
  });

  it('pauses a waiting run with an exact snapshot, resumes it and aborts it; an ended run answers 409', async () => {
    server = await start({ workflows: [approval] });
    const { runId, requestId } = await startWaiting(server);

    const paused = await server.call('POST', `/api/runs/${runId}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ runId, status: 'paused', live: true });
    expect(paused.body.snapshot.status).toBe('paused');
    expect(paused.body.snapshot.waiting.map((w: { requestId: string }) => w.requestId)).toEqual([requestId]);

    const resumed = await server.call('POST', `/api/runs/${runId}/resume`);
    expect(resumed.body).toMatchObject({ runId, status: 'waiting' });

    const aborted = await server.call('POST', `/api/runs/${runId}/abort`, { reason: 'changed my mind' });
    expect(aborted.body).toMatchObject({ runId, status: 'aborted' });
    const history = runEvents(await (await server.events(runId)).rest());
    expect(history.at(-1)).toMatchObject({ kind: 'run_aborted', error: { code: 'aborted', message: expect.stringContaining('changed my mind') } });

    for (const action of ['pause', 'resume', 'abort']) {
      const res = await server.call('POST', `/api/runs/${runId}/${action}`);
      expect([action, res.status, res.body.error.code]).toEqual([action, 409, 'not_running']);
    }
    const late = await server.call('POST', `/api/runs/${runId}/respond`, { requestId, response: 'yes' });
    expect([late.status, late.body.error.code]).toEqual([409, 'not_running']);
  });

  it('lists runs from the store with live status, filtered by workflow and status', async () => {
    const store = new MemoryStore();
    server = await start({ workflows: [approval, echo, boom], store });
    const waiting = await startWaiting(server);
    const echoed = await server.call('POST', '/api/workflows/echo/runs', { input: 'x' });
    await (await server.events(echoed.body.runId)).rest();
    const failed = await server.call('POST', '/api/workflows/boom/runs', {});
    await (await server.events(failed.body.runId)).rest();
    await server.registry.flush();

    const all = await server.call('GET', '/api/runs');
    expect(all.status).toBe(200);
    const byId = Object.fromEntries(all.body.runs.map((r: { runId: string; status: string }) => [r.runId, r.status]));
    expect(byId).toEqual({ [waiting.runId]: 'waiting', [echoed.body.runId]: 'completed', [failed.body.runId]: 'failed' });
    expect(all.body.runs.find((r: { runId: string }) => r.runId === waiting.runId)).toMatchObject({ workflow: 'approval', live: true });

    const done = await server.call('GET', '/api/runs?status=completed');
    expect(done.body.runs.map((r: { runId: string }) => r.runId)).toEqual([echoed.body.runId]);
    const ofBoom = await server.call('GET', '/api/runs?workflow=boom');
    expect(ofBoom.body.runs).toEqual([expect.objectContaining({ runId: failed.body.runId, status: 'failed', live: false })]);

    const bad = await server.call('GET', '/api/runs?status=sleeping');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
  });

  it('pages the runs list, searches it by run id or workflow, and counts each status', async () => {
    server = await start({ workflows: [echo, boom] });
    for (let i = 0; i < 7; i++) await server.registry.start('echo', i, undefined).result;
    const failed = server.registry.start('boom', undefined, undefined);
    await failed.result.catch(() => undefined);
    await server.registry.flush();
    const newestFirst = (await server.call('GET', '/api/runs')).body.runs.map((r: { runId: string }) => r.runId);
    expect(newestFirst).toHaveLength(8);

    const page2 = await server.call('GET', '/api/runs?limit=3&offset=3');
    expect(page2.body).toMatchObject({ total: 8, offset: 3, limit: 3, counts: { completed: 7, failed: 1 } });
    expect(page2.body.runs.map((r: { runId: string }) => r.runId)).toEqual(newestFirst.slice(3, 6));
    for (const row of page2.body.runs) expect(row.createdAt).toBeLessThanOrEqual(row.updatedAt);

    const boomOnly = await server.call('GET', '/api/runs?q=BOO&limit=10');
    expect(boomOnly.body).toMatchObject({ total: 1, counts: { failed: 1 }, runs: [{ runId: failed.id, workflow: 'boom' }] });
    const byId = await server.call('GET', `/api/runs?q=${failed.id.slice(0, 8)}`);
    expect(byId.body.runs.map((r: { runId: string }) => r.runId)).toEqual([failed.id]);
    // The counts ignore the status filter, so every status chip can show its number.
    const onlyFailed = await server.call('GET', '/api/runs?status=failed&limit=5');
    expect(onlyFailed.body).toMatchObject({ total: 1, counts: { completed: 7, failed: 1 } });

    for (const query of ['limit=0', 'limit=501', 'offset=-1', 'limit=x']) {
      const bad = await server.call('GET', `/api/runs?${query}`);
      expect([query, bad.status, bad.body.error.code]).toEqual([query, 400, 'invalid_request']);
    }
  });

  it('puts a run’s result or error at the top level of GET /api/runs/:id', async () => {
    server = await start({ workflows: [approval, echo, boom] });
    const done = server.registry.start('echo', 'hi', undefined);
    await done.result;
    const failed = server.registry.start('boom', undefined, undefined);
    await failed.result.catch(() => undefined);
    await server.registry.flush();
    const ok = await server.call('GET', `/api/runs/${done.id}`);
    expect(ok.body).toMatchObject({ runId: done.id, status: 'completed', result: 'HI' });
    expect(ok.body).not.toHaveProperty('error');
    expect(ok.body.updatedAt).toBeGreaterThanOrEqual(ok.body.createdAt);
    const bad = await server.call('GET', `/api/runs/${failed.id}`);
    expect(bad.body).toMatchObject({ status: 'failed', error: { code: 'step_failed', step: 'explode' } });
    expect(bad.body.error.message).toContain('kaboom');
    expect(bad.body).not.toHaveProperty('result');
    const { runId } = await startWaiting(server);
    const open = await server.call('GET', `/api/runs/${runId}`);
    expect(open.body.status).toBe('waiting');
    expect(open.body).not.toHaveProperty('result');
    expect(open.body).not.toHaveProperty('error');
  });
});

describe('runs not live on this server', () => {
  it('resumes a paused stored run on request and keeps streaming it on the same connection', async () => {
    const store = new MemoryStore();
    // Another process ran it until it asked, paused it and went away.
    const elsewhere = approval.withOptions({ store }).run('Elsewhere');
    await new Promise<void>((done) => elsewhere.events$.subscribe((e) => e.kind === 'input_requested' && done()));
    const snap = await elsewhere.pause();
    await elsewhere.flush();

    server = await start({ workflows: [approval], store });
    const shown = await server.call('GET', `/api/runs/${snap.runId}`);
    expect(shown.body).toMatchObject({ status: 'paused', live: false });
    const listed = await server.call('GET', '/api/runs');
    expect(listed.body.runs).toEqual([expect.objectContaining({ runId: snap.runId, status: 'paused', live: false })]);
    // Pausing a stored paused run changes nothing.
    const again = await server.call('POST', `/api/runs/${snap.runId}/pause`);
    expect(again.body).toMatchObject({ status: 'paused', live: false });

    const stream = await server.events(snap.runId);
    const replayed = await stream.until((e) => e.kind === 'run_paused');
    expect(replayed.at(-1)?.kind).toBe('run_paused');
    expect(replayed).toEqual((await store.events(snap.runId)).slice(0, replayed.length));

    const resumed = await server.call('POST', `/api/runs/${snap.runId}/resume`);
    expect(resumed.body).toMatchObject({ runId: snap.runId, live: true });
    // The same request stays open across the resume: no new input_requested, the old id is answered.
    const requestId = snap.waiting[0]!.requestId;
    const resumedEvents = await stream.until((e) => e.kind === 'run_resumed');
    await server.call('POST', `/api/runs/${snap.runId}/respond`, { requestId, response: 'yes' });
    const after = await stream.rest();
    const kinds = runEvents(after).map((e) => e.kind);
    expect(kinds).toContain('input_received');
    expect(runEvents(after).at(-1)).toMatchObject({ kind: 'run_completed', result: 'published Elsewhere' });
    expect(after.at(-1)!.data).toBe('{"status":"completed"}');
    const seqs = [...replayed, ...resumedEvents, ...runEvents(after)].map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  });

  it('answers a stored waiting run by resuming it from the store, after checking the request id', async () => {
    const store = new MemoryStore();
    const elsewhere = approval.run('Stored');
    await new Promise<void>((done) => elsewhere.events$.subscribe((e) => e.kind === 'input_requested' && done()));
    await store.save(elsewhere.snapshot());
    elsewhere.abort('the process died');
    const { runId, waiting } = elsewhere.snapshot();

    server = await start({ workflows: [approval], store });
    const wrong = await server.call('POST', `/api/runs/${runId}/respond`, { requestId: 'nope', response: 'yes' });
    expect([wrong.status, wrong.body.error.code]).toEqual([400, 'unknown_request']);
    expect(server.registry.handle(runId)).toBeUndefined();

    const res = await server.call('POST', `/api/runs/${runId}/respond`, { requestId: waiting[0]!.requestId, response: 'yes' });
    expect(res.status).toBe(200);
    const end = (await (await server.events(runId)).rest()).at(-1);
    expect(end).toMatchObject({ event: 'end', data: '{"status":"completed"}' });
    await server.registry.flush();
    expect((await store.load(runId))?.status).toBe('completed');
  });

  it('replays a finished run from its stored history, then ends the stream', async () => {
    const store = new MemoryStore();
    const finished = echo.withOptions({ store }).run('old');
    await finished.result;
    await finished.flush();

    server = await start({ workflows: [echo], store });
    const stream = await server.events(finished.id, { 'last-event-id': '3' });
    const messages = await stream.rest();
    const stored = (await store.events(finished.id)).filter((e) => e.seq > 3);
    expect(runEvents(messages)).toEqual(stored);
    expect(messages.filter((m) => m.event === 'message').map((m) => m.id)).toEqual(stored.map((e) => String(e.seq)));
    expect(messages.at(-1)).toEqual({ id: undefined, event: 'end', data: '{"status":"completed"}' });
    const res = await server.call('POST', `/api/runs/${finished.id}/resume`);
    expect([res.status, res.body.error.code]).toEqual([409, 'not_running']);
  });

  it('replays a run stored as a version-1 snapshot from the history inside it', async () => {
    const store = new MemoryStore();
    const finished = echo.withOptions({ store }).run('journaled');
    await finished.result;
    await finished.flush();
    // The same run as sluice stored it before the journal: its RunEvents inside the snapshot.
    const history = await store.events(finished.id);
    const { version: _v, ...rest } = (await store.load(finished.id))!;
    await store.delete(finished.id);
    await store.save({ ...rest, version: 1, history, children: {} } satisfies SnapshotV1);

    server = await start({ workflows: [echo], store });
    const messages = await (await server.events(finished.id, { 'last-event-id': '2' })).rest();
    expect(runEvents(messages)).toEqual(history.filter((e) => e.seq > 2));
    expect(messages.at(-1)).toEqual({ id: undefined, event: 'end', data: '{"status":"completed"}' });
  });

  it('answers 409 snapshot_version for a stored run of another shape of the workflow', async () => {
    const store = new MemoryStore();
    const older = approval.run('v1');
    await new Promise<void>((done) => older.events$.subscribe((e) => e.kind === 'input_requested' && done()));
    await store.save({ ...older.snapshot(), workflowVersion: 'deadbeef' });
    older.abort();
    server = await start({ workflows: [approval], store });
    const res = await server.call('POST', `/api/runs/${older.id}/resume`);
    expect([res.status, res.body.error.code]).toEqual([409, 'snapshot_version']);
  });
});
