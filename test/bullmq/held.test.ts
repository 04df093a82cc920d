import { describe, expect, it } from 'vitest';
import { controlOf, firstDue } from '../../src/bullmq/held.js';
import { scheduledRunId } from '../../src/bullmq/protocol.js';
import type { Snapshot, WaitingEntry } from '../../src/index.js';

const parked = (waiting: unknown[]): Snapshot => ({ waiting: waiting as WaitingEntry[] }) as Snapshot;

describe('what a worker schedules for a run parked in the store', () => {
  it('wakes it at the first due wait: an input deadline’s remaining time or a sleep’s absolute due time', () => {
    const now = 1_000_000;
    expect(firstDue(parked([]), now)).toBeUndefined();
    expect(firstDue(parked([{ kind: 'input', requestId: 'a:1', prompt: 'ok?' }]), now)).toBeUndefined();
    expect(firstDue(parked([{ kind: 'input', requestId: 'a:1', prompt: 'ok?', remainingMs: 700 }]), now)).toBe(700);
    expect(
      firstDue(parked([{ kind: 'input', requestId: 'a:1', prompt: 'ok?', remainingMs: 700 }, { kind: 'sleep', requestId: 'b:1', dueAt: now + 250 }]), now),
    ).toBe(250);
    // A sleep already past is due at once.
    expect(firstDue(parked([{ kind: 'sleep', requestId: 'b:1', dueAt: now - 5 }]), now)).toBe(0);
  });

  it('names each firing of a schedule after the schedule and its due time, so a retried firing is the same run', () => {
    expect(scheduledRunId('nightly', 'repeat:nightly:1764720000000')).toBe('nightly-1764720000000');
    expect(scheduledRunId('a-b', 'repeat:a-b:42')).toBe('a-b-42');
  });

  it('treats a plain resume job as a control, and a deadline check as none', () => {
    expect(controlOf({ kind: 'resume', runId: 'r' })).toEqual({ type: 'resume' });
    expect(controlOf({ kind: 'resume', runId: 'r', expiring: 3 })).toBeUndefined();
    expect(controlOf({ kind: 'control', runId: 'r', op: { type: 'abort', reason: 'x' }, since: 0 })).toEqual({ type: 'abort', reason: 'x' });
    expect(controlOf({ kind: 'start', runId: 'r', workflow: 'w', input: 1 })).toBeUndefined();
  });
});
