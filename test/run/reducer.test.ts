import { describe, expect, it } from 'vitest';
import { WorkflowError } from 'sluice';
import { initialControl, OUTCOME_RANK, reduce, type Control, type ControlAction, type Outcome } from '../../src/run/reducer.js';

// Pure unit tests of the control reducer (STYLE principle 5: state changes only through one reducer).

const failed: Outcome = { status: 'failed', error: new WorkflowError('step_failed', 'x', { step: 's' }) };
const completed: Outcome = { status: 'completed', result: 42 };
const aborted: Outcome = { status: 'aborted', error: new WorkflowError('aborted', 'a') };
const timedOut: Outcome = { status: 'timed_out', error: new WorkflowError('timeout', 't') };

const busy: ControlAction = { type: 'activity', busy: true, waiting: false };
const idleWaiting: ControlAction = { type: 'activity', busy: false, waiting: true };
const busyWaiting: ControlAction = { type: 'activity', busy: true, waiting: true };
const idle: ControlAction = { type: 'activity', busy: false, waiting: false };

const run = (...actions: ControlAction[]): Control => actions.reduce(reduce, initialControl);

describe('reduce', () => {
  it('starts running, unpaused, not closing, with no outcome', () => {
    expect(initialControl).toEqual({ status: 'running', paused: false, closing: false, due: false, outcome: undefined });
  });

  it('pauses and resumes', () => {
    expect(run({ type: 'pause' })).toMatchObject({ status: 'paused', paused: true });
    expect(run({ type: 'pause' }, { type: 'resume' })).toMatchObject({ status: 'running', paused: false });
  });

  it('turns waiting when input requests are open and nothing else is queued or running', () => {
    expect(run(idleWaiting).status).toBe('waiting');
  });

  it('stays running while other work exists next to open requests', () => {
    expect(run(busyWaiting).status).toBe('running');
  });

  it('goes back to running when work arrives while waiting, or the requests are answered', () => {
    expect(run(idleWaiting, busyWaiting).status).toBe('running');
    expect(run(idleWaiting, idle).status).toBe('running');
  });

  it('stays paused whatever the activity', () => {
    for (const activity of [busy, idleWaiting, busyWaiting, idle]) {
      expect(run({ type: 'pause' }, activity)).toMatchObject({ status: 'paused', paused: true });
    }
  });

  it('recomputes waiting on resume once activity is reported', () => {
    expect(run({ type: 'pause' }, idleWaiting, { type: 'resume' }, idleWaiting).status).toBe('waiting');
  });

  it('marks an outcome due without closing dispatch (a timeout), and closing implies due', () => {
    const due = run({ type: 'due' });
    expect(due).toMatchObject({ status: 'running', closing: false, due: true });
    expect(reduce(due, { type: 'due' })).toBe(due);
    expect(run({ type: 'closing' })).toMatchObject({ closing: true, due: true });
  });

  it('marks closing without changing the status', () => {
    const closing = run({ type: 'closing' });
    expect(closing).toMatchObject({ status: 'running', closing: true, outcome: undefined });
    expect(reduce(closing, { type: 'closing' })).toBe(closing);
  });

  it.each([
    ['completed', completed],
    ['failed', failed],
    ['aborted', aborted],
    ['timed_out', timedOut],
  ] as const)('ends with status %s and keeps the outcome', (status, outcome) => {
    const ended = run({ type: 'end', outcome });
    expect(ended.status).toBe(status);
    expect(ended.outcome).toBe(outcome);
    expect(ended.closing).toBe(true);
  });

  it('ends from paused too', () => {
    expect(run({ type: 'pause' }, { type: 'end', outcome: aborted }).status).toBe('aborted');
  });

  it('absorbs every action once terminal', () => {
    const ended = run({ type: 'end', outcome: completed });
    const actions: ControlAction[] = [
      { type: 'pause' },
      { type: 'resume' },
      busy,
      idleWaiting,
      { type: 'closing' },
      { type: 'end', outcome: failed },
    ];
    for (const action of actions) expect(reduce(ended, action)).toBe(ended);
  });

  it('returns the same object when activity changes nothing', () => {
    const running = run(busy);
    expect(reduce(running, busy)).toBe(running);
    const waiting = run(idleWaiting);
    expect(reduce(waiting, idleWaiting)).toBe(waiting);
  });

  it('never mutates the control it is given', () => {
    const frozen = Object.freeze({ ...initialControl });
    const actions: ControlAction[] = [{ type: 'pause' }, { type: 'resume' }, idleWaiting, { type: 'closing' }, { type: 'end', outcome: failed }];
    for (const action of actions) expect(() => reduce(frozen, action)).not.toThrow();
    expect(frozen).toEqual(initialControl);
  });
});

describe('OUTCOME_RANK', () => {
  it('ranks a step error over a stop over a timeout', () => {
    expect(OUTCOME_RANK.failed).toBeGreaterThan(OUTCOME_RANK.completed);
    expect(OUTCOME_RANK.completed).toBeGreaterThan(OUTCOME_RANK.timed_out);
  });
});
