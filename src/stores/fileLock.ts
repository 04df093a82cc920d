import { hostname } from 'node:os';
import { readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowError } from '../errors/WorkflowError.js';

/** A lock older than this is taken over even if its holder cannot be checked (another host). */
const STALE_MS = 30_000;
/** An empty lock (its holder died between creating and writing it) is taken over after this long. */
const EMPTY_STALE_MS = 1_000;
/** Give up waiting for a lock after this long. */
const WAIT_MS = 10_000;
const POLL_MS = 2;

const HOST = hostname();

/**
 * A lock file created with O_EXCL (`wx`), holding `<pid>@<host>`: how processes sharing a FileStore
 * directory take turns on one run (read the stored revision, append the journal, rename the snapshot).
 * A lock left by a process that died (same host, pid gone) or older than 30 s is taken over. Resolves a
 * release function.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  const started = Date.now();
  for (;;) {
    try {
      await writeFile(path, `${process.pid}@${HOST}`, { flag: 'wx' });
      return () => unlink(path).catch(() => undefined);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    }
    if (await isStale(path)) {
      // Two processes may both find it stale: only one unlink succeeds, and both then race on `wx` again.
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() - started > WAIT_MS) {
      throw new WorkflowError('store_failed', `FileStore: ${path} stayed locked for ${WAIT_MS} ms`, { details: { lock: path } });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function isStale(path: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    if (Date.now() - info.mtimeMs > STALE_MS) return true;
    // Created but never filled in: its holder died between the two (a live one fills it at once).
    if (text === '') return Date.now() - info.mtimeMs > EMPTY_STALE_MS;
    const [pid, host] = text.split('@');
    if (host !== HOST || pid === undefined || pid === '') return false;
    return !alive(Number(pid));
  } catch {
    return false; // gone already: the next `wx` attempt will tell
  }
}

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

/** Serialises async work per key inside this process (saves of one run through one store instance). */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const tail = this.#tails.get(key) ?? Promise.resolve();
    const done = tail.then(task, task);
    const settled = done.catch(() => undefined);
    this.#tails.set(key, settled);
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return done;
  }
}

/**
 * Temp files are `.<run file>.<pid>.<random>.tmp`: remove those of processes no longer alive (ours counts as
 * alive: another store here may be mid-save). Resolves how many were removed; a missing directory has none.
 */
export async function sweepTemps(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const stale = names.filter((name) => {
    const m = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  });
  await Promise.all(stale.map((name) => unlink(join(dir, name)).catch(() => undefined)));
  return stale.length;
}
