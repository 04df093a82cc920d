import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { sharedServer } from '../test/support/servers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const redis = await sharedServer('redis');
const run = async (example: string, cwd = root) => {
  const script = join(root, 'examples', example, 'main.ts');
  // tsx resolves `import … from 'sluice'` through tsconfig paths, as for a user running the file.
  const { stdout } = await promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), [script], {
    cwd,
    // The ?raw imports of the inspector's page load under tsx through this hook (tsup inlines them in dist/).
    env: { ...process.env, NODE_OPTIONS: `--import ${join(root, 'test', 'support', 'rawImports.mjs')}`, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
  });
  return stdout.trim().split('\n');
};

describe('examples', () => {
  it('01-hello prints every lifecycle event in order and the result', async () => {
    const lines = await run('01-hello');
    expect(lines.map((l) => l.trim().split(' ').slice(0, 2).join(' '))).toEqual([
      '1 run_started',
      '2 event_routed',
      '3 step_started',
      '4 step_completed',
      '5 event_routed',
      '6 step_started',
      '7 step_completed',
      '8 event_routed',
      '9 run_completed',
      'result: HELLO',
    ]);
  });

  it('02-fan-out-fan-in gathers every page with at most two fetches at once', async () => {
    expect(await run('02-fan-out-fan-in')).toEqual(['pages: 5, words: 15, most fetches at once: 2']);
  });

  it('03-human-in-the-loop waits for the answer, then finishes', async () => {
    expect(await run('03-human-in-the-loop')).toEqual([
      'asked: Deploy v2.1.0 to production? (request id ends approve:1)',
      'status while nobody answers: waiting',
      'answered',
      'result: deployed v2.1.0',
    ]);
  });

  it('04-file-store-resume pauses with the in-flight output pending and resumes from files', async () => {
    const lines = await run('04-file-store-resume');
    expect(lines[0]).toMatch(/^paused: status paused, pending Tick\(\{"n":\d\}\)$/);
    expect(lines.slice(1)).toEqual(['resumed: liftoff after 6 ticks', 'stored status: completed']);
  });

  it('05-ui-stream renders progress from events$ with at most two conversions at once', async () => {
    const lines = await run('05-ui-stream');
    expect(lines.at(-1)).toBe('result: 6 files converted');
    expect(lines.at(-2)).toBe('[######] 6/6 done, 0 running · converting f.csv');
    const progress = lines.slice(0, -1).map((l) => /(\d)\/6 done, (\d) running/.exec(l)?.slice(1).map(Number) ?? []);
    expect(Math.max(...progress.map(([, running]) => running ?? 0))).toBe(2);
    const done = progress.map(([d]) => d ?? 0);
    expect(done).toEqual([...done].sort((a, b) => a - b));
  });

  it('the npm start demo asks, persists to ./.sluice, resumes from the store and publishes', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'sluice-demo-'));
    try {
      const lines = await run('demo', cwd);
      expect(lines).toContain('(no terminal attached: answering "yes" automatically)');
      expect(lines.some((l) => /status: waiting; checkpoint saved to \.sluice\/.+\.json \(status waiting/.test(l))).toBe(true);
      expect(lines).toContain('result: published "Notes on sluice"');
      expect(lines.at(-1)).toMatch(/^stored status: completed/);
      expect((await readdir(join(cwd, '.sluice'))).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it('06-observability logs the run to pino and prints a workflow.run span over two workflow.step spans', async () => {
    const lines = await run('06-observability');
    const logged = lines.filter((l) => l.startsWith('{"level"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.map((l) => [l['level'], l['msg'], l['runId'], l['step']])).toEqual([
      [30, 'run started', 'ingest-1', undefined],
      [40, 'step attempt failed, retrying', 'ingest-1', 'fetch'],
      [30, 'run completed', 'ingest-1', undefined],
    ]);
    const names = lines.filter((l) => /^ {2}name: /.test(l)).map((l) => l.trim());
    expect(names).toEqual(["name: 'workflow.step',", "name: 'workflow.step',", "name: 'workflow.run',"]);
    expect(lines).toContain("      name: 'step_retried',");
    expect(lines.at(-1)).toBe('result: 3');
  });

  it.skipIf('skip' in redis)('07-distributed runs orders on two worker processes, answers one, moves one off a stopped worker', async () => {
    process.env['SLUICE_REDIS_URL'] = 'url' in redis ? redis.url : '';
    expect(await run('07-distributed')).toEqual([
      'workers a and b ready',
      ...[1, 2, 3, 4, 5, 6].map((n) => `order-${n}: packed, ${n * 15}`),
      'order-7 asks: Ship order-7 for 600?',
      'order-7: packed, 600',
      'order-8: its worker was stopped while packing',
      'order-8: packed, 150',
      'order-8: resumed from its checkpoint on the other worker: true',
    ]);
  }, 60_000);

  it('07-distributed stops at once with what to do when Redis cannot be reached', async () => {
    // A port nothing listens on: take a free one and close it again.
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    await new Promise((done) => server.close(done));
    const failure = await promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'examples', '07-distributed', 'main.ts')], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'), SLUICE_REDIS_URL: `redis://127.0.0.1:${port}` },
      timeout: 20_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain(`07-distributed needs Redis, and redis://127.0.0.1:${port} cannot be reached`);
    expect(failure.stderr).toContain('point SLUICE_REDIS_URL at yours');
  });
  it('10-operations recovers a crashed run, starts it again idempotently, and (with Redis) schedules and controls runs', async () => {
    const env = process.env['SLUICE_REDIS_URL'];
    process.env['SLUICE_REDIS_URL'] = 'url' in redis ? redis.url : 'redis://127.0.0.1:1';
    try {
      const lines = await run('10-operations');
      expect(lines.slice(0, 4)).toEqual([
        'crashed with invoice-42 running in its charge step',
        'recovered: invoice-42',
        'result: charged 42',
        'started again: completed, charged 42',
      ]);
      expect(lines.slice(4)).toEqual(
        'url' in redis
          ? [
              'schedules: every-100ms (report every 100 ms)',
              'fired 3 runs: report written, report written, report written',
              'paused remotely',
              'result: nudged: from the dispatcher',
            ]
          : ['skipping the sluice/bullmq part: no Redis at redis://127.0.0.1:1 (set SLUICE_REDIS_URL)'],
      );
    } finally {
      if (env === undefined) delete process.env['SLUICE_REDIS_URL'];
      else process.env['SLUICE_REDIS_URL'] = env;
    }
  }, 60_000);

  it('08-inspector serves the API, follows the run over SSE, answers its question over HTTP', async () => {
    const lines = await run('08-inspector');
    expect(lines[0]).toMatch(/^inspector: http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(lines.slice(1)).toEqual([
      'asked: Publish "Notes on sluice"?',
      'status while nobody answers: waiting',
      'result: published "Notes on sluice"',
      'final status: completed, state: "Notes on sluice"',
    ]);
  });

  it('09-flow-control limits charges per customer and per 50 ms, debounces edits, and waits for a payment', async () => {
    expect(await run('09-flow-control')).toEqual([
      'indexed terms at rev 3',
      'status while the payment is awaited: waiting',
      'charges started: 4, at most 2 within 50 ms',
      'most charges at once for one customer: 1',
      'edits superseded by a newer one: 2',
      'result: shipped after a payment of 42',
    ]);
  });
});
