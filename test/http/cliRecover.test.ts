import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from 'sluice';
import { EventStream } from './support.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const module = 'test/http/recoverable.ts';

const children: ChildProcess[] = [];
let storeDir: string | undefined;
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((done) => child.once('exit', done));
    }
  }
  if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
});

/** Lines a child prints, read one at a time (a readline `for await` would close the stream when left). */
class Lines {
  readonly #queued: string[] = [];
  readonly #waiting: ((line: string | undefined) => void)[] = [];
  #closed = false;

  constructor(input: NodeJS.ReadableStream) {
    const lines = createInterface({ input });
    lines.on('line', (line) => {
      const waiter = this.#waiting.shift();
      if (waiter !== undefined) waiter(line);
      else this.#queued.push(line);
    });
    lines.on('close', () => {
      this.#closed = true;
      for (const waiter of this.#waiting.splice(0)) waiter(undefined);
    });
  }

  async next(): Promise<string> {
    const line = this.#queued.shift() ?? (this.#closed ? undefined : await new Promise<string | undefined>((r) => this.#waiting.push(r)));
    if (line === undefined) throw new Error('sluice serve printed nothing more');
    return line;
  }
}

/** `sluice serve` on the store directory; resolves its URL and its further stdout lines once it listens. */
async function serve(env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess; lines: Lines }> {
  // node with tsx's loader, not the tsx bin: the bin runs the CLI in a child of its own, which a SIGKILL would orphan.
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', join(root, 'test', 'support', 'rawImports.mjs'), join(root, 'src', 'cli.ts'), 'serve', module, '--port', '0', '--store', storeDir!], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = new Lines(child.stdout!);
  for (;;) {
    const url = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(await lines.next())?.[1];
    if (url !== undefined) return { url, child, lines };
  }
}

describe('sluice serve after a restart', () => {
  it('recovers a run the previous server left mid-way, says so, and runs it to the end', async () => {
    storeDir = await mkdtemp(join(tmpdir(), 'sluice-recover-'));
    const first = await serve({ SLUICE_TEST_HANG: '1' });
    expect(await first.lines.next()).toBe('sluice: recovered 0 runs');
    const started = await fetch(`${first.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workflow: 'recoverable', input: 4, runId: 'r-1' }) });
    expect(started.status).toBe(201);
    // Wait until the store holds the run inside `slow` (looking at it after each checkpoint), then kill the server.
    const stream = await EventStream.open(`${first.url}/api/runs/r-1/events`);
    const store = new FileStore(storeDir);
    const inSlow = async () => (await store.load('r-1'))?.inFlight.some((f) => f.step === 'slow') === true;
    await stream.until((e) => e.kind === 'step_started' && e.step === 'slow');
    while (!(await inSlow())) await stream.until((e) => e.kind === 'checkpoint_saved');
    stream.close();
    first.child.kill('SIGKILL');
    await new Promise((done) => first.child.once('exit', done));
    const left = await store.load('r-1');
    expect(left?.status).toBe('running');
    expect(left?.inFlight.map((f) => f.step)).toEqual(['slow']);

    const second = await serve();
    expect(await second.lines.next()).toBe('sluice: recovered 1 run: r-1 (recoverable)');
    const events = await (await EventStream.open(`${second.url}/api/runs/r-1/events`)).rest();
    const last = JSON.parse(events.filter((m) => m.event === 'message').at(-1)!.data);
    expect(last).toMatchObject({ kind: 'run_completed', result: 'done 40' });
    const shown = (await (await fetch(`${second.url}/api/runs/r-1`)).json()) as { status: string };
    expect(shown.status).toBe('completed');
  }, 60_000);
});
