import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/stores/FileStore.js';
import { makeSnapshot } from '../stores/fixtures.js';

class Warnings {
  readonly lines: { fields: Record<string, unknown>; message: string }[] = [];
  warn(fields: Record<string, unknown>, message: string) {
    this.lines.push({ fields, message });
  }
}

/** The pid of a process that has exited (so no process with it is alive, barring reuse in this instant). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('FileStore with foreign files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-reliability-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('skips (and logs) JSON files that are not its checkpoints in list and prune, never failing them', async () => {
    const log = new Warnings();
    const store = new FileStore(dir, { now: () => 10, logger: log });
    await store.save(makeSnapshot({ runId: 'a', status: 'completed' }));
    await store.save(makeSnapshot({ runId: 'b' }));
    await writeFile(join(dir, 'package.json'), '{"name":"not a run"}');
    await writeFile(join(dir, 'notes.json'), 'not json at all');
    await writeFile(join(dir, 'copy.json'), JSON.stringify({ updatedAt: 1, snapshot: makeSnapshot({ runId: 'a' }) }));
    expect((await store.list()).map((r) => r.runId)).toEqual(['a', 'b']);
    expect(log.lines.map((l) => String(l.fields['file'] ?? l.message)).sort()).toEqual([
      expect.stringContaining('copy'),
      expect.stringContaining('notes'),
      expect.stringContaining('package'),
    ]);
    expect(await store.prune({ status: 'completed' })).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['b.json', 'copy.json', 'notes.json', 'package.json']);
    expect(await store.prune()).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['copy.json', 'notes.json', 'package.json']);
  });

  it('removes temp files left by killed processes when it starts, and keeps those of live ones', async () => {
    const dead = deadPid();
    const leftover = `.r1.json.${dead}.a1b2c3d4e5f6.tmp`;
    const ours = `.r2.json.${process.pid}.a1b2c3d4e5f6.tmp`;
    const parent = `.r3.json.${process.ppid}.a1b2c3d4e5f6.tmp`;
    for (const name of [leftover, ours, parent, 'keep.tmp']) await writeFile(join(dir, name), '{');
    const log = new Warnings();
    const store = new FileStore(dir, { logger: log });
    expect(await store.list()).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual([ours, parent, 'keep.tmp'].sort());
    expect(log.lines).toEqual([{ fields: { dir, files: 1 }, message: 'removed 1 temp file(s) left by killed processes' }]);
  });
});

describe('FileStore lookups of ids no file can be named after', () => {
  // Found by the HTTP sweep: GET /api/runs/<5 000 characters> was a 503 store_failed (ENAMETOOLONG).
  it('answers load, events and delete of an over-long id as for an unknown run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-reliability-'));
    try {
      const store = new FileStore(dir);
      const id = 'x'.repeat(5_000);
      await expect(store.load(id)).resolves.toBeUndefined();
      await expect(store.events(id)).resolves.toEqual([]);
      await expect(store.delete(id)).resolves.toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
