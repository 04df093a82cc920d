import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunStatus } from '../../src/run/status.js';
import type { Snapshot } from '../../src/snapshot/schema.js';
import type { CheckpointStore, RunSummary } from '../../src/stores/CheckpointStore.js';
import type { RunEvent } from '../../src/telemetry/runEvent.js';
import { journal, makeSnapshot, makeSnapshotV1 } from './fixtures.js';

/** What a backend's test file hands the contract: a fresh, empty store per test. */
export interface StoreHarness {
  store: CheckpointStore;
  /**
   * Sets the clock the store stamps `updatedAt` with. Give it for stores built with `{ now }`; leave it out
   * for stores stamping with their own clock (a database server), and the tests that need exact times are
   * skipped while the rest compare against `Date.now()`, assuming that clock is within a second of ours.
   */
  clock?: { set(ms: number): void };
  /** Release what `makeStore` created (temp directory, connection, key prefix). */
  cleanup(): Promise<void>;
  /**
   * The first write of a save whose process died before the second: `journal` appended to the run's journal
   * but the snapshot not replaced. Stores that write both in one transaction simulate what a torn write
   * would leave by writing journal entries behind the store's back.
   */
  tornSave?(runId: string, journal: readonly RunEvent[]): Promise<void>;
}

/** How far a store's own clock may be from `Date.now()` in the tests that cannot inject one. */
const SKEW_MS = 1_000;

const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * The behaviour every `CheckpointStore` shares. Each backend's test file calls it once.
 *
 * @example
 * ```ts
 * storeContract('MemoryStore', async () => {
 *   const clock = manualClock();
 *   return { store: new MemoryStore({ now: clock.now }), clock, cleanup: async () => {} };
 * });
 * ```
 */
