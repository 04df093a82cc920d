import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, WorkflowError, type WorkflowEvent } from 'sluice';

/** `[[[…]]]` nested `depth` levels, built without recursion. */
function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** The code of what `fn` throws (synchronously), failing the test if it throws anything but a WorkflowError. */
function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowError);
    return (error as WorkflowError).code;
  }
  return undefined;
}

const echo = workflow('edges-echo', { timeout: null }).step('s', { accepts: [StartEvent] }, (ev) => StopEvent.of({ result: ev.data }));

describe('run ids that could never be stored', () => {
  it.each([
    ['empty', ''],
    ['a lone high surrogate', 'run-\ud800'],
    ['a lone low surrogate', '\udc00-run'],
    ['over 128 characters', 'r'.repeat(129)],
    ['over 192 characters percent-encoded', 'é'.repeat(40)],
    ['a slash', 'orders/7'],
    ['a backslash', 'orders\\7'],
    ['a control character', 'run\n1'],
    ['a dot-dot', '..'],
  ])('refuses %s at wf.run() with invalid_argument', (_what, runId) => {
    expect(thrownCode(() => echo.run('x', { runId }))).toBe('invalid_argument');
  });

  it('refuses a run id that is not a string', () => {
    expect(thrownCode(() => echo.run('x', { runId: 42 as unknown as string }))).toBe('invalid_argument');
  });

  it('accepts ids of letters, digits, punctuation and well-formed non-ASCII', async () => {
    for (const runId of ['order-7', 'a.b_c:d@e', 'r'.repeat(128), 'été 🚀', '550e8400-e29b-41d4-a716-446655440000']) {
      const run = echo.run(runId, { runId });
      expect(run.id).toBe(runId);
      await expect(run.result).resolves.toBe(runId);
    }
  });
});

describe('timeouts and delays', () => {
  const bad = [Number.NaN, Number.POSITIVE_INFINITY, -1, '100' as unknown as number];

  it.each(bad)('refuses a workflow timeout of %s with invalid_workflow at run()', (timeout) => {
    const wf = workflow('edges-timeout', { timeout }).step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: 1 }));
    expect(thrownCode(() => wf.run())).toBe('invalid_workflow');
  });

  it.each(bad)('refuses a step timeout of %s with invalid_workflow when the step is declared', (timeout) => {
    expect(thrownCode(() => workflow('w').step('s', { accepts: [StartEvent], timeout }, () => undefined))).toBe('invalid_workflow');
  });

  it('refuses bad retry policies when the step is declared', () => {
    const step = (retry: unknown) => () => workflow('w').step('s', { accepts: [StartEvent], retry: retry as never }, () => undefined);
    expect(thrownCode(step({ retries: 1.5 }))).toBe('invalid_workflow');
    expect(thrownCode(step({ retries: -1 }))).toBe('invalid_workflow');
    expect(thrownCode(step({ retries: 2, delay: Number.NaN }))).toBe('invalid_workflow');
    expect(thrownCode(step({ retries: 2, delay: -5 }))).toBe('invalid_workflow');
    expect(thrownCode(step({ retries: 2, delay: 10, maxDelay: Number.POSITIVE_INFINITY }))).toBe('invalid_workflow');
    expect(thrownCode(step({ retries: 2, backoff: 'linear' }))).toBe('invalid_workflow');
    expect(thrownCode(step({ retries: 2, delay: 10, backoff: 'exponential', maxDelay: 100 }))).toBeUndefined();
  });

  it('refuses bad timeouts of sub-workflow steps and parallel branches', () => {
    expect(thrownCode(() => workflow('w').subworkflow('c', { accepts: [StartEvent], workflow: echo, timeout: Number.NaN }))).toBe('invalid_workflow');
    expect(
      thrownCode(() => workflow('w').parallel('p', { accepts: [StartEvent], join: 'all', branches: [{ workflow: echo, retry: { retries: 1, delay: -1 } }] })),
    ).toBe('invalid_workflow');
  });

  it('accepts a zero timeout and one beyond a timer range', () => {
    expect(thrownCode(() => workflow('w').step('s', { accepts: [StartEvent], timeout: 0 }, () => undefined))).toBeUndefined();
    expect(thrownCode(() => workflow('w').step('s', { accepts: [StartEvent], timeout: 30 * 86_400_000 }, () => undefined))).toBeUndefined();
  });
});

describe('ctx.requestInput arguments', () => {
  const asking = (ask: (ctx: { requestInput: (p: unknown, o?: unknown) => Promise<unknown> }) => Promise<unknown>) =>
    workflow('edges-ask', { timeout: null }).step('s', { accepts: [StartEvent] }, async (_ev, ctx) => {
      await ask(ctx as never);
      return StopEvent.of({ result: 'asked' });
    });

  it.each([
    ['a number prompt', (ctx: any) => ctx.requestInput(42)],
    ['an undefined prompt', (ctx: any) => ctx.requestInput(undefined)],
    ['an object prompt', (ctx: any) => ctx.requestInput({ text: 'hi' })],
    ['a NaN timeout', (ctx: any) => ctx.requestInput('ok?', { timeout: Number.NaN })],
    ['an Infinity timeout', (ctx: any) => ctx.requestInput('ok?', { timeout: Number.POSITIVE_INFINITY })],
    ['a negative timeout', (ctx: any) => ctx.requestInput('ok?', { timeout: -1 })],
    ['non-JSON metadata', (ctx: any) => ctx.requestInput('ok?', { metadata: { at: new Date(0) } })],
  ])('fails the step with invalid_argument for %s, instead of parking a run that cannot be resumed', async (_what, ask) => {
    const run = asking(ask).run();
    const error = await run.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'step_failed', cause: { code: 'invalid_argument' } });
    expect(run.snapshot().waiting).toEqual([]);
  });
});

