import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/snapshot/schema.js';
import type { CheckpointStore } from '../../src/stores/CheckpointStore.js';
import { makeSnapshot } from './fixtures.js';

/** One backend shared by several store instances, each standing for a separate process. */
export interface SharedBackend {
  /** A new store instance (a new writer) over the same data. */
  open(): CheckpointStore;
  /** Close every instance `open` made and remove the data. */
  cleanup(): Promise<void>;
}

const conflict = { name: 'WorkflowError', code: 'store_conflict' };
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const snap = (seq: number, writer: string, extra: Partial<Snapshot> = {}): Snapshot =>
  makeSnapshot({ runId: 'shared-run', seq, state: { writer }, ...extra });

/**
 * Optimistic concurrency between processes: a store refuses (`store_conflict`) a save from a writer that
 * is not working on the latest stored revision, so two processes resuming one run cannot both win.
 */
export function conflictContract(name: string, makeBackend: () => Promise<SharedBackend>): void {
  describe(`${name} (optimistic concurrency between processes)`, () => {
    let backend: SharedBackend;

    beforeEach(async () => {
      backend = await makeBackend();
    });

    afterEach(async () => {
      await backend.cleanup();
    });

    /** A run checkpointed at seq 3 by its first process, and two more processes that loaded it to resume. */
    async function resumedTwice(): Promise<{ first: CheckpointStore; b: CheckpointStore; c: CheckpointStore }> {
      const first = backend.open();
      await first.save(snap(3, 'first'));
      const b = backend.open();
      const c = backend.open();
      expect(await b.load('shared-run')).toStrictEqual(viaJson(snap(3, 'first')));
      expect(await c.load('shared-run')).toStrictEqual(viaJson(snap(3, 'first')));
      return { first, b, c };
    }

    it('lets the first of two resuming processes checkpoint and refuses the second with store_conflict', async () => {
      const { b, c } = await resumedTwice();
      await b.save(snap(5, 'b'));
      await expect(c.save(snap(5, 'c'))).rejects.toMatchObject({
        ...conflict,
        details: { runId: 'shared-run', seq: 5, stored: { seq: 5, rev: 2 } },
      });
      expect(await backend.open().load('shared-run')).toStrictEqual(viaJson(snap(5, 'b')));
    });

    it('refuses the second process even when its seq is higher than the winner’s', async () => {
      const { b, c } = await resumedTwice();
      await b.save(snap(4, 'b'));
      await expect(c.save(snap(9, 'c'))).rejects.toMatchObject(conflict);
      expect(await backend.open().load('shared-run')).toStrictEqual(viaJson(snap(4, 'b')));
    });

    it('keeps refusing the losing process on later saves, so it can never take the run back', async () => {
      const { b, c } = await resumedTwice();
      await b.save(snap(4, 'b'));
      await expect(c.save(snap(4, 'c'))).rejects.toMatchObject(conflict);
      await expect(c.save(snap(50, 'c'))).rejects.toMatchObject(conflict);
      await b.save(snap(6, 'b'));
      await expect(c.save(snap(51, 'c'))).rejects.toMatchObject(conflict);
      expect(await backend.open().load('shared-run')).toStrictEqual(viaJson(snap(6, 'b')));
    });

    it('refuses the original process once another process has taken the run over', async () => {
      const { first, b } = await resumedTwice();
      await b.save(snap(4, 'b'));
      await expect(first.save(snap(4, 'first'))).rejects.toMatchObject(conflict);
      await expect(first.save(snap(10, 'first'))).rejects.toMatchObject(conflict);
      expect(await backend.open().load('shared-run')).toStrictEqual(viaJson(snap(4, 'b')));
    });

    it('lets exactly one of ten processes resuming the same revision win when they save at once', async () => {
      const first = backend.open();
      await first.save(snap(3, 'first'));
      const writers = Array.from({ length: 10 }, () => backend.open());
      await Promise.all(writers.map((w) => w.load('shared-run')));
      const outcomes = await Promise.allSettled(writers.map((w, i) => w.save(snap(4 + i, `w${i}`))));
      const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject(conflict);
      const winner = winners[0] as number;
      expect(await backend.open().load('shared-run')).toStrictEqual(viaJson(snap(4 + winner, `w${winner}`)));
    });

    it('lets a process that lost take over again after loading the latest revision', async () => {
      const { b, c } = await resumedTwice();
      await b.save(snap(4, 'b'));
      await expect(c.save(snap(4, 'c'))).rejects.toMatchObject(conflict);
      expect(await c.load('shared-run')).toStrictEqual(viaJson(snap(4, 'b')));
      await c.save(snap(5, 'c'));
      await expect(b.save(snap(5, 'b'))).rejects.toMatchObject(conflict);
      expect(await backend.open().load('shared-run')).toStrictEqual(viaJson(snap(5, 'c')));
    });

    it('lets a process that never loaded the run take it over only with a higher seq', async () => {
      await backend.open().save(snap(5, 'first'));
      await expect(backend.open().save(snap(5, 'same-seq'))).rejects.toMatchObject(conflict);
      await expect(backend.open().save(snap(2, 'older'))).rejects.toMatchObject(conflict);
      const newer = backend.open();
      await newer.save(snap(6, 'newer'));
      await newer.save(snap(7, 'newer'));
      expect(await backend.open().load('shared-run')).toStrictEqual(viaJson(snap(7, 'newer')));
    });

    it('lets one writer save its own run in any order, the last save winning', async () => {
      const store = backend.open();
      await store.save(snap(8, 'me'));
      await store.save(snap(2, 'me', { status: 'paused' }));
      expect(await backend.open().load('shared-run')).toStrictEqual(viaJson(snap(2, 'me', { status: 'paused' })));
    });

    it('lets any process save a run afresh after it was deleted', async () => {
      const { b, c } = await resumedTwice();
      await b.save(snap(4, 'b'));
      await backend.open().delete('shared-run');
      await c.save(snap(1, 'c'));
      expect(await backend.open().load('shared-run')).toStrictEqual(viaJson(snap(1, 'c')));
    });
  });
}
