import { readSnapshot } from '../../src/snapshot/schema.js';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, utimes, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/stores/FileStore.js';
import { conflictContract } from './conflictContract.js';
import { storeContract } from './contract.js';
import { journal, makeSnapshot, manualClock } from './fixtures.js';
import type { SnapshotV1 } from '../../src/snapshot/schema.js';

const v1File = JSON.parse(readFileSync(new URL('./v1/file-store.json', import.meta.url), 'utf8')) as { updatedAt: number; snapshot: SnapshotV1 };

storeContract('FileStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-filestore-'));
  const clock = manualClock();
  // A subdirectory that does not exist yet, so every contract test also covers "created on first use".
  return {
    store: new FileStore(join(dir, 'runs'), { now: clock.now }),
    clock,
    cleanup: () => rm(dir, { recursive: true, force: true }),
    // What a process killed between its journal append and its rename leaves: the journal grown, the snapshot not.
    tornSave: (runId, entries) =>
      appendFile(join(dir, 'runs', `${encodeURIComponent(runId)}.journal.ndjson`), entries.map((e) => `${JSON.stringify(e)}\n`).join('')),
  };
});

conflictContract('FileStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-filestore-'));
  return { open: () => new FileStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('FileStore', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-filestore-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one <encodeURIComponent(runId)>.json file per run holding its header and snapshot', async () => {
    const store = new FileStore(dir, { now: () => 1_234, writerId: 'w1' });
    const snapshot = makeSnapshot({ runId: 'orders/7' });
    await store.save(snapshot);
    expect(await readdir(dir)).toEqual(['orders%2F7.json']);
    const record: unknown = JSON.parse(await readFile(join(dir, 'orders%2F7.json'), 'utf8'));
    expect(record).toStrictEqual({
      updatedAt: 1_234,
      rev: 1,
      writer: 'w1',
      seq: 3,
      journalBytes: 0,
      journalSeq: 0,
      snapshot: JSON.parse(JSON.stringify(snapshot)),
    });
  });

  it('appends the journal as NDJSON beside the run file and records how many bytes the snapshot covers', async () => {
    const store = new FileStore(dir, { now: () => 1, writerId: 'w1' });
    await store.save(makeSnapshot({ runId: 'r', seq: 2 }), journal('r', 1, 2));
    await store.save(makeSnapshot({ runId: 'r', seq: 3 }), journal('r', 3, 3));
    expect((await readdir(dir)).sort()).toEqual(['r.journal.ndjson', 'r.json']);
    const text = await readFile(join(dir, 'r.journal.ndjson'), 'utf8');
    expect(text.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual([1, 2, 3]);
    const record = JSON.parse(await readFile(join(dir, 'r.json'), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ rev: 2, seq: 3, journalBytes: Buffer.byteLength(text), journalSeq: 3 });
  });

  it('loads a version-1 file written before journals and revisions, its history read as the journal', async () => {
    await writeFile(join(dir, 'order-42.json'), await readFile(new URL('./v1/file-store.json', import.meta.url)));
    const store = new FileStore(dir);
    const stored = v1File.snapshot;
    expect(await store.load('order-42')).toStrictEqual(readSnapshot(stored).snapshot);
    expect(await store.list()).toEqual([{ runId: 'order-42', workflow: 'orders', status: 'paused', updatedAt: v1File.updatedAt }]);
    expect(await store.events('order-42', { afterSeq: 17 })).toEqual(stored.history.slice(17));
    // It takes the run over like any stored revision, and the journal continues after the history.
    await store.save({ ...stored, seq: 20, status: 'running' }, journal('order-42', 20, 20));
    expect((await store.events('order-42')).map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('creates missing parent directories on the first save', async () => {
    const store = new FileStore(join(dir, 'a', 'b', 'c'));
    expect(await store.list()).toEqual([]);
    expect(await store.load('r')).toBeUndefined();
    await store.save(makeSnapshot({ runId: 'r' }));
    expect(await readdir(join(dir, 'a', 'b', 'c'))).toEqual(['r.json']);
  });

  it('answers from a directory that was never created: load undefined, list [], prune 0, delete no-op', async () => {
    const store = new FileStore(join(dir, 'missing'));
    expect(await store.load('r')).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await store.prune()).toBe(0);
    await expect(store.delete('r')).resolves.toBeUndefined();
  });

  it('leaves no temp file behind after many saves, concurrent and sequential', async () => {
    const store = new FileStore(dir);
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.save(makeSnapshot({ runId: `r${i % 3}`, seq: i }))));
    for (let i = 0; i < 5; i++) await store.save(makeSnapshot({ runId: 'r0', seq: 100 + i }));
    expect((await readdir(dir)).sort()).toEqual(['r0.json', 'r1.json', 'r2.json']);
    expect((await store.load('r0'))?.seq).toBe(104);
  });

  it('never lets a reader see a half-written file while large saves of the same run race', async () => {
    const store = new FileStore(dir);
    const big = (i: number) => makeSnapshot({ runId: 'big', seq: i, state: { blob: 'x'.repeat(1_500_000) } });
    await store.save(big(0));
    // Four writers saving one after another, four readers loading until the writers are done.
    let writing = true;
    const writers = Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        // Saves of one run through one store take turns, so four each keep the test short.
        for (let i = 1; i <= 4; i++) await store.save(big(w * 10 + i));
      }),
    ).finally(() => (writing = false));
    const seen: number[] = [];
    const readers = [0, 1, 2, 3].map(async () => {
      while (writing) seen.push((await store.load('big'))!.seq);
    });
    await Promise.all([writers, ...readers]);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((seq) => Number.isInteger(seq) && seq >= 0 && seq <= 40)).toBe(true);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 60_000); // 16 saves of 1.5 MB, each behind the run's lock file, while readers load in a loop

  it('ignores temp files of saves still in progress when listing', async () => {
    const store = new FileStore(dir, { now: () => 5 });
    await store.save(makeSnapshot({ runId: 'r' }));
    await writeFile(join(dir, `.r.json.${process.pid}.abc123.tmp`), '{"updatedAt": 1, "snap');
    expect(await store.list()).toEqual([{ runId: 'r', workflow: 'orders', status: 'running', updatedAt: 5 }]);
    expect(await store.prune()).toBe(1);
    expect(await readdir(dir)).toEqual([`.r.json.${process.pid}.abc123.tmp`]);
  });

  it('rejects loading a file that is not JSON with invalid_snapshot', async () => {
    await writeFile(join(dir, 'broken.json'), '{"updatedAt": 1, "snapshot": {"vers');
    const store = new FileStore(dir);
    await expect(store.load('broken')).rejects.toMatchObject({
      name: 'WorkflowError',
      code: 'invalid_snapshot',
      details: { file: join(dir, 'broken.json') },
    });
  });

  it('rejects loading JSON that is not a snapshot with invalid_snapshot', async () => {
    const store = new FileStore(dir);
    await writeFile(join(dir, 'a.json'), JSON.stringify({ hello: 'world' }));
    await writeFile(join(dir, 'b.json'), JSON.stringify({ updatedAt: 1, snapshot: { version: 1, runId: 'b' } }));
    await writeFile(join(dir, 'c.json'), JSON.stringify({ updatedAt: 1, snapshot: { runId: 'c' } }));
    for (const runId of ['a', 'b', 'c']) {
      await expect(store.load(runId)).rejects.toMatchObject({ name: 'WorkflowError', code: 'invalid_snapshot' });
    }
  });

  it('rejects loading a snapshot of an unknown version with snapshot_version', async () => {
    const snapshot = { ...makeSnapshot({ runId: 'future' }), version: 3 };
    await writeFile(join(dir, 'future.json'), JSON.stringify({ updatedAt: 1, snapshot }));
    await expect(new FileStore(dir).load('future')).rejects.toMatchObject({
      name: 'WorkflowError',
      code: 'snapshot_version',
      details: { version: 3, supported: [1, 2], file: join(dir, 'future.json') },
    });
  });

  it('rejects loading a file that holds another run with invalid_snapshot', async () => {
    const store = new FileStore(dir);
    await store.save(makeSnapshot({ runId: 'original' }));
    await writeFile(join(dir, 'copy.json'), await readFile(join(dir, 'original.json')));
    await expect(store.load('copy')).rejects.toMatchObject({ code: 'invalid_snapshot' });
  });

  it('lists past a corrupted run file, skipping it (see test/reliability/stores.test.ts)', async () => {
    const store = new FileStore(dir, { logger: { warn: () => undefined } });
    await store.save(makeSnapshot({ runId: 'good' }));
    await writeFile(join(dir, 'bad.json'), 'not json');
    expect((await store.list()).map((r) => r.runId)).toEqual(['good']);
  });

  it('rejects with store_failed when the directory path is a regular file', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const store = new FileStore(file);
    const storeFailed = { name: 'WorkflowError', code: 'store_failed' };
    await expect(store.save(makeSnapshot({ runId: 'r' }))).rejects.toMatchObject(storeFailed);
    await expect(store.load('r')).rejects.toMatchObject(storeFailed);
    await expect(store.list()).rejects.toMatchObject(storeFailed);
    await expect(store.delete('r')).rejects.toMatchObject(storeFailed);
    await expect(store.prune()).rejects.toMatchObject(storeFailed);
    expect(await readFile(file, 'utf8')).toBe('x');
  });

  it('rejects with store_failed, keeping the fs error as cause, when a run file cannot be replaced', async () => {
    const store = new FileStore(dir);
    // A directory where the run's file should be makes the rename fail after the temp file was written.
    await mkdir(join(dir, 'r.json'));
    const error: unknown = await store.save(makeSnapshot({ runId: 'r' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'WorkflowError', code: 'store_failed' });
    expect((error as Error).cause).toMatchObject({ code: expect.stringMatching(/^E[A-Z]+$/) });
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('takes over the lock of a process that died mid-save (same host, pid gone) and leaves none behind', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(dir, 'r.lock'), `${dead.stdout}@${hostname()}`);
    const store = new FileStore(dir);
    await store.save(makeSnapshot({ runId: 'r', seq: 4 }));
    expect((await store.load('r'))?.seq).toBe(4);
    expect(await readdir(dir)).toEqual(['r.json']);
  });

  it('takes over an empty lock left by a process that died between creating and filling it', async () => {
    await writeFile(join(dir, 'r.lock'), '');
    const past = new Date(Date.now() - 5_000);
    await utimes(join(dir, 'r.lock'), past, past);
    await new FileStore(dir).save(makeSnapshot({ runId: 'r' }));
    expect(await readdir(dir)).toEqual(['r.json']);
  });

  it('sees runs saved by another FileStore on the same directory', async () => {
    await new FileStore(dir, { now: () => 9 }).save(makeSnapshot({ runId: 'shared', status: 'waiting' }));
    const other = new FileStore(dir);
    expect(await other.list()).toEqual([{ runId: 'shared', workflow: 'orders', status: 'waiting', updatedAt: 9 }]);
    expect((await other.load('shared'))?.status).toBe('waiting');
  });
});
