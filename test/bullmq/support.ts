/** Worker processes, isolated queues and helpers for the BullMQ tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { firstValueFrom, toArray, type Observable } from 'rxjs';
import type { RunEvent } from '../../src/index.js';

const WORKER = fileURLToPath(new URL('./fixtures/workerProcess.ts', import.meta.url));

/** A queue name and key prefix of its own, so tests never see each other's jobs or runs. */
export function isolated(): { queue: string; prefix: string } {
  const id = randomUUID().slice(0, 8);
  return { queue: `test-${id}`, prefix: `test:${id}:` };
}

export interface WorkerProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code or signal. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** What it wrote on stderr. */
  stderr(): string;
}

/** Start `fixtures/workerProcess.ts` and resolve once it takes jobs (it prints `ready`). */
export function startWorker(
  name: string,
  settings: { url: string; queue: string; prefix: string; concurrency?: number; env?: Record<string, string> },
): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      SLUICE_REDIS_URL: settings.url,
      SLUICE_TEST_QUEUE: settings.queue,
      SLUICE_TEST_PREFIX: settings.prefix,
      SLUICE_TEST_NAME: name,
      SLUICE_TEST_CONCURRENCY: String(settings.concurrency ?? 10),
      ...settings.env,
    },
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
  const worker: WorkerProcess = { name, proc, exited, stderr: () => stderr };
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve(worker);
    });
    void exited.then((how) => reject(new Error(`worker ${name} exited (${String(how)}) before it was ready: ${stderr}`)));
  });
}

/** SIGKILL a worker process and wait until it is gone. */
export async function kill(worker: WorkerProcess): Promise<void> {
  worker.proc.kill('SIGKILL');
  await worker.exited;
}

/** Stop a worker gracefully (SIGTERM: it hands its runs back), falling back to SIGKILL after 20 s. */
export async function stop(worker: WorkerProcess): Promise<void> {
  if (worker.proc.exitCode !== null || worker.proc.signalCode !== null) return;
  worker.proc.kill('SIGTERM');
  const timer = setTimeout(() => worker.proc.kill('SIGKILL'), 20_000);
  await worker.exited;
  clearTimeout(timer);
}

/** Every RunEvent of a finished run, as any process sees it. */
export const allEvents = (events$: Observable<RunEvent>): Promise<RunEvent[]> => firstValueFrom(events$.pipe(toArray()));

/** Delete every key under `prefix` (and BullMQ's keys of `queue`). */
export async function dropKeys(url: string, prefix: string, queue: string): Promise<void> {
  const client = new Redis(url);
  try {
    for (const pattern of [`${prefix}*`, `bull:${queue}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length > 0) await client.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}
