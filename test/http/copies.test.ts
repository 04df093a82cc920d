// Errors that cross two copies of sluice in one process still map to their documented HTTP status (issue 20):
// a `.ts` workflows module served by the CLI through tsx, and a CommonJS user of sluice/http.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const builtBin = join(root, 'dist', 'cli.js');
const built = existsSync(builtBin) && existsSync(join(root, 'dist', 'http', 'index.cjs'));
if (!built) console.warn('skipping the dist tests of test/http/copies.test.ts: run npm run build');

let child: ChildProcess | undefined;
let storeDir: string | undefined;
afterEach(async () => {
  if (child?.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((done) => child!.once('exit', done));
  }
  if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
});

async function serveWith(command: string, args: string[]): Promise<{ url: string; stderr: () => string }> {
  storeDir = await mkdtemp(join(tmpdir(), 'sluice-copies-'));
  child = spawn(command, [...args, 'serve', 'examples/08-inspector/workflows.ts', '--port', '0', '--store', storeDir], {
    cwd: root,
    // The ?raw imports of the inspector's page load under tsx through this hook (tsup inlines them in dist/).
    env: { ...process.env, NODE_OPTIONS: `--import ${join(root, 'test', 'support', 'rawImports.mjs')}`, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(line)?.[1];
    if (url !== undefined) return { url, stderr: () => stderr };
  }
  throw new Error(`the CLI exited (${String(child.exitCode)}) without printing its URL: ${stderr}`);
}

/** Start a run that waits for input, answer an id it never asked for, and return the error response. */
async function respondToUnknownId(fetcher: (path: string, init?: RequestInit) => Promise<Response>) {
  const json = { 'content-type': 'application/json' };
  const started = await fetcher('/api/workflows/publish/runs', { method: 'POST', headers: json, body: '{"input":"Two copies"}' });
  expect(started.status).toBe(201);
  const { runId } = (await started.json()) as { runId: string };
  for (let i = 0; i < 200; i++) {
    const { status } = (await (await fetcher(`/api/runs/${runId}`)).json()) as { status: string };
    if (status === 'waiting') break;
    await new Promise((r) => setImmediate(r)); // not a timing assertion: poll until the run parks
  }
  const res = await fetcher(`/api/runs/${runId}/respond`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ requestId: 'no-such-request', response: 'yes' }),
  });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
}

describe('errors from another copy of sluice', () => {
  it('serving a .ts module through tsx (src/cli.ts) answers respond to an unknown id with 400 unknown_request', async () => {
    const { url } = await serveWith(tsx, [join(root, 'src', 'cli.ts')]);
    const { status, body } = await respondToUnknownId((path, init) => fetch(url + path, init));
    expect(body.error.code).toBe('unknown_request');
    expect(status).toBe(400);
  });

  it.skipIf(!built)('serving a .ts module with the built bin (npx sluice) answers 400 unknown_request', async () => {
    const { url } = await serveWith(process.execPath, [builtBin]);
    const { status, body } = await respondToUnknownId((path, init) => fetch(url + path, init));
    expect(body.error.code).toBe('unknown_request');
    expect(status).toBe(400);
  });

  it.skipIf(!built)('a CommonJS user of sluice/http gets 400 unknown_request and 404 not_found', async () => {
    const require = createRequire(import.meta.url);
    const sluice = require(join(root, 'dist', 'index.cjs')) as typeof import('sluice');
    const http = require(join(root, 'dist', 'http', 'index.cjs')) as typeof import('sluice/http');
    const ask = sluice
      .workflow('publish', { timeout: null })
      .step('review', { accepts: [sluice.StartEvent] }, async (_ev, ctx) => sluice.StopEvent.of({ result: await ctx.requestInput('ok?') }));
    const { fetch: handle } = http.createSluiceApp({ workflows: [ask] });
    const fetcher = async (path: string, init?: RequestInit) => handle(new Request(`http://127.0.0.1${path}`, init));
    const { status, body } = await respondToUnknownId(fetcher);
    expect(body.error.code).toBe('unknown_request');
    expect(status).toBe(400);
    const missing = await fetcher('/api/runs/nope');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('5xx answers are logged with their cause', () => {
  it('logs a 500 internal_error and a 503 store_failed with the thrown error, and not a 404', async () => {
    const { createSluiceApp } = await import('sluice/http');
    const { MemoryStore, WorkflowError } = await import('sluice');
    const store = new MemoryStore();
    let failWith: unknown = new Error('disk on fire');
    store.list = async () => {
      throw failWith;
    };
    const logged: { fields: Record<string, unknown>; message: string }[] = [];
    const { fetch: handle } = createSluiceApp({ workflows: [], store, logger: { error: (fields, message) => logged.push({ fields, message }) } });
    const internal = await handle(new Request('http://127.0.0.1/api/runs'));
    expect(internal.status).toBe(500);
    expect(await internal.json()).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    failWith = new WorkflowError('store_failed', 'redis is down');
    expect((await handle(new Request('http://127.0.0.1/api/runs'))).status).toBe(503);
    expect((await handle(new Request('http://127.0.0.1/api/runs/unknown'))).status).toBe(404);
    expect(logged.map((l) => [l.message, l.fields.path, (l.fields.err as Error).message])).toEqual([
      ['sluice http: 500 internal_error', '/api/runs', 'disk on fire'],
      ['sluice http: 503 store_failed', '/api/runs', 'redis is down'],
    ]);
  });
});