export function storeContract(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`${name} (CheckpointStore contract)`, () => {
    let h: StoreHarness;
    let store: CheckpointStore;

    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
    });

    afterEach(async () => {
      await h.cleanup();
    });

    /** Save at time `t` when the clock can be set; otherwise whenever "now" is. */
    async function saveAt(t: number, snapshot: Snapshot): Promise<void> {
      h.clock?.set(t);
      await store.save(snapshot);
    }

    /** The expected row; `updatedAt` is exact only when the test controls the clock. */
    function row(runId: string, workflow: string, status: RunStatus, t: number): RunSummary {
      return { runId, workflow, status, updatedAt: h.clock ? t : (expect.any(Number) as number) };
    }

    /** Four runs saved in order a, b, c, d at 1000…4000 (ids sort the same way, so real clocks agree). */
    async function seed(): Promise<{ before: number; after: number }> {
      const before = Date.now();
      await saveAt(1_000, makeSnapshot({ runId: 'run-a', workflow: 'orders', status: 'running' }));
      await saveAt(2_000, makeSnapshot({ runId: 'run-b', workflow: 'orders', status: 'completed' }));
      await saveAt(3_000, makeSnapshot({ runId: 'run-c', workflow: 'billing', status: 'completed' }));
      await saveAt(4_000, makeSnapshot({ runId: 'run-d', workflow: 'billing', status: 'failed' }));
      return { before, after: Date.now() };
    }

    const ids = async (): Promise<string[]> => (await store.list()).map((r) => r.runId);

    describe('save and load', () => {
      it('loads back what was saved, equal to the snapshot after a JSON round trip', async () => {
        const snapshot = makeSnapshot({ runId: 'round-trip', status: 'paused' });
        await store.save(snapshot);
        expect(await store.load('round-trip')).toStrictEqual(viaJson(snapshot));
      });

      it('resolves undefined when loading an id that was never saved', async () => {
        await store.save(makeSnapshot({ runId: 'present' }));
        expect(await store.load('absent')).toBeUndefined();
      });

      it('keeps only the latest save of a run', async () => {
        await saveAt(1_000, makeSnapshot({ runId: 'r', status: 'running', seq: 1 }));
        const latest = makeSnapshot({ runId: 'r', status: 'paused', seq: 9, state: { step: 'second' } });
        await saveAt(2_000, latest);
        expect(await store.load('r')).toStrictEqual(viaJson(latest));
        expect(await store.list()).toEqual([row('r', 'orders', 'paused', 2_000)]);
      });

      it('hands out copies: changing a snapshot after save or after load leaves the stored one alone', async () => {
        const snapshot = makeSnapshot({ runId: 'copy', state: { count: 1 } });
        const expected = viaJson(snapshot);
        await store.save(snapshot);
        snapshot.state['count'] = 99;
        snapshot.pending.length = 0;
        const loaded = await store.load('copy');
        expect(loaded).toStrictEqual(expected);
        loaded!.state['count'] = 7;
        loaded!.pending.pop();
        expect(await store.load('copy')).toStrictEqual(expected);
      });

      it('keeps run ids with slashes, dots, percent signs and unicode apart', async () => {
        const runIds = ['a/b', 'a%2Fb', '../escape', '.hidden', 'ünï cödé', 'a:b'];
        for (const [i, runId] of runIds.entries()) await store.save(makeSnapshot({ runId, seq: i }));
        for (const [i, runId] of runIds.entries()) {
          expect(await store.load(runId)).toStrictEqual(viaJson(makeSnapshot({ runId, seq: i })));
        }
        expect((await ids()).sort()).toEqual([...runIds].sort());
      });

      it('rejects a snapshot with an empty runId with invalid_snapshot', async () => {
        await expect(store.save(makeSnapshot({ runId: '' }))).rejects.toMatchObject({
          name: 'WorkflowError',
          code: 'invalid_snapshot',
        });
        expect(await store.list()).toEqual([]);
      });
    });

    describe('list', () => {
      it('lists nothing from an empty store', async () => {
        expect(await store.list()).toEqual([]);
      });

      it('lists every run as { runId, workflow, status, updatedAt }, oldest first', async () => {
        const { before, after } = await seed();
        const rows = await store.list();
        expect(rows).toEqual([
          row('run-a', 'orders', 'running', 1_000),
          row('run-b', 'orders', 'completed', 2_000),
          row('run-c', 'billing', 'completed', 3_000),
          row('run-d', 'billing', 'failed', 4_000),
        ]);
        if (!h.clock) {
          for (const r of rows) {
            expect(r.updatedAt).toBeGreaterThanOrEqual(before - SKEW_MS);
            expect(r.updatedAt).toBeLessThanOrEqual(after + SKEW_MS);
          }
        }
      });

      it('filters by workflow', async () => {
        await seed();
        expect(await store.list({ workflow: 'billing' })).toEqual([
          row('run-c', 'billing', 'completed', 3_000),
          row('run-d', 'billing', 'failed', 4_000),
        ]);
        expect(await store.list({ workflow: 'nope' })).toEqual([]);
      });

      it('filters by status', async () => {
        await seed();
        expect(await store.list({ status: 'completed' })).toEqual([
          row('run-b', 'orders', 'completed', 2_000),
          row('run-c', 'billing', 'completed', 3_000),
        ]);
        expect(await store.list({ status: 'waiting' })).toEqual([]);
      });

      it('filters by workflow and status together', async () => {
        await seed();
        expect(await store.list({ workflow: 'orders', status: 'completed' })).toEqual([
          row('run-b', 'orders', 'completed', 2_000),
        ]);
      });

      it('moves a run to the end when it is saved again (updatedAt is the last save)', async (ctx) => {
        const clock = h.clock;
        if (!clock) return ctx.skip('the store stamps updatedAt with its own clock');
        await seed();
        await saveAt(5_000, makeSnapshot({ runId: 'run-a', workflow: 'orders', status: 'paused' }));
        expect(await store.list({ workflow: 'orders' })).toEqual([
          row('run-b', 'orders', 'completed', 2_000),
          row('run-a', 'orders', 'paused', 5_000),
        ]);
      });

      it('orders runs saved in the same millisecond by runId', async (ctx) => {
        const clock = h.clock;
        if (!clock) return ctx.skip('the store stamps updatedAt with its own clock');
        for (const runId of ['z', 'm', 'a']) await saveAt(7_000, makeSnapshot({ runId }));
        expect(await ids()).toEqual(['a', 'm', 'z']);
      });
    });

    describe('delete', () => {
      it('deletes a run so it no longer loads or lists', async () => {
        await seed();
        await store.delete('run-b');
        expect(await store.load('run-b')).toBeUndefined();
        expect(await ids()).toEqual(['run-a', 'run-c', 'run-d']);
      });

      it('deleting an id that does not exist resolves and changes nothing', async () => {
        await seed();
        await expect(store.delete('never-saved')).resolves.toBeUndefined();
        expect(await ids()).toEqual(['run-a', 'run-b', 'run-c', 'run-d']);
      });
    });

    describe('prune', () => {
      it('prunes by status and resolves how many runs it removed', async () => {
        await seed();
        expect(await store.prune({ status: 'completed' })).toBe(2);
        expect(await ids()).toEqual(['run-a', 'run-d']);
        expect(await store.load('run-b')).toBeUndefined();
      });

      it('prunes nothing and resolves 0 when nothing matches', async () => {
        await seed();
        expect(await store.prune({ status: 'aborted' })).toBe(0);
        expect(await store.prune({ olderThan: 0 })).toBe(0);
        expect(await ids()).toEqual(['run-a', 'run-b', 'run-c', 'run-d']);
      });

      it('prunes every run saved before olderThan', async () => {
        await seed();
        expect(await store.prune({ olderThan: Date.now() + SKEW_MS })).toBe(4);
        expect(await store.list()).toEqual([]);
      });

      it('prunes by olderThan and status together', async () => {
        await seed();
        expect(await store.prune({ olderThan: Date.now() + SKEW_MS, status: 'completed' })).toBe(2);
        expect(await store.prune({ olderThan: 0, status: 'running' })).toBe(0);
        expect(await ids()).toEqual(['run-a', 'run-d']);
      });

      it('removes every run when given no filter', async () => {
        await seed();
        expect(await store.prune()).toBe(4);
        expect(await store.list()).toEqual([]);
        expect(await store.prune({})).toBe(0);
      });

      it('keeps a run whose updatedAt equals olderThan (strictly older only)', async (ctx) => {
        const clock = h.clock;
        if (!clock) return ctx.skip('the store stamps updatedAt with its own clock');
        await seed();
        expect(await store.prune({ olderThan: 3_000 })).toBe(2);
        expect(await store.list()).toEqual([
          row('run-c', 'billing', 'completed', 3_000),
          row('run-d', 'billing', 'failed', 4_000),
        ]);
      });
    });

    describe('journal', () => {
      /** A snapshot at `seq` (version 2: the journal is all the history there is). */
      const lean = (runId: string, seq: number, extra: Partial<Snapshot> = {}) => makeSnapshot({ runId, seq, ...extra });
      const seqs = (events: RunEvent[]) => events.map((e) => e.seq);

      it('resolves [] for the journal of a run never saved', async () => {
        await store.save(lean('other', 2), journal('other', 1, 2));
        expect(await store.events('absent')).toEqual([]);
        expect(await store.events('absent', { afterSeq: 3, limit: 2 })).toEqual([]);
      });

      it('keeps the RunEvents of every save, in seq order, each once', async () => {
        await saveAt(1_000, lean('r', 3));
        await store.save(lean('r', 3), journal('r', 1, 3));
        await store.save(lean('r', 5), journal('r', 4, 5));
        // A delta repeating entries already stored (a save retried after a failure) does not double them.
        await store.save(lean('r', 7), journal('r', 4, 7));
        expect(await store.events('r')).toStrictEqual(viaJson(journal('r', 1, 7)));
      });

      it('reads after afterSeq (exclusive), at most limit entries', async () => {
        await store.save(lean('r', 9), journal('r', 1, 9));
        expect(seqs(await store.events('r', { afterSeq: 4 }))).toEqual([5, 6, 7, 8, 9]);
        expect(seqs(await store.events('r', { afterSeq: 4, limit: 2 }))).toEqual([5, 6]);
        expect(seqs(await store.events('r', { limit: 3 }))).toEqual([1, 2, 3]);
        expect(await store.events('r', { afterSeq: 9 })).toEqual([]);
        expect(await store.events('r', { afterSeq: 50 })).toEqual([]);
      });

      it('refuses a negative afterSeq or a limit below 1', async () => {
        await store.save(lean('r', 1), journal('r', 1, 1));
        for (const options of [{ afterSeq: -1 }, { limit: 0 }, { limit: 1.5 }]) {
          await expect(store.events('r', options)).rejects.toMatchObject({ name: 'WorkflowError' });
        }
      });

      it('keeps the journal apart from the caller: changing an entry after save or after events() leaves it alone', async () => {
        // The stream event is frozen on its top level only, as a user's Object.freeze leaves it: its data is not.
        const data = { list: [1] };
        const entry: RunEvent = { kind: 'stream', runId: 'r', seq: 1, at: 1_000, event: Object.freeze({ type: 'Tick', data }) };
        const expected = viaJson([entry]);
        await store.save(lean('r', 1), [entry]);
        // A store keeps either a copy (this changes the caller's object only) or the entry frozen to the bottom.
        for (const change of [() => data.list.push(2), () => ((entry as { at: number }).at = 5)]) {
          try {
            change();
          } catch (error) {
            expect(error).toBeInstanceOf(TypeError);
          }
        }
        const read = await store.events('r');
        expect(read).toStrictEqual(expected);
        ((read[0] as { event: { data: { list: number[] } } }).event.data.list as number[]).push(3);
        expect(await store.events('r')).toStrictEqual(expected);
      });

      it('does not keep journal entries beyond the snapshot the save carries', async () => {
        await store.save(lean('r', 2), journal('r', 1, 4));
        expect(seqs(await store.events('r'))).toEqual([1, 2]);
        await store.save(lean('r', 4), journal('r', 3, 4));
        expect(seqs(await store.events('r'))).toEqual([1, 2, 3, 4]);
      });

      it('reads a version-1 snapshot’s history as the start of the journal, and loads the snapshot as version 2', async () => {
        const v1 = makeSnapshotV1({ runId: 'old', seq: 3 });
        await store.save(v1);
        expect(await store.events('old')).toStrictEqual(viaJson(v1.history));
        expect(await store.load('old')).toMatchObject({ version: 2, runId: 'old', seq: 3 });
        expect(await store.load('old')).not.toHaveProperty('history');
        // A run resumed from it writes that history to the journal with its first checkpoint (see Checkpointer).
        await store.save(makeSnapshot({ runId: 'old', seq: 5 }), [...v1.history, ...journal('old', 4, 5)]);
        expect(seqs(await store.events('old'))).toEqual([1, 2, 3, 4, 5]);
      });

      it('deletes the journal with its run', async () => {
        await store.save(lean('r', 3), journal('r', 1, 3));
        await store.save(lean('keep', 1), journal('keep', 1, 1));
        await store.delete('r');
        expect(await store.events('r')).toEqual([]);
        await store.save(lean('r', 1), journal('r', 1, 1));
        expect(seqs(await store.events('r'))).toEqual([1]);
        expect(seqs(await store.events('keep'))).toEqual([1]);
      });

      it('prunes the journal with its run', async () => {
        await saveAt(1_000, lean('old', 2));
        await store.save(lean('old', 2), journal('old', 1, 2));
        await store.save(lean('done', 2, { status: 'completed' }), journal('done', 1, 2));
        expect(await store.prune({ status: 'completed' })).toBe(1);
        expect(await store.events('done')).toEqual([]);
        expect(seqs(await store.events('old'))).toEqual([1, 2]);
        await store.save(lean('done', 1), journal('done', 1, 1));
        expect(seqs(await store.events('done'))).toEqual([1]);
      });

      it('after a crash between the journal write and the snapshot write, shows neither the extra entries nor one seq twice', async (ctx) => {
        const torn = h.tornSave;
        if (!torn) return ctx.skip('this store cannot be left half-written');
        await store.save(lean('r', 3), journal('r', 1, 3));
        // The process appended seq 4–6 and died before replacing the snapshot.
        const lost = journal('r', 4, 6).map((e) => ({ ...e, step: 'lost' }));
        await torn('r', lost);
        const reloaded = await store.load('r');
        expect(reloaded?.seq).toBe(3);
        expect(seqs(await store.events('r'))).toEqual([1, 2, 3]);
        expect(await store.events('r', { afterSeq: 3 })).toEqual([]);
        // The resumed run numbers on from 3; its own 4 and 5 replace what the crash left.
        await store.save(lean('r', 5), journal('r', 4, 5));
        const events = await store.events('r');
        expect(seqs(events)).toEqual([1, 2, 3, 4, 5]);
        expect(events.map((e) => (e as { step?: string }).step)).toEqual(['s', 's', 's', 's', 's']);
        await store.save(lean('r', 7), journal('r', 6, 7));
        expect(seqs(await store.events('r'))).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect((await store.events('r', { afterSeq: 5 })).map((e) => (e as { step?: string }).step)).toEqual(['s', 's']);
      });
    });

    describe('concurrency', () => {
      it('50 concurrent saves of different runs all load back', async () => {
        const snapshots = Array.from({ length: 50 }, (_, i) =>
          makeSnapshot({ runId: `par-${String(i).padStart(2, '0')}`, seq: i, state: { i } }),
        );
        await Promise.all(snapshots.map((s) => store.save(s)));
        const loaded = await Promise.all(snapshots.map((s) => store.load(s.runId)));
        expect(loaded).toStrictEqual(snapshots.map(viaJson));
        expect((await ids()).sort()).toEqual(snapshots.map((s) => s.runId));
      });

      it('concurrent saves of one run leave a loadable snapshot equal to one of them', async () => {
        const versions = Array.from({ length: 20 }, (_, i) =>
          makeSnapshot({ runId: 'contended', seq: i, state: { writer: i } }),
        );
        await Promise.all(versions.map((s) => store.save(s)));
        const loaded = await store.load('contended');
        expect(versions.map(viaJson)).toContainEqual(loaded);
        expect(await ids()).toEqual(['contended']);
      });
    });
  });
}