describe('non-JSON data is refused where it enters', () => {
  it.each([
    ['a Date', new Date(0)],
    ['a function inside', { f: () => 1 }],
    ['NaN inside', { n: Number.NaN }],
    ['a bigint', 1n],
    ['a Map', new Map()],
    ['a cycle', (() => {
      const a: Record<string, unknown> = {};
      a['self'] = a;
      return a;
    })()],
  ])('as run input (%s): invalid_event at wf.run()', (_what, input) => {
    expect(thrownCode(() => echo.run(input))).toBe('invalid_event');
  });

  it('as seed state: invalid_snapshot at wf.run()', () => {
    expect(thrownCode(() => echo.run('x', { state: { when: new Date() } }))).toBe('invalid_snapshot');
    expect(thrownCode(() => echo.run('x', { state: [1] as never }))).toBe('invalid_argument');
  });

  it('in events built with .of() and plain events sent to a run', async () => {
    const Ping = event('Ping');
    const Typed = event('Typed', z.object({ at: z.unknown() }));
    expect(thrownCode(() => Ping.of(new Date()))).toBe('invalid_event');
    expect(thrownCode(() => Typed.of({ at: new Date() }))).toBe('invalid_event');
    expect(thrownCode(() => Ping.of({ a: undefined, b: [undefined] }))).toBeUndefined(); // JSON leaves them out / null

    const waits = workflow('edges-send', { timeout: null })
      .step('s', { accepts: [StartEvent] }, async (_ev, ctx) => {
        await ctx.requestInput('go?');
        return undefined;
      })
      .step('p', { accepts: [Ping] }, () => StopEvent.of({ result: 'pinged' }));
    const run = waits.run();
    expect(thrownCode(() => run.send({ type: 'Ping', data: { n: Number.POSITIVE_INFINITY } }))).toBe('invalid_event');
    run.send({ type: 'Ping', data: { n: 1 } });
    await expect(run.result).resolves.toBe('pinged');
  });

  it('in events a step returns or writes: the run fails with a coded error', async () => {
    const returns = workflow('edges-returns').step('s', { accepts: [StartEvent] }, () => ({ type: 'StopEvent', data: { result: new Set([1]) } }));
    await expect(returns.run().result).rejects.toMatchObject({ code: 'invalid_event' });
    const writes = workflow('edges-writes').step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.write({ type: 'Progress', data: { fn: () => 1 } } as WorkflowEvent);
      return StopEvent.of({ result: 1 });
    });
    await expect(writes.run().result).rejects.toMatchObject({ code: 'step_failed', cause: { code: 'invalid_event' } });
  });

  it('as an answer to an input request: invalid_argument at respond(), the request stays open', async () => {
    const wf = workflow('edges-answer', { timeout: null }).step('s', { accepts: [StartEvent] }, async (_ev, ctx) =>
      StopEvent.of({ result: await ctx.requestInput('name?') }),
    );
    const run = wf.run();
    await new Promise((r) => setTimeout(r, 0));
    const [request] = run.snapshot().waiting;
    expect(thrownCode(() => run.respond(request!.requestId, { when: new Date() }))).toBe('invalid_argument');
    expect(run.snapshot().waiting.map((w) => w.requestId)).toEqual([request!.requestId]);
    run.respond(request!.requestId, 'ada');
    await expect(run.result).resolves.toBe('ada');
  });
});

describe('deeply nested values', () => {
  const deep = nested(100_000);

  it('as run input: a WorkflowError, never a RangeError', () => {
    expect(thrownCode(() => echo.run(deep))).toBe('invalid_event');
    expect(thrownCode(() => echo.run(nested(256)))).toBeUndefined();
  });

  it('in events and event types with schemas', () => {
    const Tree = event('Tree', z.array(z.unknown()));
    expect(thrownCode(() => Tree.of(deep as unknown[]))).toBe('invalid_event');
    const Loose = event('Loose', z.json());
    expect(thrownCode(() => Loose.of(deep as never))).toBe('invalid_event');
    expect(Loose.is({ type: 'Loose', data: deep })).toBe(false);
  });

  it('as state or an answer', async () => {
    expect(thrownCode(() => echo.run('x', { state: { tree: deep } }))).toBe('invalid_snapshot');
    const wf = workflow('edges-deep', { timeout: null }).step('s', { accepts: [StartEvent] }, async (_ev, ctx) => {
      const answer = await ctx.requestInput('tree?');
      ctx.state.set('tree', deep);
      return StopEvent.of({ result: answer });
    });
    const run = wf.run();
    await new Promise((r) => setTimeout(r, 0));
    const id = run.snapshot().waiting[0]!.requestId;
    expect(thrownCode(() => run.respond(id, deep))).toBe('invalid_argument');
    run.respond(id, 'flat');
    await expect(run.result).rejects.toMatchObject({ code: 'step_failed', cause: { code: 'invalid_snapshot' } });
  });
});
