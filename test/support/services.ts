/**
 * Throwaway PostgreSQL and Redis servers for the store tests: found on this machine, installed with apt-get
 * when missing and running as root (as in CI), started on loopback on a free port in a temp directory, and
 * stopped — only what was started here — by `dispose()` or, failing that, when this process exits.
 *
 * Plain Node: used by the vitest globalSetup (main process) and by test files (workers).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, rmSync } from 'node:fs';
import { chown, mkdtemp, readFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type {} from 'vitest';

export type ServerKind = 'postgres' | 'redis';

/** What the globalSetup hands the test files: where a server is, or why there is none. */
export type ServerInfo = { url: string } | { skip: string };

declare module 'vitest' {
  export interface ProvidedContext {
    sluicePostgres: ServerInfo;
    sluiceRedis: ServerInfo;
  }
}

/** Environment variables naming servers started elsewhere (CI service containers); those are never stopped. */
export const URL_ENV: Record<ServerKind, string> = { postgres: 'SLUICE_PG_URL', redis: 'SLUICE_REDIS_URL' };

/** Set to `1` (CI) to fail instead of skipping when a server cannot be had. */
export const REQUIRE_ENV = 'SLUICE_REQUIRE_SERVICES';

/** Set to `0` to never start or install servers here (their tests are then skipped, or use the URLs above). */
export const START_ENV = 'SLUICE_START_SERVICES';

/** A server this process started. `stop`/`start` keep its data and port, for outage tests. */
export interface Service {
  readonly kind: ServerKind;
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stop the server; `'immediate'` is a crash-like stop (no clean shutdown). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Start it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stop it and remove its directory. */
  dispose(): Promise<void>;
}

export interface Binaries {
  /** Directory holding the server's executables. */
  bin: string;
}

const APT_PACKAGES: Record<ServerKind, string> = { postgres: 'postgresql', redis: 'redis-server' };
const APT_LOCK = join(tmpdir(), 'sluice-apt.lock');
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/**
 * Find the server's executables, installing them with apt-get when missing and allowed.
 * Resolves the reason when they cannot be had.
 */
export async function ensureBinaries(kind: ServerKind): Promise<Binaries | { reason: string }> {
  if (process.env[START_ENV] === '0') return { reason: `${START_ENV}=0: not starting a ${kind} server here` };
  const found = findBinaries(kind);
  if (found !== undefined) return found;
  const pkg = APT_PACKAGES[kind];
  const missing = `${kind} is not installed (package ${pkg})`;
  if (process.platform !== 'linux') return { reason: `${missing}, and installing it needs Linux` };
  if (process.getuid?.() !== 0) return { reason: `${missing}, and this is not root, so apt-get cannot install it` };
  if (onPath('apt-get') === undefined) return { reason: `${missing}, and there is no apt-get to install it` };
  // flock serialises installs from parallel test workers; the check inside skips a second install.
  const probe = kind === 'postgres' ? 'ls /usr/lib/postgresql/*/bin/initdb' : 'command -v redis-server';
  const install = `apt-get update -qq && apt-get install -y -qq --no-install-recommends ${pkg}`;
  const script = `${probe} >/dev/null 2>&1 || { ${install}; }`;
  const flock = onPath('flock');
  const result = await run(flock ?? 'sh', flock === undefined ? ['-c', script] : [APT_LOCK, 'sh', '-c', script], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeoutMs: INSTALL_TIMEOUT_MS,
  });
  if (result.code !== 0) {
    return { reason: `apt-get install ${pkg} failed (exit ${result.code}): ${tail(result.output)}` };
  }
  return findBinaries(kind) ?? { reason: `apt-get installed ${pkg}, but its executables were not found` };
}

function findBinaries(kind: ServerKind): Binaries | undefined {
  if (kind === 'redis') {
    const server = onPath('redis-server');
    return server === undefined ? undefined : { bin: dirnameOf(server) };
  }
  // Debian keeps initdb out of PATH, under /usr/lib/postgresql/<major>/bin; prefer the newest.
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (isExecutable(join(bin, 'initdb')) && isExecutable(join(bin, 'pg_ctl'))) return { bin };
  }
  const initdb = onPath('initdb');
  if (initdb !== undefined && isExecutable(join(dirnameOf(initdb), 'pg_ctl'))) return { bin: dirnameOf(initdb) };
  return undefined;
}

