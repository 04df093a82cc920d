import { afterEach, describe, expect, it } from 'vitest';
import { approval } from './fixtures.js';
import { EventStream, start, type TestServer } from './support.js';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

const TOKEN = 's3cret-token';
const bearer = { authorization: `Bearer ${TOKEN}` };

describe('bearer token', () => {
  it('rejects every route without the token with 401 unauthorized', async () => {
    server = await start({ workflows: [approval], token: TOKEN });
    const routes: [string, string, unknown?][] = [
      ['GET', '/'],
      ['GET', '/api/workflows'],
      ['POST', '/api/workflows/approval/runs', {}],
      ['GET', '/api/runs'],
      ['GET', '/api/runs/any'],
      ['GET', '/api/runs/any/events'],
      ['POST', '/api/runs/any/pause'],
      ['POST', '/api/runs/any/resume'],
      ['POST', '/api/runs/any/abort'],
      ['POST', '/api/runs/any/respond', { requestId: 'r', response: 1 }],
      ['GET', '/no/such/route'],
    ];
    for (const [method, path, body] of routes) {
      const res = await server.call(method, path, body);
      expect([path, res.status, res.body.error.code]).toEqual([path, 401, 'unauthorized']);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="sluice"');
    }
    expect((await server.call('GET', '/api/runs')).body.error.message).toBe('a bearer token is required');
    expect((await server.registry.list()).length).toBe(0);
  });

  it('rejects a wrong token and accepts the right one in the header or as ?access_token=', async () => {
    server = await start({ workflows: [approval], token: TOKEN });
    const wrong = await server.call('GET', '/api/runs', undefined, { authorization: 'Bearer nope' });
    expect([wrong.status, wrong.body.error.message]).toEqual([401, 'the bearer token is not valid']);
    expect((await server.call('GET', `/api/runs?access_token=nope`)).status).toBe(401);

    expect((await server.call('GET', '/api/runs', undefined, bearer)).body).toMatchObject({ runs: [], total: 0 });
    expect((await server.call('GET', `/api/runs?access_token=${TOKEN}`)).body).toMatchObject({ runs: [], total: 0 });
    const page = await fetch(`${server.url}/?access_token=${TOKEN}`);
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=UTF-8']);

    const created = await server.call('POST', '/api/workflows/approval/runs', { input: 'x' }, bearer);
    expect(created.status).toBe(201);
    const stream = await EventStream.open(`${server.url}/api/runs/${created.body.runId}/events?access_token=${TOKEN}`);
    expect((await stream.until((e) => e.kind === 'input_requested')).at(-1)!.kind).toBe('input_requested');
    stream.close();
  });
});
