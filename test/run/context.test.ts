import { filter, firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  event,
  StartEvent,
  StopEvent,
  workflow,
  WorkflowError,
  type RunEvent,
  type RunEventOf,
  type RunHandle,
  type StepContext,
} from 'sluice';

// DESIGN §2 "Context" and §5 "Sync or async".

const Ping = event('Ping');
const Progress = event('Progress', z.object({ pct: z.number() }));
const Next = event('Next');

const historyOf = (run: RunHandle<unknown>): Promise<RunEvent[]> => firstValueFrom(run.events$.pipe(toArray()));
const ofKind = <K extends RunEvent['kind']>(events: RunEvent[], kind: K): RunEventOf<K>[] =>
  events.filter((e): e is RunEventOf<K> => e.kind === kind);
const whenKind = (run: RunHandle<unknown>, kind: RunEvent['kind']) =>
  firstValueFrom(run.events$.pipe(filter((e) => e.kind === kind)));

describe('ctx identity', () => {
  it('tells a step its run id, workflow name and attempt', async () => {
    let ctx: StepContext | undefined;
    const wf = workflow('who-am-i').step('s', { accepts: [StartEvent] }, (_ev, c) => {
      ctx = c;
      return StopEvent.of({});
    });
    const run = wf.run(undefined, { runId: 'run-123' });
    await run.result;
    expect(run.id).toBe('run-123');
    expect(ctx).toMatchObject({ runId: 'run-123', workflowName: 'who-am-i', attempt: 1 });
    expect(typeof ctx?.invocationId).toBe('string');
  });

  it('leaves ctx.signal alone while the run is active', async () => {
    let aborted: boolean | undefined;
    const wf = workflow('signal-live').step('s', { accepts: [StartEvent] }, async (_ev, ctx) => {
      await Promise.resolve();
      aborted = ctx.signal.aborted;
      return StopEvent.of({});
    });
    await wf.run().result;
    expect(aborted).toBe(false);
  });
});

describe('ctx.send', () => {
  it('routes the event with the step as its source', async () => {
    const wf = workflow('send')
      .step('a', { accepts: [StartEvent] }, (_ev, ctx) => {
        ctx.send(Ping.of('hi'));
      })
      .step('b', { accepts: [Ping] }, (ev) => StopEvent.of({ result: ev.data }));
    const run = wf.run();
    await expect(run.result).resolves.toBe('hi');
    const ping = ofKind(await historyOf(run), 'event_routed').find((e) => e.event.type === 'Ping');
    expect(ping).toMatchObject({ source: 'a', steps: ['b'] });
  });

  it('routes an event sent after the handler returned', async () => {
    let later: StepContext | undefined;
    const wf = workflow('send-later')
      .step('a', { accepts: [StartEvent] }, (_ev, ctx) => {
        later = ctx;
      })
      .step('b', { accepts: [Next] }, () => StopEvent.of({ result: 'sent late' }));
    const run = wf.run();
    await whenKind(run, 'step_completed');
    expect(run.status).toBe('running');
    later?.send(Next.of(null));
    await expect(run.result).resolves.toBe('sent late');
    const next = ofKind(await historyOf(run), 'event_routed').find((e) => e.event.type === 'Next');
    expect(next).toMatchObject({ source: 'a', steps: ['b'] });
  });

  it('is ignored once the run has ended', async () => {
    let later: StepContext | undefined;
    const wf = workflow('send-after-end').step('a', { accepts: [StartEvent, Ping] }, (_ev, ctx) => {
      later = ctx;
      return StopEvent.of({ result: 'done' });
    });
    const run = wf.run();
    await run.result;
    const before = await historyOf(run);
    expect(() => later?.send(Ping.of(1))).not.toThrow();
    expect(await historyOf(run)).toEqual(before);
    expect(run.status).toBe('completed');
  });
});

describe('ctx.write', () => {
  it('publishes the event as a stream RunEvent without routing it', async () => {
    const wf = workflow('write').step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.write(Progress.of({ pct: 50 }));
      ctx.write({ type: 'Unrouted', data: 'nobody accepts this' });
      return StopEvent.of({ result: 'ok' });
    });
    const run = wf.run();
    await expect(run.result).resolves.toBe('ok');
    const events = await historyOf(run);
    expect(ofKind(events, 'stream').map((e) => e.event)).toEqual([
      { type: 'Progress', data: { pct: 50 } },
      { type: 'Unrouted', data: 'nobody accepts this' },
    ]);
    expect(ofKind(events, 'event_routed').map((e) => e.event.type)).toEqual(['StartEvent', 'StopEvent']);
  });

  it('orders stream events with the rest of the run', async () => {
    const wf = workflow('write-order').step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.write(Progress.of({ pct: 1 }));
      return StopEvent.of({});
    });
    const run = wf.run();
    await run.result;
    const kinds = (await historyOf(run)).map((e) => e.kind);
    expect(kinds.indexOf('stream')).toBeGreaterThan(kinds.indexOf('step_started'));
    expect(kinds.indexOf('stream')).toBeLessThan(kinds.indexOf('run_completed'));
  });
});

