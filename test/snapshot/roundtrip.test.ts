import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type Snapshot } from 'sluice';
import { virtualTime } from 'sluice/testing';
import { buildSnapshot } from '../../src/snapshot/build.js';
import { freshStart, redelivery, restoreSnapshot, type Restored } from '../../src/snapshot/restore.js';

// snapshot/build and snapshot/restore are pure: a snapshot survives JSON and restore → build unchanged.

const Item = event('Item', z.object({ n: z.number() }));

/** Build a snapshot back from what restore made of it (as a resumed run that has not dispatched would). */
function rebuild(snapshot: Snapshot, r: Restored): Snapshot {
  return buildSnapshot({
    workflow: snapshot.workflow,
    workflowVersion: snapshot.workflowVersion,
    runId: r.runId,
    status: snapshot.status,
    createdAt: r.createdAt,
    input: r.input,
    state: r.state ?? {},
    pending: [...r.pending],
    inFlight: [...r.redeliver],
    collected: r.collected,
    waiting: r.requests?.waiting ?? [],
    answered: r.requests?.answered ?? {},
    seq: r.seq,
    elapsedMs: r.elapsedMs,
    metadata: r.metadata,
    children: Object.fromEntries(r.children ?? []),
  });
}

/** A paused run with something pending, in flight (parked on input), collected and answered. */
function busySnapshot(): Snapshot {
  const vt = virtualTime((a, b) => expect(a).toEqual(b));
  const wf = workflow('busy', { timeout: null })
    .step('fan', { accepts: [StartEvent] }, () => [Item.of({ n: 1 }), Item.of({ n: 2 })])
    .step('ask', { accepts: [Item], concurrency: 1 }, async (ev, ctx) => {
      await ctx.requestInput(`ok ${ev.data.n}?`, { metadata: { n: ev.data.n } });
      return StopEvent.of({ result: ev.data.n });
    });
  let snapshot: Snapshot | undefined;
  vt.run(({ flush }) => {
    const run = vt.start(wf, 'in');
    run.setMetadata('trace', { id: 't1' });
    flush();
    void run.pause();
    flush();
    snapshot = run.snapshot();
  });
  if (snapshot === undefined) throw new Error('no snapshot');
  return snapshot;
}

describe('snapshot build and restore', () => {
  it('is plain JSON: a built snapshot deep-equals its JSON round trip', () => {
    const snapshot = busySnapshot();
    expect(snapshot.pending.length).toBeGreaterThan(0);
    expect(snapshot.waiting.length).toBe(1);
    expect(snapshot.status).toBe('paused');
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
  });

  it('restore then build gives back the snapshot it was given, through JSON.parse(JSON.stringify(...))', () => {
    const snapshot = busySnapshot();
    const json = JSON.parse(JSON.stringify(snapshot)) as Snapshot;
    const restored = restoreSnapshot(json);
    expect(restored.dormant).toEqual(snapshot.inFlight.map((e) => e.invocationId));
    expect(rebuild(json, restored)).toEqual(snapshot);
  });

  it('build copies what the run keeps mutating, so a snapshot never changes after it is taken', () => {
    const snapshot = busySnapshot();
    const r = restoreSnapshot(JSON.parse(JSON.stringify(snapshot)) as Snapshot);
    const parts = { collected: { Item: [Item.of({ n: 1 })] }, metadata: { a: 1 } };
    const built = buildSnapshot({ ...rebuild(snapshot, r), ...parts });
    parts.collected.Item.push(Item.of({ n: 2 }));
    (parts.metadata as Record<string, unknown>)['b'] = 2;
    expect(built.collected).toEqual({ Item: [Item.of({ n: 1 })] });
    expect(built.metadata).toEqual({ a: 1 });
  });

  it('re-delivers an in-flight entry addressed to its step, frozen', () => {
    const entry = { step: 'ask', invocationId: 'e/ask', envelope: { id: 'e', event: Item.of({ n: 1 }), at: 5 } };
    const env = redelivery(entry);
    expect(env).toEqual({ id: 'e', event: Item.of({ n: 1 }), at: 5, to: 'ask' });
    expect(Object.isFrozen(env) && Object.isFrozen(env.event)).toBe(true);
  });

  it('a fresh start has the input, the seeded state and nothing else', () => {
    const r = freshStart({ input: 'x', runId: 'r1', state: { k: 1 } }, 100);
    expect(r).toMatchObject({ runId: 'r1', input: 'x', createdAt: 100, state: { k: 1 }, seq: 0, pending: [], redeliver: [], dormant: [] });
  });
});
