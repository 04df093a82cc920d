import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore, WorkflowError, type Snapshot } from 'sluice';
import { redactPaths } from '../../src/http/errors.js';
import { approval, echo } from '../http/fixtures.js';
import { start, type TestServer } from '../http/support.js';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

/** A raw request, so tests can send any Host header (fetch forbids setting it). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; body: any; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

class Recorder {
  readonly lines: { fields: Record<string, unknown>; message: string }[] = [];
  error(fields: Record<string, unknown>, message: string) {
    this.lines.push({ fields, message });
  }
}

describe('HTTP body limit', () => {
  it('refuses a body over the default 1 MB with 413 body_too_large before any run starts', async () => {
    server = await start({ workflows: [echo] });
    const huge = JSON.stringify({ input: 'x'.repeat(1_048_577) });
    const res = await server.call('POST', '/api/workflows/echo/runs', huge);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'body_too_large', details: { limit: 1_048_576 } });
    expect((await server.call('GET', '/api/runs')).body.runs).toEqual([]);
  });

  it('takes a configured limit, also for chunked bodies without Content-Length', async () => {
    server = await start({ workflows: [echo], bodyLimit: 100 });
    const small = await server.call('POST', '/api/workflows/echo/runs', { input: 'hi' });
    expect(small.status).toBe(201);
    const chunked = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(server.url);
      const req = httpRequest(
        { hostname, port, method: 'POST', path: '/api/workflows/echo/runs', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"input":"');
      req.write('y'.repeat(200));
      req.end('"}');
    });
    expect(chunked).toBe(413);
  });
});

describe('HTTP content type', () => {
  it('refuses writes that are not application/json with 415 (a cross-site text/plain form cannot start a run)', async () => {
    server = await start({ workflows: [echo] });
    const plain = await server.call('POST', '/api/workflows/echo/runs', '{"input":"x"}', { 'content-type': 'text/plain' });
    expect([plain.status, plain.body.error.code]).toEqual([415, 'unsupported_media_type']);
    const form = await server.call('POST', '/api/runs/r/abort', 'reason=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect([form.status, form.body.error.code]).toEqual([415, 'unsupported_media_type']);
    const none = await fetch(`${server.url}/api/runs/r/pause`, { method: 'POST' });
    expect(none.status).toBe(415);
    const charset = await server.call('POST', '/api/workflows/echo/runs', { input: 'x' }, { 'content-type': 'application/json; charset=utf-8' });
    expect(charset.status).toBe(201);
    expect((await server.call('GET', '/api/runs')).body.runs).toHaveLength(1);
  });
});

describe('HTTP Host and Origin without a token', () => {
  it('answers 421 host_not_allowed to a rebound DNS name and serves loopback names', async () => {
    server = await start({ workflows: [echo] });
    const evil = await raw(server.url, 'GET', '/api/runs', { host: 'evil.example' });
    expect([evil.status, evil.body.error.code]).toEqual([421, 'host_not_allowed']);
    const rebound = await raw(server.url, 'GET', '/', { host: 'evil.example:8080' });
    expect(rebound.status).toBe(421);
    for (const host of ['localhost', 'localhost:1234', '127.0.0.1:9', '[::1]:80', 'app.localhost']) {
      expect([host, (await raw(server.url, 'GET', '/api/workflows', { host })).status]).toEqual([host, 200]);
    }
  });

  it('serves hosts listed in allowedHosts', async () => {
    server = await start({ workflows: [echo], allowedHosts: ['sluice.internal'] });
    expect((await raw(server.url, 'GET', '/api/workflows', { host: 'sluice.internal:8080' })).status).toBe(200);
    expect((await raw(server.url, 'GET', '/api/workflows', { host: 'other.internal' })).status).toBe(421);
  });

  it('answers 403 origin_not_allowed to a cross-site Origin, and accepts same-host and configured origins', async () => {
    server = await start({ workflows: [echo], allowedOrigins: ['https://ops.example.com'] });
    const body = '{"input":"x"}';
    const json = { 'content-type': 'application/json' };
    const cross = await server.call('POST', '/api/workflows/echo/runs', body, { ...json, origin: 'https://evil.example' });
    expect([cross.status, cross.body.error.code]).toEqual([403, 'origin_not_allowed']);
    const opaque = await server.call('POST', '/api/workflows/echo/runs', body, { ...json, origin: 'null' });
    expect(opaque.status).toBe(403);
    const same = await server.call('POST', '/api/workflows/echo/runs', body, { ...json, origin: server.url });
    expect(same.status).toBe(201);
    const listed = await server.call('POST', '/api/workflows/echo/runs', body, { ...json, origin: 'https://ops.example.com' });
    expect(listed.status).toBe(201);
  });

  it('leaves Host and Origin to the token when one is set', async () => {
    server = await start({ workflows: [echo], token: 's3cret' });
    const res = await raw(server.url, 'GET', '/api/workflows', { host: 'sluice.example.com', authorization: 'Bearer s3cret', origin: 'https://x.example' });
    expect(res.status).toBe(200);
    expect((await raw(server.url, 'GET', '/api/workflows', { host: 'sluice.example.com' })).status).toBe(401);
  });
});

describe('HTTP requests the adapter cannot read', () => {
  // Found by the sweep: these got a bare 400 with no body and no security headers from @hono/node-server.
  it('answers a malformed Host or a backslash path with a coded JSON 400 and the security headers', async () => {
    server = await start({ workflows: [echo] });
    for (const [path, host] of [['/api/runs', 'evil.example:80@localhost'], ['/api/runs', '[::ffff:127.0.0.1]'], ['/api\\runs', 'localhost']] as const) {
      const res = await raw(server.url, 'GET', path, { host });
      expect([path, host, res.status, res.body.error?.code, res.headers['x-content-type-options']]).toEqual([path, host, 400, 'invalid_request', 'nosniff']);
    }
    expect((await raw(server.url, 'GET', '/api/workflows', { host: 'localhost' })).status).toBe(200);
  });
});

describe('HTTP security headers', () => {
  it('sends a CSP allowing only the page own inline script by hash, no-referrer and nosniff with the inspector', async () => {
    server = await start({ workflows: [echo] });
    const res = await fetch(`${server.url}/`);
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("'unsafe-inline'");
    // Inline scripts, if the page has any, are allowed by hash only.
    const { createHash } = await import('node:crypto');
    for (const m of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)) {
      expect(csp).toContain(`'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
    }
  });

  it('sends nosniff, no-referrer and a deny-all CSP with API answers and errors', async () => {
    server = await start({ workflows: [echo] });
    for (const path of ['/api/workflows', '/api/runs/nope']) {
      const res = await fetch(server.url + path);
      expect([path, res.headers.get('x-content-type-options'), res.headers.get('referrer-policy'), res.headers.get('content-security-policy')]).toEqual([
        path,
        'nosniff',
        'no-referrer',
        "default-src 'none'; frame-ancestors 'none'",
      ]);
    }
  });
});

describe('HTTP errors', () => {
  it('never shows absolute server paths in error bodies', async () => {
    const store = new MemoryStore();
    store.load = () =>
      Promise.reject(new WorkflowError('invalid_snapshot', '/srv/app/.sluice/r1.json: not valid JSON', { details: { file: '/srv/app/.sluice/r1.json' } }));
    server = await start({ workflows: [echo], store, logger: new Recorder() });
    const res = await server.call('GET', '/api/runs/r1');
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'invalid_snapshot', message: 'r1.json: not valid JSON' });
    expect(JSON.stringify(res.body)).not.toContain('/srv');
  });

  it('redacts absolute paths to their last segment, leaving ids and relative text alone', () => {
    expect(redactPaths("FileStore: cannot read /var/lib/x/a%20b.json: EACCES: permission denied, open '/var/lib/x/a%20b.json'")).toBe(
      "FileStore: cannot read a%20b.json: EACCES: permission denied, open 'a%20b.json'",
    );
    expect(redactPaths('C:\\Users\\ada\\.sluice\\r.json is broken')).toBe('r.json is broken');
    expect(redactPaths("no open input request '0f2c/review:1' in run abc")).toBe("no open input request '0f2c/review:1' in run abc");
  });

  it('logs every 5xx with its cause and sends only a code', async () => {
    const store = new MemoryStore();
    const cause = new Error('connection reset by /srv/db.sock');
    store.list = () => Promise.reject(cause);
    const logger = new Recorder();
    server = await start({ workflows: [echo], store, logger });
    const res = await server.call('GET', '/api/runs');
    expect([res.status, res.body]).toEqual([500, { error: { code: 'internal_error', message: 'internal error' } }]);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]!.fields).toMatchObject({ err: cause, status: 500, code: 'internal_error', method: 'GET', path: '/api/runs' });
  });

  it('answers deeply nested input with 400 invalid_request, not 500', async () => {
    const logger = new Recorder();
    server = await start({ workflows: [echo], logger });
    const deep = `{"input":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const res = await server.call('POST', '/api/workflows/echo/runs', deep);
    expect([res.status, res.body.error.code]).toEqual([400, 'invalid_request']);
    expect(res.body.error.message).toContain('deeper than 256');
    const respond = await server.call('POST', '/api/runs/x/respond', `{"requestId":"a","response":${'{"a":'.repeat(300)}1${'}'.repeat(300)}}`);
    expect([respond.status, respond.body.error.code]).toEqual([400, 'invalid_request']);
    expect(logger.lines).toEqual([]);
  });

  it('reads Last-Event-ID as strict decimal: 0x10 is 400, not seq 16', async () => {
    server = await start({ workflows: [echo] });
    const run = await server.call('POST', '/api/workflows/echo/runs', { input: 'a' });
    await server.registry.flush();
    for (const id of ['0x10', '1e1', '-0', '+1', '1.5', '00', 'Infinity']) {
      const res = await fetch(`${server.url}/api/runs/${run.body.runId}/events`, { headers: { 'last-event-id': id } });
      expect([id, res.status]).toEqual([id, 400]);
      await res.body?.cancel();
    }
    const stream = await server.events(run.body.runId, { 'last-event-id': '3' });
    const ids = (await stream.rest()).filter((m) => m.id !== undefined).map((m) => Number(m.id));
    expect(ids[0]).toBe(4);
  });
});

describe('the run registry', () => {
  it('keeps serving when a run final checkpoint fails, and logs the failure', async () => {
    const store = new MemoryStore();
    const save = store.save.bind(store);
    store.save = (snapshot: Snapshot, ...rest: unknown[]) =>
      snapshot.status === 'completed' ? Promise.reject(new Error('disk full')) : (save as (...a: unknown[]) => Promise<void>)(snapshot, ...rest);
    const logger = new Recorder();
    server = await start({ workflows: [echo, approval], store, logger });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const res = await server.call('POST', '/api/workflows/echo/runs', { input: 'a' });
      const runId = res.body.runId as string;
      await (await server.events(runId)).rest();
      await server.registry.flush();
      await new Promise((r) => setImmediate(r));
      // The server still answers, and reports how the run really ended (the store only has an older checkpoint).
      const got = await server.call('GET', `/api/runs/${runId}`);
      expect([got.status, got.body.status, got.body.live]).toEqual([200, 'completed', true]);
      expect(unhandled).toEqual([]);
      expect(logger.lines.some((l) => l.fields['runId'] === runId && l.message.includes('checkpoint'))).toBe(true);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
