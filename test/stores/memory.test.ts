import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/stores/MemoryStore.js';
import { conflictContract } from './conflictContract.js';
import { storeContract } from './contract.js';
import { makeSnapshot, manualClock } from './fixtures.js';

storeContract('MemoryStore', async () => {
  const clock = manualClock();
  return { store: new MemoryStore({ now: clock.now }), clock, cleanup: async () => undefined };
});

conflictContract('MemoryStore', async () => {
  const base = new MemoryStore();
  return { open: () => base.openWriter(), cleanup: async () => undefined };
});

describe('MemoryStore', () => {
  it('stamps updatedAt with Date.now when no clock is given', async () => {
    const store = new MemoryStore();
    const before = Date.now();
    await store.save(makeSnapshot({ runId: 'r' }));
    const [row] = await store.list();
    expect(row?.updatedAt).toBeGreaterThanOrEqual(before);
    expect(row?.updatedAt).toBeLessThanOrEqual(Date.now());
  });

  it('rejects a snapshot holding a function with store_failed', async () => {
    const store = new MemoryStore();
    await expect(store.save(makeSnapshot({ runId: 'r', state: { fn: () => 1 } }))).rejects.toMatchObject({
      name: 'WorkflowError',
      code: 'store_failed',
    });
    expect(await store.load('r')).toBeUndefined();
  });

  it('keeps separate instances separate', async () => {
    const a = new MemoryStore();
    const b = new MemoryStore();
    await a.save(makeSnapshot({ runId: 'r' }));
    expect(await b.load('r')).toBeUndefined();
  });
});
