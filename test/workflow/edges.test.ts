import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, WorkflowError } from 'sluice';

// Issue 20: a workflow's input, result and state schemas are checked at run time.

const Order = z.object({ id: z.string(), qty: z.number().default(1) });
const Shipped = event('Shipped', z.object({ id: z.string(), qty: z.number() }));

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return WorkflowError.is(e) ? [e.code, e.message] : ['not a WorkflowError', String(e)];
  }
  return ['no error', ''];
};

describe('input schema', () => {
  const ship = workflow('ship', { input: Order, result: z.string() })
    .step('take', { accepts: [StartEvent] }, (ev) => Shipped.of(ev.data))
    .step('done', { accepts: [Shipped] }, (ev) => StopEvent.of({ result: `${ev.data.qty}× ${ev.data.id}` }));

  it('gives handlers the parsed input (defaults applied)', async () => {
    await expect(ship.run({ id: 'a1' }).result).resolves.toBe('1× a1');
  });

  it('throws invalid_event at run() for an input that does not fit, naming the workflow and the field', () => {
    const [code, message] = codeOf(() => ship.run({ id: 7 } as never));
    expect(code).toBe('invalid_event');
    expect(message).toContain("workflow 'ship': run() input does not fit the workflow's input schema");
    expect(message).toContain('id');
  });
});

describe('result schema', () => {
  it('fails the run invalid_event, naming the step, when a StopEvent built with of() carries a result that does not fit', async () => {
    const wf = workflow('count', { result: z.number() }).step('stop', { accepts: [StartEvent] }, () => StopEvent.of({ result: 'three' }));
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect(error.code).toBe('invalid_event');
    expect(error.step).toBe('stop');
    expect(error.message).toContain("invalid data for event 'StopEvent'");
  });

  it('resolves with the parsed result when it fits', async () => {
    const wf = workflow('count-ok', { result: z.coerce.number() }).step('stop', { accepts: [StartEvent] }, () => StopEvent.of({ result: '3' }));
    await expect(wf.run().result).resolves.toBe(3);
  });
});

describe('state schema', () => {
  const State = z.object({ seen: z.number(), when: z.string().optional() });

  it('lets steps read and write values that fit', async () => {
    const wf = workflow('state-ok', { state: State }).step('count', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.state.set('seen', 1);
      return StopEvent.of({ result: ctx.state.update('seen', (n = 0) => n + 1) });
    });
    const run = wf.run(undefined, { state: { seen: 0 } });
    await expect(run.result).resolves.toBe(2);
    expect(run.snapshot().state).toEqual({ seen: 2 });
  });

  it('fails the run invalid_state, without retrying, when a step sets a value that does not fit', async () => {
    let attempts = 0;
    const wf = workflow('state-bad', { state: State }).step('count', { accepts: [StartEvent], retry: { retries: 2 } }, (_ev, ctx) => {
      attempts++;
      ctx.state.set('seen', 'one' as never);
    });
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect([error.code, attempts]).toEqual(['invalid_state', 1]);
    expect(error.message).toContain("ctx.state.set('seen'): 'seen' does not fit the workflow's state schema");
  });

  it('refuses a key the schema does not name, listing the keys', async () => {
    const wf = workflow('state-key', { state: State }).step('count', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.state.update('other' as never, () => 1 as never);
    });
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect(error.code).toBe('invalid_state');
    expect(error.message).toContain("has no key 'other'; add it to the schema (keys: seen, when)");
  });

  it('keeps the rest of the context working behind the checked state (signal, requestInput, send)', async () => {
    const Ping = event('Ping', z.object({ n: z.number() }));
    const wf = workflow('state-ctx', { state: State, timeout: null })
      .step('ask', { accepts: [StartEvent] }, async (_ev, ctx) => {
        const n = await ctx.requestInput<number>('how many?');
        ctx.state.set('seen', n);
        return Ping.of({ n }); // returned, not ctx.send: state commits with the outputs (§6.6)
      })
      .step('stop', { accepts: [Ping] }, (ev, ctx) => StopEvent.of({ result: [ev.data.n, ctx.state.get('seen'), ctx.signal.aborted] }));
    const run = wf.run();
    // Answered synchronously from the input_requested event (this answer used to be lost and the run hung).
    run.events$.subscribe((e) => e.kind === 'input_requested' && run.respond(e.requestId, 3));
    await expect(run.result).resolves.toEqual([3, 3, false]);
  });

  it('checks the state seed at run()', () => {
    const wf = workflow('state-seed', { state: State }).step('s', { accepts: [StartEvent] }, () => undefined);
    const [code, message] = codeOf(() => wf.run(undefined, { state: { seen: 'x' as never } }));
    expect(code).toBe('invalid_state');
    expect(message).toContain("workflow 'state-seed': run() state");
  });
});