describe('ctx.state', () => {
  it('shares state across steps with get, set and update', async () => {
    const wf = workflow('state')
      .step('a', { accepts: [StartEvent] }, (_ev, ctx) => {
        ctx.state.set('count', 1);
        ctx.state.set('tags', ['x']);
        return Ping.of(null);
      })
      .step('b', { accepts: [Ping] }, (_ev, ctx) => {
        const next = ctx.state.update<number>('count', (n) => (n ?? 0) + 1);
        ctx.state.update<string[]>('tags', (tags) => [...(tags ?? []), 'y']);
        return StopEvent.of({ result: { next, count: ctx.state.get('count'), tags: ctx.state.get('tags') } });
      });
    await expect(wf.run().result).resolves.toEqual({ next: 2, count: 2, tags: ['x', 'y'] });
  });

  it('reads what was just set, synchronously', async () => {
    const wf = workflow('state-sync').step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      const before = ctx.state.get('k');
      ctx.state.set('k', { deep: [1, 'two', null, true] });
      return StopEvent.of({ result: [before, ctx.state.get('k')] });
    });
    await expect(wf.run().result).resolves.toEqual([undefined, { deep: [1, 'two', null, true] }]);
  });

  it('passes the current value to update, undefined for a new key (again at commit, on the value current then)', async () => {
    const seen: unknown[] = [];
    const wf = workflow('state-update').step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.state.update('n', (v) => {
        seen.push(v);
        return 10;
      });
      ctx.state.update('n', (v) => {
        seen.push(v);
        return 11;
      });
      return StopEvent.of({ result: ctx.state.get('n') });
    });
    await expect(wf.run().result).resolves.toBe(11);
    expect(seen).toEqual([undefined, 10, undefined, 10]);
  });

  it('is seeded by the run option state', async () => {
    const wf = workflow('state-seed').step('s', { accepts: [StartEvent] }, (_ev, ctx) =>
      StopEvent.of({ result: ctx.state.get('user') }),
    );
    await expect(wf.run(null, { state: { user: { name: 'ada' } } }).result).resolves.toEqual({ name: 'ada' });
  });

  it('is separate for each run of the same workflow', async () => {
    const wf = workflow('state-per-run').step('s', { accepts: [StartEvent] }, (ev, ctx) => {
      const n = ctx.state.update<number>('n', (v) => (v ?? 0) + 1);
      return StopEvent.of({ result: [ev.data, n] });
    });
    const [a, b] = await Promise.all([wf.run('a').result, wf.run('b').result]);
    expect([a, b]).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
  });

  it.each([
    ['a function', () => 1],
    ['a Map', new Map([['k', 1]])],
    ['a Date', new Date(0)],
    ['a class instance', new (class Point { x = 1 })()],
    ['a bigint', 10n],
    ['a symbol', Symbol('s')],
    ['NaN', Number.NaN],
    ['a nested function', { ok: 1, nested: { fn: () => 1 } }],
  ])('rejects %s, which is not a JSON value, with a WorkflowError', async (_label, value) => {
    let thrown: unknown;
    const wf = workflow('state-non-json').step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      try {
        ctx.state.set('bad', value);
      } catch (error) {
        thrown = error;
      }
      return StopEvent.of({ result: ctx.state.get('bad') });
    });
    await expect(wf.run().result).resolves.toBeUndefined();
    expect(thrown).toBeInstanceOf(WorkflowError);
  });

  it('rejects a non-JSON value returned by update, keeping the old value', async () => {
    let thrown: unknown;
    const wf = workflow('state-update-non-json').step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.state.set('k', 1);
      try {
        ctx.state.update('k', () => new Set([1]));
      } catch (error) {
        thrown = error;
      }
      return StopEvent.of({ result: ctx.state.get('k') });
    });
    await expect(wf.run().result).resolves.toBe(1);
    expect(thrown).toBeInstanceOf(WorkflowError);
  });
});

describe('ctx.signal', () => {
  it('is aborted when the run fails', async () => {
    let signal: AbortSignal | undefined;
    let release: (() => void) | undefined;
    const wf = workflow('signal-on-fail')
      .step('waits', { accepts: [StartEvent] }, (_ev, ctx) => {
        signal = ctx.signal;
        return new Promise<undefined>((resolve) => (release = () => resolve(undefined)));
      })
      .step('breaks', { accepts: [StartEvent] }, async () => {
        await Promise.resolve();
        throw new Error('broken');
      });
    await expect(wf.run().result).rejects.toMatchObject({ code: 'step_failed', step: 'breaks' });
    expect(signal?.aborted).toBe(true);
    release?.();
  });

  it('is aborted when the run is aborted', async () => {
    let signal: AbortSignal | undefined;
    const wf = workflow('signal-on-abort').step('waits', { accepts: [StartEvent] }, (_ev, ctx) => {
      signal = ctx.signal;
      return new Promise<undefined>(() => {});
    });
    const run = wf.run();
    await whenKind(run, 'step_started');
    expect(signal?.aborted).toBe(false);
    run.abort('stop');
    expect(signal?.aborted).toBe(true);
  });
});
