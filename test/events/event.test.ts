import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, InputRequestEvent, InputResponseEvent, isEvent, StartEvent, StopEvent, WorkflowError } from 'sluice';
import { jsonProblem } from '../../src/events/json.js';

// DESIGN §2 "Events".

const Query = event('Query', z.object({ text: z.string() }));

function thrownBy(fn: () => unknown): WorkflowError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowError);
    return error as WorkflowError;
  }
  throw new Error('expected a synchronous throw');
}

describe('event()', () => {
  it('exposes its type and schema', () => {
    const schema = z.object({ n: z.number() });
    const Count = event('Count', schema);
    expect(Count.type).toBe('Count');
    expect(Count.schema).toBe(schema);
    expect(event('Ping').schema).toBeUndefined();
  });

  it('builds a plain JSON event { type, data } with of()', () => {
    const ev = Query.of({ text: 'hi' });
    expect(ev).toEqual({ type: 'Query', data: { text: 'hi' } });
    expect(Object.keys(ev).sort()).toEqual(['data', 'type']);
    expect(JSON.parse(JSON.stringify(ev))).toEqual(ev);
  });

  it('throws invalid_event from of() when the data does not fit the schema', () => {
    const error = thrownBy(() => Query.of({ text: 1 } as unknown as { text: string }));
    expect(error.code).toBe('invalid_event');
  });

  it('keeps the data the schema parsed', () => {
    const Trimmed = event('Trimmed', z.object({ s: z.string().trim() }));
    expect(Trimmed.of({ s: '  x  ' }).data).toEqual({ s: 'x' });
  });

  it('accepts any data when there is no schema', () => {
    const Ping = event('Ping');
    expect(Ping.of(undefined)).toEqual({ type: 'Ping', data: undefined });
    expect(Ping.of([1, 'two'])).toEqual({ type: 'Ping', data: [1, 'two'] });
  });

  describe('is()', () => {
    it('recognises events of its type built with of() or by hand', () => {
      expect(Query.is(Query.of({ text: 'a' }))).toBe(true);
      expect(Query.is({ type: 'Query', data: { text: 'b' } })).toBe(true);
    });

    it('rejects events of another type', () => {
      expect(Query.is({ type: 'Answer', data: { text: 'a' } })).toBe(false);
    });

    it('rejects events of its type whose data does not fit the schema', () => {
      expect(Query.is({ type: 'Query', data: { text: 3 } })).toBe(false);
    });

    it('rejects values that are not events', () => {
      for (const value of [null, undefined, 42, 'Query', [], { data: { text: 'a' } }]) {
        expect(Query.is(value)).toBe(false);
      }
    });
  });
});

describe('isEvent()', () => {
  it('accepts objects shaped { type: string, data }', () => {
    expect(isEvent({ type: 'X', data: 1 })).toBe(true);
    expect(isEvent(StartEvent.of('in'))).toBe(true);
  });

  it('rejects anything else', () => {
    for (const value of [null, undefined, 0, 'X', { data: 1 }, { type: 3, data: 1 }]) {
      expect(isEvent(value)).toBe(false);
    }
  });
});

describe('built-in events', () => {
  it('StartEvent carries the run input as data', () => {
    expect(StartEvent.type).toBe('StartEvent');
    expect(StartEvent.of({ any: 'thing' })).toEqual({ type: 'StartEvent', data: { any: 'thing' } });
  });

  it('StopEvent carries { result }, which may be left out', () => {
    expect(StopEvent.type).toBe('StopEvent');
    expect(StopEvent.of({ result: [1] })).toEqual({ type: 'StopEvent', data: { result: [1] } });
    expect(StopEvent.of({}).data).toEqual({});
  });

  it('StopEvent takes exactly what its schema takes, however its data is built (checked without zod for a plain object)', () => {
    class Box {
      result = 1;
    }
    const bare = Object.assign(Object.create(null) as object, { result: 'bare' });
    const data = fc.oneof(
      fc.jsonValue(),
      fc.record({ result: fc.jsonValue() }, { requiredKeys: [] }),
      fc.dictionary(fc.string(), fc.jsonValue()),
      fc.constantFrom<unknown>(bare, new Box(), [{ result: 1 }], { result: Number.NaN }, { result: undefined }, { result: new Date(0) }),
    );
    fc.assert(
      fc.property(data, (value) => {
        const parsed = StopEvent.schema?.safeParse(value);
        expect(StopEvent.is({ type: 'StopEvent', data: value })).toBe(parsed?.success === true);
        let built: { data: unknown } | undefined;
        let error: WorkflowError | undefined;
        try {
          built = StopEvent.of(value as never);
        } catch (thrown) {
          error = thrown as WorkflowError;
        }
        if (parsed?.success !== true || error !== undefined) {
          // Refused by the schema, or accepted by it but not JSON (a NaN or a Date inside).
          expect(error?.code).toBe('invalid_event');
          expect(parsed?.success === true && jsonProblem(parsed.data, { allowUndefined: true }) === undefined).toBe(false);
        } else {
          expect(built?.data).toEqual(parsed.data);
          expect(StopEvent.is(built)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('InputRequestEvent needs a requestId and a prompt', () => {
    expect(InputRequestEvent.type).toBe('InputRequestEvent');
    expect(InputRequestEvent.of({ requestId: 'r1', prompt: 'ok?' }).data).toEqual({ requestId: 'r1', prompt: 'ok?' });
    expect(
      InputRequestEvent.of({ requestId: 'r1', prompt: 'ok?', metadata: { a: 1 } }).data,
    ).toEqual({ requestId: 'r1', prompt: 'ok?', metadata: { a: 1 } });
    expect(thrownBy(() => InputRequestEvent.of({ prompt: 'ok?' } as never)).code).toBe('invalid_event');
  });

  it('InputResponseEvent carries { requestId, response }', () => {
    expect(InputResponseEvent.type).toBe('InputResponseEvent');
    expect(InputResponseEvent.of({ requestId: 'r1', response: 'yes' })).toEqual({
      type: 'InputResponseEvent',
      data: { requestId: 'r1', response: 'yes' },
    });
  });
});
