import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type RunHandle, type Workflow, type WorkflowEvent } from 'sluice';

// Issue 20: a workflow's input, result and state schemas type its edges.

const Order = z.object({ id: z.string(), qty: z.number().default(1) });
const Shipped = event('Shipped', z.object({ id: z.string() }));

describe('typed edges', () => {
  it("types StartEvent's data in handlers with the input schema's output", () => {
    workflow('typed-in', { input: Order }).step('take', { accepts: [StartEvent] }, (ev) => {
      expectTypeOf(ev).toEqualTypeOf<WorkflowEvent<{ id: string; qty: number }, 'StartEvent'>>();
      return Shipped.of({ id: ev.data.id });
    });
    workflow('typed-in-name', { input: Order }).step('take', { accepts: ['StartEvent', Shipped] }, (ev) => {
      if (ev.type === 'StartEvent') expectTypeOf(ev.data).toEqualTypeOf<{ id: string; qty: number }>();
      else expectTypeOf(ev.data).toEqualTypeOf<{ id: string }>();
    });
  });

  it("types StartEvent's data in flow-control keys as in the handler", () => {
    workflow('typed-key', { input: Order }).step(
      'take',
      {
        accepts: [StartEvent, Shipped],
        concurrency: { limit: 1, key: (ev) => ev.data.id },
        rateLimit: {
          limit: 10,
          interval: 1000,
          key: (ev) => {
            expectTypeOf(ev).toEqualTypeOf<WorkflowEvent<{ id: string; qty: number }, 'StartEvent'> | WorkflowEvent<{ id: string }, 'Shipped'>>();
            return ev.data.id;
          },
        },
        // @ts-expect-error a key is a string: the order's qty is a number
        debounce: { ms: 10, key: (ev) => (ev.type === 'StartEvent' ? ev.data.qty : ev.data.id) },
      },
      () => undefined,
    );
  });

  it("types run()'s argument with the input schema's input, and requires it", () => {
    const wf = workflow('typed-run', { input: Order }).step('s', { accepts: [StartEvent] }, () => undefined);
    wf.run({ id: 'a' }); // qty has a default
    wf.run({ id: 'a', qty: 2 }, { runId: 'r1' });
    // @ts-expect-error id must be a string
    wf.run({ id: 1 });
    // @ts-expect-error the input is required
    wf.run();
  });

  it('types run.result with the result schema', () => {
    const wf = workflow('typed-result', { result: z.number() }).step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: 1 }));
    expectTypeOf(wf.run().result).toEqualTypeOf<Promise<number>>();
    expectTypeOf(wf.run()).toEqualTypeOf<RunHandle<number>>();
  });

  it('types ctx.state get/set/update and the state seed with the state schema', () => {
    const wf = workflow('typed-state', { state: z.object({ seen: z.number(), tags: z.array(z.string()) }) }).step(
      's',
      { accepts: [StartEvent] },
      (_ev, ctx) => {
        expectTypeOf(ctx.state.get('seen')).toEqualTypeOf<number | undefined>();
        expectTypeOf(ctx.state.update('seen', (n = 0) => n + 1)).toEqualTypeOf<number>();
        ctx.state.set('tags', ['a']);
        // @ts-expect-error seen is a number
        ctx.state.set('seen', 'one');
        // @ts-expect-error no such key in the schema
        ctx.state.set('other', 1);
      },
    );
    wf.run(undefined, { state: { seen: 1 } });
    // @ts-expect-error tags are strings
    wf.run(undefined, { state: { tags: [1] } });
  });

  it('keeps untyped workflows and workflow<R>() as before', () => {
    const wf = workflow<string>('untyped').step('s', { accepts: [StartEvent] }, (ev, ctx) => {
      expectTypeOf(ev.data).toEqualTypeOf<unknown>();
      expectTypeOf(ctx.state.get<number>('n')).toEqualTypeOf<number | undefined>();
      ctx.state.set('anything', { a: 1 });
    });
    expectTypeOf(wf.run().result).toEqualTypeOf<Promise<string>>();
    wf.run('any input', { state: { x: 1 } });
    expectTypeOf(workflow('plain').run).parameters.toEqualTypeOf<[input?: unknown, options?: { state?: Partial<Record<string, unknown>>; runId?: string; replay?: number }]>();
  });

  it('lets a typed workflow go where a Workflow<any> is expected', () => {
    const typed = workflow('typed-any', { input: Order, result: z.number(), state: z.object({ n: z.number() }) });
    const anyWorkflow: Workflow<any> = typed;
    const list: Workflow<any>[] = [typed, workflow('other')];
    expectTypeOf(anyWorkflow.name).toEqualTypeOf<string>();
    expectTypeOf(list).toEqualTypeOf<Workflow<any>[]>();
  });
});
