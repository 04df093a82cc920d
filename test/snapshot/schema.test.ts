import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAnySnapshot, parseSnapshot, readSnapshot, type SnapshotV1 } from '../../src/snapshot/schema.js';
import { makeSnapshotV1, makeSnapshotV2 } from '../stores/fixtures.js';

const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
/** A real version-1 snapshot written by sluice before version 2 (FileStore's `{ updatedAt, snapshot }`). */
const storedV1 = (JSON.parse(readFileSync(new URL('../stores/v1/file-store.json', import.meta.url), 'utf8')) as {
  snapshot: SnapshotV1;
}).snapshot;

describe('snapshot version 2', () => {
  it('round-trips a lean snapshot with every kind of wait, collected in-flight events, dueAt and outcome', () => {
    const snap = makeSnapshotV2({ status: 'completed', outcome: { result: { total: 3 } } });
    expect(readSnapshot(viaJson(snap))).toStrictEqual({ snapshot: viaJson(snap), history: [] });
    const failed = makeSnapshotV2({ status: 'failed', outcome: { error: { code: 'step_failed', message: 'boom', step: 'price' } } });
    expect(parseAnySnapshot(viaJson(failed))).toStrictEqual(viaJson(failed));
  });

  it('has no history: a history field in a version-2 snapshot is not kept', () => {
    const withHistory = { ...viaJson(makeSnapshotV2()), history: [{ kind: 'run_started', runId: 'run-1', seq: 1, at: 1 }] };
    expect(readSnapshot(withHistory).snapshot).not.toHaveProperty('history');
  });

  it('refuses a waiting entry without kind, or of an unknown kind, with invalid_snapshot', () => {
    const base = viaJson(makeSnapshotV2());
    for (const entry of [{ requestId: 'x:1', prompt: 'p' }, { kind: 'nap', requestId: 'x:1' }, { kind: 'sleep', requestId: 'x:1' }]) {
      expect(() => readSnapshot({ ...base, waiting: [entry] })).toThrowError(expect.objectContaining({ code: 'invalid_snapshot' }));
    }
  });

  it('refuses an outcome with both result and error, or neither', () => {
    const base = viaJson(makeSnapshotV2({ status: 'completed' }));
    for (const outcome of [{}, { result: 1, error: { code: 'x', message: 'y' } }, { error: { code: 'x' } }]) {
      expect(() => parseAnySnapshot({ ...base, outcome })).toThrowError(expect.objectContaining({ code: 'invalid_snapshot' }));
    }
  });

  it('refuses an unknown version with snapshot_version and a value without version with invalid_snapshot', () => {
    expect(() => readSnapshot({ ...viaJson(makeSnapshotV2()), version: 3 })).toThrowError(
      expect.objectContaining({ code: 'snapshot_version', details: { version: 3, supported: [1, 2] } }),
    );
    expect(() => readSnapshot({ runId: 'r' })).toThrowError(expect.objectContaining({ code: 'invalid_snapshot' }));
    expect(() => readSnapshot(null)).toThrowError(expect.objectContaining({ code: 'invalid_snapshot' }));
  });

  it('refuses a snapshot of another workflow with invalid_snapshot', () => {
    expect(() => readSnapshot(viaJson(makeSnapshotV2()), 'billing')).toThrowError(
      expect.objectContaining({ code: 'invalid_snapshot', details: { workflow: 'orders', expected: 'billing' } }),
    );
  });
});

describe('version 1 still loads', () => {
  it('upgrades a stored version-1 snapshot to version 2 and hands its history back for the journal', () => {
    const { snapshot, history } = readSnapshot(viaJson(storedV1));
    expect(snapshot.version).toBe(2);
    expect(snapshot).not.toHaveProperty('history');
    expect(history.map((e) => e.seq)).toEqual(Array.from({ length: storedV1.seq }, (_, i) => i + 1));
    expect(history.at(-1)?.kind).toBe('run_paused');
    expect(snapshot.waiting).toEqual([{ ...storedV1.waiting[0], kind: 'input' }]);
    const { version: _v, history: _h, waiting: _w, ...live } = storedV1;
    const { version: _v2, waiting: _w2, ...upgraded } = snapshot;
    expect(upgraded).toStrictEqual(live);
  });

  it('upgrades children and every waiting entry to kind input', () => {
    const child = makeSnapshotV1({ runId: 'child-1', workflow: 'sub' });
    const { snapshot } = readSnapshot(viaJson(makeSnapshotV1({ children: { 'inv-1#0': child } })));
    expect(snapshot.waiting.map((w) => w.kind)).toEqual(['input', 'input']);
    expect(snapshot.children['inv-1#0']).toMatchObject({ version: 2, runId: 'child-1' });
    expect(snapshot.children['inv-1#0']).not.toHaveProperty('history');
  });

  it('parses a version-2 snapshot as it is', () => {
    const v2 = makeSnapshotV2({ waiting: [{ kind: 'input', requestId: 'inv-1:1', prompt: 'ok?', metadata: null }] });
    expect(parseSnapshot(viaJson(v2))).toStrictEqual(viaJson(v2));
  });

  it('hands the run loop a version-2 sleep as it is (the loop resumes durable waits)', () => {
    const v2 = viaJson(makeSnapshotV2());
    const sleep = v2.waiting.find((w) => w.kind === 'sleep');
    expect(sleep).toBeDefined();
    expect(parseSnapshot(v2).waiting).toContainEqual(sleep);
  });

  it('parses a version-1 snapshot as version 2, without its history', () => {
    expect(parseSnapshot(viaJson(storedV1))).toStrictEqual(readSnapshot(viaJson(storedV1)).snapshot);
  });
});