describe('errors that name the fix', () => {
  it('says builder calls return a new workflow when a discarded .step() leaves no steps', () => {
    const wf = workflow('x');
    wf.step('s', { accepts: [StartEvent] }, () => undefined);
    const [code, message] = codeOf(() => wf.run());
    expect(code).toBe('invalid_workflow');
    expect(message).toContain('Builder calls return a new workflow');
    expect(message).toContain('wf = wf.step(');
  });

  it('names the key of a Date in ctx.state and says how to store it', async () => {
    const wf = workflow('dates').step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.state.set('when', new Date(0));
    });
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    const cause = error.cause as WorkflowError;
    expect(cause.message).toBe(
      "ctx.state.set('when'): when is a Date, which is not JSON; store date.toISOString() (or date.getTime()) instead (state is part of every snapshot)",
    );
    expect(cause.details).toEqual({ key: 'when', path: 'when' });
  });

  it('names a nested path and a Map', async () => {
    const wf = workflow('maps').step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.state.set('cache', { users: { byId: new Map() } });
    });
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect((error.cause as Error).message).toContain('cache.users.byId is a Map, which is not JSON; store Object.fromEntries(map)');
  });
});

describe('messages that say what changed', () => {
  const Page = event('Page', z.object({ url: z.string() }));

  it('lists the open request ids when respond() gets an unknown one', async () => {
    const wf = workflow('ask', { timeout: null }).step('ask', { accepts: [StartEvent] }, async (_ev, ctx) =>
      StopEvent.of({ result: await ctx.requestInput('ok?') }),
    );
    const run = wf.run();
    await new Promise<void>((done) => run.status$.subscribe((s) => s === 'waiting' && done()));
    const open = run.snapshot().waiting.map((w) => w.requestId);
    expect(open).toHaveLength(1);
    const [code, message] = codeOf(() => run.respond('nope', 'yes'));
    expect(code).toBe('unknown_request');
    expect(message).toContain(`no open input request 'nope' in run ${run.id}: the open ones are '${open[0]}'`);
    run.abort();
  });

  it('names the steps an old snapshot needs that changed, and the steps now, for snapshot_version', async () => {
    const v1 = workflow('crawl', { timeout: null })
      .step('split', { accepts: [StartEvent] }, () => Page.of({ url: 'a' }))
      .step('fetch', { accepts: [Page], concurrency: 1 }, async (_ev, ctx) => StopEvent.of({ result: await ctx.requestInput('go?') }));
    const run = v1.run();
    await new Promise<void>((done) => run.status$.subscribe((s) => s === 'waiting' && done()));
    const snapshot = await run.pause();
    run.abort();
    const v2 = workflow('crawl', { timeout: null })
      .step('split', { accepts: [StartEvent] }, () => Page.of({ url: 'a' }))
      .step('download', { accepts: [Page] }, () => StopEvent.of({ result: 'x' }));
    const [code, message] = codeOf(() => v2.resume(snapshot));
    expect(code).toBe('snapshot_version');
    expect(message).toContain('(steps now: split [StartEvent], download [Page])');
    expect(message).toContain("What it needs changed: step 'fetch' (running a Page) is gone. Pass { migrate }");
  });
});

describe('after the merge with the run loop rooms', () => {
  it('throws not_running from resume() after the end, like pause/send/respond, and keeps abort() a no-op', async () => {
    const run = workflow('ended').step('stop', { accepts: [StartEvent] }, () => StopEvent.of({ result: 1 })).run();
    await run.result;
    const [code, message] = codeOf(() => run.resume());
    expect(code).toBe('not_running');
    expect(message).toBe(`run ${run.id} has ended (completed); nothing to resume`);
    expect(codeOf(() => run.send(StartEvent.of(null)))[0]).toBe('not_running');
    expect(codeOf(() => run.abort('late'))[0]).toBe('no error');
    expect(run.status).toBe('completed');
  });

  it('names the step of an EventType.of validation failure inside it', async () => {
    const Strict = event('Strict', z.object({ n: z.number() }));
    const wf = workflow('of-step').step('build', { accepts: [StartEvent] }, () => Strict.of({ n: 'x' as unknown as number }));
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect([error.code, error.step, error.retryable]).toEqual(['invalid_event', 'build', false]);
    expect(error.message).toMatch(/^step 'build': invalid data for event 'Strict'/);
  });

  it('names the path of non-JSON metadata and the fix', () => {
    const run = workflow('meta', { timeout: null }).step('s', { accepts: [StartEvent] }, () => undefined).run();
    const [code, message] = codeOf(() => run.setMetadata('trace', { started: new Date(0) }));
    expect(code).toBe('invalid_snapshot');
    expect(message).toContain("run.setMetadata('trace'): trace.started is a Date, which is not JSON; store date.toISOString()");
    run.abort();
  });
});
