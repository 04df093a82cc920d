import { pino, type Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { event, MemoryStore, StartEvent, StopEvent, workflow, type RunEvent, type Snapshot, type WorkflowOptions } from 'sluice';
import { attachLogger } from '../../src/telemetry/logger.js';

// The real attachLogger, watched: the run loop must not call it without a logger.
vi.mock('../../src/telemetry/logger.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/telemetry/logger.js')>();
  return { ...actual, attachLogger: vi.fn(actual.attachLogger) };
});

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger writing JSON lines into an array. */
function memoryLogger(level: pino.Level = 'trace'): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = pino({ level, base: null, timestamp: false }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  return { logger, lines };
}

const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 } as const;
const Item = event('Item', z.object({ n: z.number() }));

/** start → flaky (fails on its first attempt, retried once) → stop. */
const retrying = (options: WorkflowOptions) => {
  let attempts = 0;
  return workflow('retrying', { timeout: null, ...options })
    .step('start', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
    .step('flaky', { accepts: [Item], retry: { retries: 1 } }, (ev) => {
      if (attempts++ === 0) throw new Error('flaked');
      return StopEvent.of({ result: ev.data.n });
    });
};

/** A store whose first `failures` saves reject. */
class FlakyStore extends MemoryStore {
  constructor(private failures: number) {
    super();
  }
  override async save(snapshot: Snapshot): Promise<void> {
    if (this.failures-- > 0) throw new Error('disk full');
    return super.save(snapshot);
  }
}

describe('logging a run to pino', () => {
  it('logs routing and steps at debug, run start and end at info, a retry at warn, with run and step fields', async () => {
    const { logger, lines } = memoryLogger('debug');
    const run = retrying({ logger }).run(null, { runId: 'r1' });
    expect(await run.result).toBe(1);

    expect(lines.map((l) => [l.level, l.msg, l['step'] ?? null])).toEqual([
      [LEVEL.info, 'run started', null],
      [LEVEL.debug, 'event routed', null],
      [LEVEL.debug, 'step started', 'start'],
      [LEVEL.debug, 'step completed', 'start'],
      [LEVEL.debug, 'event routed', null],
      [LEVEL.debug, 'step started', 'flaky'],
      [LEVEL.warn, 'step attempt failed, retrying', 'flaky'],
      [LEVEL.debug, 'step started', 'flaky'],
      [LEVEL.debug, 'step completed', 'flaky'],
      [LEVEL.debug, 'event routed', null],
      [LEVEL.info, 'run completed', null],
    ]);
    expect(lines[0]).toEqual({ level: LEVEL.info, msg: 'run started', runId: 'r1', workflow: 'retrying', seq: 1, kind: 'run_started' });
    expect(lines[1]).toMatchObject({ kind: 'event_routed', eventType: 'StartEvent', steps: ['start'], seq: 2 });
    const retry = lines[6] as Line;
    expect(retry).toEqual({
      level: LEVEL.warn,
      msg: 'step attempt failed, retrying',
      runId: 'r1',
      workflow: 'retrying',
      seq: retry.seq,
      kind: 'step_retried',
      step: 'flaky',
      invocationId: expect.stringMatching(/\/flaky$/),
      eventType: 'Item',
      attempt: 1,
      // A retried step's error carries the thrown Error's stack (bounded), as in the RunEvent.
      error: { code: 'step_failed', message: 'flaked', stack: expect.stringMatching(/^Error: flaked\n/) },
    });
    expect(lines[7]).toMatchObject({ kind: 'step_started', attempt: 2, invocationId: retry['invocationId'] });
    const events: RunEvent[] = [];
    run.events$.subscribe((e) => events.push(e)).unsubscribe();
    expect(lines.map((l) => l.seq)).toEqual(events.filter((e) => e.kind !== 'checkpoint_saved').map((e) => e.seq));
  });

  it('logs a failing step and the failed run at error', async () => {
    const { logger, lines } = memoryLogger('info');
    const wf = workflow('failing', { logger, timeout: null }).step('boom', { accepts: [StartEvent] }, () => {
      throw new Error('kaput');
    });
    const run = wf.run(null, { runId: 'r2' });
    await expect(run.result).rejects.toMatchObject({ code: 'step_failed' });

    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [LEVEL.info, 'run started'],
      [LEVEL.error, 'step failed'],
      [LEVEL.error, 'run failed'],
    ]);
    expect(lines[1]).toMatchObject({ runId: 'r2', workflow: 'failing', step: 'boom', error: { code: 'step_failed' } });
    expect(lines[2]).toMatchObject({
      runId: 'r2',
      kind: 'run_failed',
      error: { code: 'step_failed', message: "step 'boom' failed: kaput" },
      durationMs: expect.any(Number),
    });
  });

  it('logs a checkpoint failure at warn', async () => {
    const { logger, lines } = memoryLogger('info');
    const store = new FlakyStore(1);
    const run = retrying({ logger, store }).run(null, { runId: 'r3' });
    await run.result;
    await run.flush();

    const failed = lines.find((l) => l.kind === 'checkpoint_failed');
    expect(failed).toEqual({
      level: LEVEL.warn,
      msg: 'checkpoint failed',
      runId: 'r3',
      workflow: 'retrying',
      seq: expect.any(Number),
      kind: 'checkpoint_failed',
      error: { code: 'store_failed', message: 'checkpoint failed: disk full' },
      consecutive: 1,
    });
    expect(lines.filter((l) => l.level >= LEVEL.warn).map((l) => l.kind).sort()).toEqual(['checkpoint_failed', 'step_retried']);
    expect((await store.load('r3'))?.status).toBe('completed');
  });

  it('builds nothing for disabled levels: a warn logger is only asked isLevelEnabled for routine events', async () => {
    const { logger, lines } = memoryLogger('warn');
    const debug = vi.spyOn(logger, 'debug');
    const info = vi.spyOn(logger, 'info');
    await retrying({ logger }).run(null).result;
    expect(debug).not.toHaveBeenCalled();
    expect(info).not.toHaveBeenCalled();
    expect(lines.map((l) => l.msg)).toEqual(['step attempt failed, retrying']);
  });

  it('subscribes nothing when no logger is given', async () => {
    const spy = vi.mocked(attachLogger);
    spy.mockClear();
    await retrying({}).run(null).result;
    expect(spy).not.toHaveBeenCalled();

    const { logger } = memoryLogger();
    await retrying({ logger }).run(null).result;
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('logs a resumed run from its run_resumed on, not the history it carries', async () => {
    const { logger, lines } = memoryLogger('info');
    const first = retrying({ logger }).run(null, { runId: 'r4' });
    const snapshot = await first.pause();
    first.abort();
    lines.length = 0;

    const resumed = retrying({ logger }).resume(JSON.parse(JSON.stringify(snapshot)));
    expect(await resumed.result).toBe(1);
    expect(lines.map((l) => l.msg)).toEqual(['run resumed', 'step attempt failed, retrying', 'run completed']);
    expect(lines[0]).toMatchObject({ runId: 'r4', seq: snapshot.seq + 1 });
  });

  it('never lets a throwing logger disturb the run', async () => {
    const logger = pino({ level: 'debug' }, { write: () => { throw new Error('EPIPE'); } });
    expect(await retrying({ logger }).run(null).result).toBe(1);
  });

  it('attachLogger works for any run handed to it, and stops with the run', async () => {
    const { logger, lines } = memoryLogger('info');
    const run = retrying({}).run(null, { runId: 'r5' });
    const subscription = attachLogger(logger, run.events$, { runId: run.id, workflow: 'retrying' });
    await run.result;
    expect(subscription.closed).toBe(true);
    expect(lines.map((l) => l.msg)).toEqual(['run started', 'step attempt failed, retrying', 'run completed']);
  });
});
