import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore, type RunEvent } from 'sluice';
import { crashWorkflow, EXPECTED, ITEMS } from './fixtures/crashWorkflow.js';

const child = fileURLToPath(new URL('./fixtures/crashChild.ts', import.meta.url));
const dirs: string[] = [];
afterEach(async () => Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true }))));

/** Run the child until it has printed `killAfter` progress lines after its first checkpoint, then SIGKILL it. */
function runAndKill(dir: string, killAfter: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffered = '';
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        const sinceSaved = lines.length - lines.findIndex((l) => l.startsWith('saved'));
        if (lines.some((l) => l.startsWith('saved')) && sinceSaved === killAfter + 1) proc.kill('SIGKILL');
      }
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) =>
      signal === 'SIGKILL' || code === 0 ? resolve(lines) : reject(new Error(`child exited ${code}: ${stderr}`)),
    );
  });
}

describe('a run killed with SIGKILL mid-run', () => {
  it.each([0, 1, 2, 4, 6])('resumes from the FileStore when killed %i progress lines after its first checkpoint, with the uninterrupted result', async (killAfter) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-crash-'));
    dirs.push(dir);
    const lines = await runAndKill(dir, killAfter);
    expect(lines.some((l) => l.startsWith('result'))).toBe(false);

    const store = new FileStore(dir);
    const squaredBefore = lines.filter((l) => l.startsWith('square')).map((l) => l.split(' ')[2]);
    const squaredAfter: string[] = [];
    const run = await crashWorkflow(store, (l) => squaredAfter.push(l.split(' ')[2] as string)).resumeFrom(store, 'crash-run');
    const events: RunEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    expect(await run.result).toBe(EXPECTED);
    await run.flush();
    expect((await store.load('crash-run'))?.status).toBe('completed');

    // Every item was squared; an invocation runs again only if it was in flight at the last checkpoint.
    const all = new Set([...squaredBefore, ...squaredAfter]);
    expect(all.size).toBe(ITEMS);
    const resumedAt = events.findIndex((e) => e.kind === 'run_resumed');
    const snapshotHistory = events.slice(0, resumedAt);
    const completedBefore = new Set(
      snapshotHistory.flatMap((e) => (e.kind === 'step_completed' && e.step === 'square' ? [e.invocationId] : [])),
    );
    for (const id of squaredAfter) expect(completedBefore.has(id)).toBe(false);
    // seq continues without gaps or repeats across the crash.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });
});
