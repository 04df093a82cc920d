import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  event,
  StartEvent,
  StopEvent,
  workflow,
  type DataOf,
  type EventOf,
  type EventType,
  type StepContext,
  type WorkflowEvent,
} from 'sluice';

// STYLE principle 9: what inference promises users.

const Query = event('Query', z.object({ text: z.string() }));
const Answer = event('Answer', z.object({ score: z.number() }));
const withDefault = z.object({ n: z.number().default(1) });
const Defaulted = event('Defaulted', withDefault);
const length = z.string().transform((s) => s.length);
const Length = event('Length', length);

describe('EventType inference', () => {
  it('keeps the literal type name', () => {
    expectTypeOf(Query.type).toEqualTypeOf<'Query'>();
    expectTypeOf(Query).toExtend<EventType<{ text: string }, 'Query'>>();
  });

  it('gives of() the schema’s data type and returns a typed event', () => {
    expectTypeOf(Query.of).parameter(0).toEqualTypeOf<{ text: string }>();
    expectTypeOf(Query.of({ text: 'x' })).toEqualTypeOf<WorkflowEvent<{ text: string }, 'Query'>>();
    // @ts-expect-error text must be a string
    Query.of({ text: 1 });
    // @ts-expect-error text is required
    Query.of({});
  });

  it('lets of() take the schema’s input type, so defaults may be left out', () => {
    expectTypeOf(Defaulted.of).parameter(0).toEqualTypeOf<z.input<typeof withDefault>>();
    expectTypeOf(Length.of).parameter(0).toEqualTypeOf<string>();
  });

  it('types the data of an event without schema as unknown', () => {
    const Ping = event('Ping');
    expectTypeOf(Ping.of).parameter(0).toEqualTypeOf<unknown>();
    expectTypeOf(Ping.type).toEqualTypeOf<'Ping'>();
  });

  it('narrows with is()', () => {
    const value: unknown = { type: 'Query', data: { text: 'x' } };
    if (Query.is(value)) {
      expectTypeOf(value.data).toEqualTypeOf<{ text: string }>();
      expectTypeOf(value.type).toEqualTypeOf<'Query'>();
    }
  });

  it('extracts data and event types with DataOf and EventOf', () => {
    expectTypeOf<DataOf<typeof Query>>().toEqualTypeOf<{ text: string }>();
    expectTypeOf<EventOf<typeof Query>>().toEqualTypeOf<WorkflowEvent<{ text: string }, 'Query'>>();
    expectTypeOf<DataOf<typeof Length>>().toEqualTypeOf<number>();
  });

  it('types the built-ins', () => {
    expectTypeOf(StartEvent.type).toEqualTypeOf<'StartEvent'>();
    expectTypeOf(StopEvent.type).toEqualTypeOf<'StopEvent'>();
    StopEvent.of({ result: 1 });
    StopEvent.of({});
  });
});

describe('handler inference', () => {
  it('flows an EventType’s data type into ev.data in the handler', () => {
    workflow('t').step('s', { accepts: [Query] }, (ev, ctx) => {
      expectTypeOf(ev.data).toEqualTypeOf<{ text: string }>();
      expectTypeOf(ev.type).toEqualTypeOf<'Query'>();
      expectTypeOf(ctx).toEqualTypeOf<StepContext>();
    });
  });

  it('gives the handler the schema’s output type', () => {
    workflow('t').step('s', { accepts: [Defaulted, Length] }, (ev) => {
      if (ev.type === 'Defaulted') expectTypeOf(ev.data).toEqualTypeOf<{ n: number }>();
      else expectTypeOf(ev.data).toEqualTypeOf<number>();
    });
  });

  it('gives a step accepting several types a union it can narrow by type', () => {
    workflow('t').step('s', { accepts: [Query, Answer] }, (ev) => {
      expectTypeOf(ev).toEqualTypeOf<WorkflowEvent<{ text: string }, 'Query'> | WorkflowEvent<{ score: number }, 'Answer'>>();
      if (ev.type === 'Answer') expectTypeOf(ev.data).toEqualTypeOf<{ score: number }>();
      if (Query.is(ev)) expectTypeOf(ev.data.text).toEqualTypeOf<string>();
    });
  });

  it('types an event accepted by bare name as unknown data with that name', () => {
    workflow('t').step('s', { accepts: ['Raw'] }, (ev) => {
      expectTypeOf(ev).toEqualTypeOf<WorkflowEvent<unknown, 'Raw'>>();
    });
  });

  it('types StartEvent data as unknown', () => {
    workflow('t').step('s', { accepts: [StartEvent] }, (ev) => {
      expectTypeOf(ev.data).toEqualTypeOf<unknown>();
    });
  });

  it('types ctx.collect by the EventType it is given', () => {
    workflow('t').step('s', { accepts: [Answer], collects: [Answer] }, (_ev, ctx) => {
      expectTypeOf(ctx.collect(Answer, 2)).toEqualTypeOf<WorkflowEvent<{ score: number }, 'Answer'>[] | undefined>();
    });
  });

  it('accepts every documented handler result', () => {
    workflow('t')
      .step('event', { accepts: [StartEvent] }, () => Query.of({ text: 'x' }))
      .step('array', { accepts: [StartEvent] }, () => [Query.of({ text: 'x' }), Answer.of({ score: 1 })])
      .step('nothing', { accepts: [StartEvent] }, () => {})
      .step('promise', { accepts: [StartEvent] }, async () => StopEvent.of({ result: 1 }));
  });

  it('rejects a handler returning something that is not an event', () => {
    // @ts-expect-error a number is not an event
    workflow('t').step('s', { accepts: [StartEvent] }, () => 42);
  });

  it('types the run result by the workflow’s result parameter', () => {
    const wf = workflow<string>('typed').step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: 'x' }));
    expectTypeOf(wf.run().result).toEqualTypeOf<Promise<string>>();
  });
});