/** Start a throwaway PostgreSQL cluster (trust auth, user `sluice`, database `postgres`) on 127.0.0.1. */
export async function startPostgres({ bin }: Binaries): Promise<Service> {
  // initdb refuses to run as root: as root, the cluster belongs to the `postgres` user.
  const user = process.getuid?.() === 0 ? userIds('postgres') : undefined;
  if (process.getuid?.() === 0 && user === undefined) {
    throw new Error('running as root, but there is no `postgres` user to own the cluster');
  }
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pg-'));
  if (user !== undefined) await chown(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  const as = { ...(user ?? {}), cwd: dir };
  const init = await run(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'sluice', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
    as,
  );
  if (init.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (exit ${init.code}): ${tail(init.output)}`);
  }
  const port = await freePort();
  // fsync=off is safe while the machine stays up; synchronous_commit stays on, so a committed save survives
  // an immediate (crash-like) stop, as the outage tests need.
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  let running = false;
  const pgCtl = (args: string[]) => run(join(bin, 'pg_ctl'), ['-D', data, ...args], as);

  const service: Service = {
    kind: 'postgres',
    url: `postgres://sluice@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async start() {
      if (running) return;
      const result = await pgCtl(['-l', log, '-w', '-t', '60', '-o', settings, 'start']);
      if (result.code !== 0) {
        const serverLog = await readFile(log, 'utf8').catch(() => '');
        throw new Error(`pg_ctl start failed (exit ${result.code}): ${tail(result.output)}\n${tail(serverLog)}`);
      }
      running = true;
    },
    async stop(mode = 'fast') {
      if (!running) return;
      const result = await pgCtl(['-m', mode, '-w', '-t', '60', 'stop']);
      if (result.code !== 0) throw new Error(`pg_ctl stop failed (exit ${result.code}): ${tail(result.output)}`);
      running = false;
    },
    async dispose() {
      try {
        await service.stop('fast');
      } finally {
        started.delete(emergencyStop);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  const emergencyStop = () => {
    if (running) spawnSync(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop'], { ...as, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  started.add(emergencyStop);
  try {
    await service.start();
  } catch (error) {
    await service.dispose().catch(() => undefined);
    throw error;
  }
  return service;
}

/**
 * Start a throwaway redis-server on 127.0.0.1. With `persistent`, it keeps an append-only file fsynced on
 * every write, so data survives `stop()`/`start()` like a real deployment's would.
 */
export async function startRedis({ bin }: Binaries, { persistent = false } = {}): Promise<Service> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-redis-'));
  const port = await freePort();
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--logfile', join(dir, 'redis.log'),
    '--save', '',
    '--appendonly', persistent ? 'yes' : 'no',
    '--appendfsync', 'always',
    '--daemonize', 'no',
  ];
  let child: ChildProcess | undefined;

  const service: Service = {
    kind: 'redis',
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async start() {
      if (child !== undefined) return;
      const proc = spawn(join(bin, 'redis-server'), args, { detached: true, stdio: 'ignore' });
      proc.unref();
      child = proc;
      const exited = new Promise<never>((_, reject) =>
        proc.once('exit', (code) => reject(new Error(`redis-server exited at start (code ${code})`))),
      );
      exited.catch(() => undefined);
      try {
        await Promise.race([waitForRedis(port, 20_000), exited]);
      } catch (error) {
        const serverLog = await readFile(join(dir, 'redis.log'), 'utf8').catch(() => '');
        await service.stop('immediate');
        throw new Error(`${(error as Error).message}\n${tail(serverLog)}`);
      }
    },
    async stop(mode = 'fast') {
      const proc = child;
      child = undefined;
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(mode === 'fast' ? 'SIGTERM' : 'SIGKILL');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async dispose() {
      try {
        await service.stop('fast');
      } finally {
        started.delete(emergencyStop);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  const emergencyStop = () => {
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  started.add(emergencyStop);
  try {
    await service.start();
  } catch (error) {
    await service.dispose().catch(() => undefined);
    throw error;
  }
  return service;
}

/** Find (or install) the binaries and start a server; resolves the reason when that is impossible. */
export async function tryStart(
  kind: ServerKind,
  options: { persistent?: boolean } = {},
): Promise<Service | { reason: string }> {
  const binaries = await ensureBinaries(kind);
  if ('reason' in binaries) return binaries;
  try {
    return kind === 'postgres' ? await startPostgres(binaries) : await startRedis(binaries, options);
  } catch (error) {
    return { reason: `could not start ${kind}: ${(error as Error).message}` };
  }
}

/** Servers still running when this process exits (a crash, an interrupted run) are stopped here. */
const started = new Set<() => void>();
process.once('exit', () => {
  for (const stop of started) stop();
});

// ---- small helpers ------------------------------------------------------------------------------------

interface RunOptions {
  uid?: number;
  gid?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Run a command to completion, collecting stdout and stderr together. */
function run(command: string, args: string[], options: RunOptions = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const { timeoutMs = 120_000, ...spawnOptions } = options;
    const proc = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, output: error.message });
    });
    // 'close', not 'exit': pg_ctl's server keeps no pipe open (it logs to a file), so this does not hang.
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolve once the server answers PING on the port. */
async function waitForRedis(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pingRedis(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms`);
}

function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, command))) return join(dir, command);
  }
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (isExecutable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function dirnameOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
