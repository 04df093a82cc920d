import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/stores/FileStore.js';
import { makeSnapshot } from './fixtures.js';

const writer = fileURLToPath(new URL('./processes/fileWriter.ts', import.meta.url));
const dirs: string[] = [];
afterEach(async () => Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true }))));

interface Writer {
  proc: ChildProcessWithoutNullStreams;
  /** Resolves the first line starting with `prefix`. */
  line(prefix: string): Promise<string>;
  /** Resolves every line once the process has exited with code 0. */
  done: Promise<string[]>;
}

function start(dir: string, name: string, rounds: number): Writer {
  const proc = spawn(process.execPath, ['--import', 'tsx', writer, dir, name, String(rounds)], { stdio: 'pipe' });
  const lines: string[] = [];
  const waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  let buffered = '';
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters.splice(0)) {
        if (line.startsWith(w.prefix)) w.resolve(line);
        else waiters.push(w);
      }
    }
  });
  const done = new Promise<string[]>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve(lines) : reject(new Error(`${name} exited ${code}: ${stderr}`))));
  });
  const line = (prefix: string) =>
    new Promise<string>((resolve) => {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found !== undefined) resolve(found);
      else waiters.push({ prefix, resolve });
    });
  return { proc, line, done };
}

describe('FileStore shared by two processes', () => {
  it('lets only one of two processes that loaded the same revision advance the run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-two-processes-'));
    dirs.push(dir);
    await new FileStore(dir).save(makeSnapshot({ runId: 'shared-run', seq: 3, state: { writer: 'first' } }));

    const a = start(dir, 'a', 5);
    const b = start(dir, 'b', 5);
    expect(await Promise.all([a.line('loaded'), b.line('loaded')])).toEqual(['loaded 3', 'loaded 3']);
    // Both go at once: each tries to save seq 4, 5, … 8 on top of the revision it loaded.
    a.proc.stdin.write('go\n');
    b.proc.stdin.write('go\n');
    const [linesA, linesB] = await Promise.all([a.done, b.done]);

    const results = { a: linesA.slice(1), b: linesB.slice(1) };
    const winners = (['a', 'b'] as const).filter((name) => results[name][0] === 'ok 4');
    expect(winners).toHaveLength(1);
    const winner = winners[0] as 'a' | 'b';
    const loser = winner === 'a' ? 'b' : 'a';
    // The winner advances the run every time; the loser is refused every time, never forking it.
    expect(results[winner]).toEqual(['ok 4', 'ok 5', 'ok 6', 'ok 7', 'ok 8']);
    expect(results[loser]).toEqual([
      'store_conflict 4',
      'store_conflict 5',
      'store_conflict 6',
      'store_conflict 7',
      'store_conflict 8',
    ]);
    const stored = await new FileStore(dir).load('shared-run');
    expect(stored).toMatchObject({ seq: 8, state: { writer: winner, round: 5 } });
    // Nothing is left behind: no lock, no temp file.
    expect(await readdir(dir)).toEqual(['shared-run.json']);
  }, 60_000);
});
