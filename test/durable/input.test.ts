import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  event,
  InputRequestEvent,
  InputResponseEvent,
  StartEvent,
  StopEvent,
  workflow,
  type RunEvent,
  type RunStatus,
} from 'sluice';

const newScheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));
const Ping = event('Ping', z.object({ n: z.number() }));

const approval = (calls: string[] = []) =>
  workflow('approval', { timeout: 100 })
    .step('ask', { accepts: [StartEvent] }, async (ev, ctx) => {
      calls.push(`ask:${ctx.invocationId}`);
      const answer = await ctx.requestInput<string>(`approve ${String(ev.data)}?`, { metadata: { by: 'ops' } });
      return StopEvent.of({ result: `${String(ev.data)}:${answer}` });
    });

const tick = () => new Promise((r) => setImmediate(r));

describe('ctx.requestInput', () => {
  it('parks the run as waiting with a stable request id and resolves on respond()', async () => {
    const run = approval().run('deploy');
    const events: RunEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    await tick();
    expect(run.status).toBe('waiting');
    const requested = events.find((e) => e.kind === 'input_requested');
    const started = events.find((e) => e.kind === 'step_started');
    expect(requested).toMatchObject({
      requestId: `${started?.kind === 'step_started' ? started.invocationId : ''}:1`,
      prompt: 'approve deploy?',
      metadata: { by: 'ops' },
    });
    const id = requested?.kind === 'input_requested' ? requested.requestId : '';
    expect(run.snapshot().waiting).toEqual([{ kind: 'input', requestId: id, prompt: 'approve deploy?', metadata: { by: 'ops' } }]);
    run.respond(id, 'yes');
    expect(await run.result).toBe('deploy:yes');
    expect(events.map((e) => e.kind)).toContain('input_received');
  });

  it('throws unknown_request for an unknown or already answered id', async () => {
    const run = approval().run('x');
    await tick();
    expect(() => run.respond('nope', 1)).toThrowError(expect.objectContaining({ code: 'unknown_request' }));
    const id = run.snapshot().waiting[0]?.requestId as string;
    run.respond(id, 'ok');
    expect(() => run.respond(id, 'again')).toThrowError(expect.objectContaining({ code: 'unknown_request' }));
    await run.result;
    expect(() => run.respond(id, 'late')).toThrowError(expect.objectContaining({ code: 'not_running' }));
  });

  it('survives the process: a waiting snapshot resumed elsewhere re-runs the step up to the call and gets the answer', async () => {
    const calls: string[] = [];
    const first = approval(calls).run('db');
    await tick();
    const snap = JSON.parse(JSON.stringify(first.snapshot()));
    first.abort('process exit');
    expect(snap.status).toBe('waiting');
    expect(snap.inFlight).toHaveLength(1);

    const resumed = approval(calls).resume(snap);
    expect(resumed.status).toBe('waiting');
    const id = snap.waiting[0].requestId;
    resumed.respond(id, 'approved'); // answered before the re-delivered step reached the call: kept
    expect(await resumed.result).toBe('db:approved');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toBe(calls[1]); // same invocationId on re-delivery
  });

  it('does not count waiting time against the workflow timeout', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush, cold }) => {
      const wf = workflow('slow-human', { scheduler, timeout: 10 })
        .step('ask', { accepts: [StartEvent] }, () => InputRequestEvent.of({ requestId: 'r1', prompt: 'go?' }))
        .step('go', { accepts: [InputResponseEvent] }, (ev) => cold('---(a|)', { a: StopEvent.of({ result: ev.data.response }) }));
      const run = wf.run();
      const statuses: RunStatus[] = [];
      run.status$.subscribe((s) => statuses.push(s));
      scheduler.schedule(() => run.respond('r1', 'late but fine'), 1_000);
      let result: unknown;
      run.result$.subscribe((r) => (result = r));
      flush();
      expect(result).toBe('late but fine');
      expect(statuses).toEqual(['running', 'waiting', 'running', 'completed']);
    });
  });

  it('keeps other events flowing while one invocation waits (status running)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush, cold }) => {
      const wf = workflow('mixed', { scheduler })
        .step('fan', { accepts: [StartEvent] }, () => [Ping.of({ n: 1 }), Ping.of({ n: 2 })])
        .step('ping', { accepts: [Ping] }, (ev, ctx) =>
          ev.data.n === 1
            ? ctx.requestInput('first?').then(() => undefined)
            : cold('-----(a|)', { a: InputRequestEvent.of({ requestId: 'later', prompt: 'p' }) }),
        );
      const run = wf.run();
      const seen: RunStatus[] = [];
      scheduler.schedule(() => seen.push(run.status), 3);
      scheduler.schedule(() => seen.push(run.status), 10);
      flush();
      expect(seen).toEqual(['running', 'waiting']);
      run.abort();
    });
  });

  it('fails an uncaught input deadline as step_failed caused by input_timeout; paused time does not count', async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const run = workflow('deadline', { timeout: null })
        .step('ask', { accepts: [StartEvent] }, (_ev, ctx) => ctx.requestInput('quick!', { timeout: 50 }).then(() => undefined))
        .run();
      let ended: RunEvent | undefined;
      run.events$.subscribe((e) => (ended = e));
      const outcome = run.result.catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(10);
      expect(run.status).toBe('waiting');
      await run.pause();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(run.status).toBe('paused');
      run.resume();
      await vi.advanceTimersByTimeAsync(39);
      expect(run.status).toBe('waiting');
      await vi.advanceTimersByTimeAsync(1);
      expect(await outcome).toMatchObject({ code: 'step_failed', step: 'ask', cause: { code: 'input_timeout' } });
      expect(ended).toMatchObject({ kind: 'run_failed', at: 1_050 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('an expired InputRequestEvent deadline fails the run with input_timeout', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const run = workflow('expiring', { scheduler })
        .step('ask', { accepts: [StartEvent] }, () => InputRequestEvent.of({ requestId: 'r', prompt: 'p', timeout: 30 }))
        .step('after', { accepts: [InputResponseEvent] }, () => StopEvent.of({ result: 1 }))
        .run();
      let error: unknown;
      run.result$.subscribe({ error: (e) => (error = e) });
      flush();
      expect(error).toMatchObject({ code: 'input_timeout' });
      expect(() => run.respond('r', 1)).toThrowError(expect.objectContaining({ code: 'not_running' }));
    });
  });
});

describe('respond() while paused', () => {
  it('is accepted at once and delivered to the parked step on resume', async () => {
    const log: string[] = [];
    const run = workflow('paused-answer')
      .step('ask', { accepts: [StartEvent] }, async (_ev, ctx) => {
        const answer = await ctx.requestInput<string>('go?');
        log.push(`got ${answer}`);
        return StopEvent.of({ result: answer });
      })
      .run();
    await tick();
    const id = run.snapshot().waiting[0]?.requestId as string;
    const paused = await run.pause();
    expect(paused.waiting.map((w) => w.requestId)).toEqual([id]);
    run.respond(id, 'yes');
    await tick();
    expect(log).toEqual([]); // nothing runs while paused
    const snap = run.snapshot();
    expect([snap.status, snap.waiting, snap.answered, snap.inFlight.length]).toEqual(['paused', [], { [id]: 'yes' }, 1]);
    run.resume();
    expect(await run.result).toBe('yes');
    expect(log).toEqual(['got yes']);
  });
});
