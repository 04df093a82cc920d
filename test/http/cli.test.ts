import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const builtBin = join(root, 'dist', 'cli.js');
const workflows = 'examples/08-inspector/workflows.ts';

let child: ChildProcess | undefined;
let storeDir: string | undefined;
afterEach(async () => {
  if (child?.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((done) => child!.once('exit', done));
  }
  if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
});

/** Spawn the CLI and resolve with the URL it prints once it listens. */
async function serveWith(command: string, args: string[]): Promise<string> {
  storeDir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  child = spawn(command, [...args, 'serve', workflows, '--port', '0', '--store', storeDir, '--token', 'cli-token'], {
    cwd: root,
    // The ?raw imports of the inspector's page load under tsx through this hook (tsup inlines them in dist/).
    env: { ...process.env, NODE_OPTIONS: `--import ${join(root, 'test', 'support', 'rawImports.mjs')}`, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(line)?.[1];
    if (url !== undefined) return url;
  }
  throw new Error(`the CLI exited (${String(child.exitCode)}) without printing its URL`);
}

async function exercise(url: string): Promise<void> {
  const auth = { authorization: 'Bearer cli-token' };
  expect((await fetch(`${url}/api/workflows`)).status).toBe(401);
  const listed = (await (await fetch(`${url}/api/workflows`, { headers: auth })).json()) as { workflows: { name: string }[] };
  expect(listed.workflows.map((w) => w.name)).toEqual(['publish']);
  const started = await fetch(`${url}/api/workflows/publish/runs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"input":"From the CLI"}' });
  expect(started.status).toBe(201);
  const { runId } = (await started.json()) as { runId: string };
  // The run checkpoints into the --store directory as soon as it parks on its question.
  const res = await fetch(`${url}/api/runs/${runId}/events`, { headers: auth });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!text.includes('"kind":"checkpoint_saved"')) text += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  expect((await readdir(storeDir!)).filter((f) => f.endsWith('.json'))).toEqual([`${runId}.json`]);
}

describe('sluice serve', () => {
  it('serves the workflows a module exports on the file store, behind --token, and stops on SIGTERM', async () => {
    const url = await serveWith(tsx, [join(root, 'src', 'cli.ts')]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await exercise(url);
    child!.kill('SIGTERM');
    const code = await new Promise((done) => child!.once('exit', done));
    expect(code).toBe(0);
  });

  it('exits 2 with the usage for a command it does not know', async () => {
    child = spawn(tsx, [join(root, 'src', 'cli.ts'), 'serv', workflows], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((done) => child!.once('exit', done));
    expect(code).toBe(2);
    expect(stderr).toContain('sluice: unexpected arguments: serv examples/08-inspector/workflows.ts');
    expect(stderr).toContain('usage: sluice serve <workflows.js>');
  });

  const built = existsSync(builtBin);
  if (!built) console.warn(`skipping the built-bin test: ${builtBin} is missing (run npm run build)`);
  it.skipIf(!built)('runs as the built bin (dist/cli.js, what npx sluice starts)', async () => {
    const url = await serveWith(process.execPath, [builtBin]);
    await exercise(url);
  });
});
