import { firstValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, WorkflowError, type RunEvent, type RunHandle, type Workflow } from 'sluice';

// DESIGN §2 "Validation", §5 "Throw or reject", "emits", "End of run" (ctx.send is checked against emits).

const Query = event('Query', z.object({ text: z.string() }));
const Answer = event('Answer', z.object({ text: z.string() }));
const Other = event('Other');

const historyOf = (run: RunHandle<unknown>): Promise<RunEvent[]> => firstValueFrom(run.events$.pipe(toArray()));

/** The error `fn` throws synchronously (fails the test if it does not throw). */
function thrownBy(fn: () => unknown): WorkflowError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowError);
    return error as WorkflowError;
  }
  throw new Error('expected a synchronous throw');
}

describe('workflow validation', () => {
  const invalid: [string, () => Workflow][] = [
    ['has no steps', () => workflow('empty')],
    [
      'has two steps with the same name',
      () =>
        workflow('dupes')
          .step('same', { accepts: [StartEvent] }, () => undefined)
          .step('same', { accepts: [Query] }, () => undefined),
    ],
    [
      'has a step and a pipe step with the same name',
      () =>
        workflow('dupes-across-kinds')
          .step('same', { accepts: [StartEvent] }, () => undefined)
          .pipe('same', { accepts: [Query] }, (q$) => q$),
    ],
    ['has no step accepting StartEvent', () => workflow('no-start').step('s', { accepts: [Query] }, () => undefined)],
  ];

  it.each(invalid)('throws invalid_workflow synchronously from run() when the workflow %s', (_label, build) => {
    expect(thrownBy(() => build().run('x')).code).toBe('invalid_workflow');
  });

  it.each(invalid)('throws invalid_workflow from validate() when the workflow %s', (_label, build) => {
    expect(thrownBy(() => build().validate()).code).toBe('invalid_workflow');
  });

  it('starts no step when run() throws', () => {
    let called = false;
    const wf = workflow('no-start-called').step('s', { accepts: [Query] }, () => {
      called = true;
    });
    expect(() => wf.run()).toThrow(WorkflowError);
    expect(called).toBe(false);
  });

  it('accepts a workflow whose only StartEvent consumer is a pipe step', async () => {
    const wf = workflow('pipe-start').pipe('p', { accepts: [StartEvent] }, (start$) =>
      start$.pipe(() => of(StopEvent.of({ result: 'piped' }))),
    );
    expect(() => wf.validate()).not.toThrow();
    await expect(wf.run().result).resolves.toBe('piped');
  });

  it('returns the workflow from validate() when it is valid', () => {
    const wf = workflow('ok').step('s', { accepts: [StartEvent] }, () => undefined);
    expect(wf.validate()).toBe(wf);
  });

  it('accepts StartEvent given by name', async () => {
    const wf = workflow('by-name').step('s', { accepts: ['StartEvent'] }, (ev) => StopEvent.of({ result: ev.data }));
    await expect(wf.run(3).result).resolves.toBe(3);
  });
});

describe('run.send()', () => {
  const waiting = () => workflow('send-target', { timeout: null }).step('s', { accepts: [StartEvent, Query] }, () => undefined);

  it.each([
    ['a number', 42],
    ['null', null],
    ['a string', 'Query'],
    ['an object without type', { data: { text: 'x' } }],
  ])('throws invalid_event synchronously for %s', (_label, value) => {
    const run = waiting().run();
    expect(thrownBy(() => run.send(value as never)).code).toBe('invalid_event');
    expect(run.status).toBe('running');
    run.abort();
  });

  it('throws invalid_event synchronously for a plain event whose data fails the accepting step’s schema', () => {
    const run = waiting().run();
    expect(thrownBy(() => run.send({ type: 'Query', data: { text: 1 } })).code).toBe('invalid_event');
    run.abort();
  });

  it('routes a plain event whose data fits the schema', async () => {
    const wf = workflow('send-plain', { timeout: null })
      .step('s', { accepts: [StartEvent] }, () => undefined)
      .step('q', { accepts: [Query] }, (ev) => StopEvent.of({ result: ev.data.text }));
    const run = wf.run();
    run.send({ type: 'Query', data: { text: 'plain' } });
    await expect(run.result).resolves.toBe('plain');
  });
});

describe('invalid events from steps', () => {
  it('fails the run with invalid_event naming the step when a returned plain event fails the accepting step’s schema', async () => {
    let consumed = false;
    const wf = workflow('bad-plain')
      .step('producer', { accepts: [StartEvent] }, () => ({ type: 'Query', data: { text: 42 } }))
      .step('consumer', { accepts: [Query] }, () => {
        consumed = true;
        return StopEvent.of({});
      });
    const run = wf.run();
    const error = (await run.result.catch((e: unknown) => e)) as WorkflowError;
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error.code).toBe('invalid_event');
    expect(error.step).toBe('producer');
    expect(consumed).toBe(false);
    expect(run.status).toBe('failed');
    expect((await historyOf(run)).at(-1)).toMatchObject({ kind: 'run_failed', error: { code: 'invalid_event', step: 'producer' } });
  });

  it('delivers a valid plain event with its data parsed by the schema', async () => {
    const Count = event('Count', z.object({ n: z.coerce.number() }));
    const wf = workflow('parsed-plain')
      .step('producer', { accepts: [StartEvent] }, () => ({ type: 'Count', data: { n: '7' } }))
      .step('consumer', { accepts: [Count] }, (ev) => StopEvent.of({ result: ev.data.n }));
    await expect(wf.run().result).resolves.toBe(7);
  });

  it('fails the run with invalid_event naming the step when a returned event is not in its emits', async () => {
    const wf = workflow('emits-return')
      .step('ask', { accepts: [StartEvent], emits: [Query] }, () => Other.of(1))
      .step('other', { accepts: [Other] }, () => StopEvent.of({}));
    const run = wf.run();
    const error = (await run.result.catch((e: unknown) => e)) as WorkflowError;
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error.code).toBe('invalid_event');
    expect(error.step).toBe('ask');
    const routed = (await historyOf(run)).filter((e) => e.kind === 'event_routed').map((e) => (e as { event: { type: string } }).event.type);
    expect(routed).toEqual(['StartEvent']);
  });

  it('fails the run with invalid_event naming the step when ctx.send breaks its emits', async () => {
    const wf = workflow('emits-send')
      .step('ask', { accepts: [StartEvent], emits: [Query] }, (_ev, ctx) => {
        ctx.send(Other.of(1));
      })
      .step('other', { accepts: [Other] }, () => StopEvent.of({}));
    const error = (await wf.run().result.catch((e: unknown) => e)) as WorkflowError;
    expect(error.code).toBe('invalid_event');
    expect(error.step).toBe('ask');
  });

  it('fails the run with invalid_event when an Observable emission breaks the step’s emits', async () => {
    const wf = workflow('emits-observable')
      .step('ask', { accepts: [StartEvent], emits: [Query] }, () => of(Query.of({ text: 'ok' }), Other.of(2)))
      .step('q', { accepts: [Query] }, () => undefined)
      .step('other', { accepts: [Other] }, () => StopEvent.of({}));
    await expect(wf.run().result).rejects.toMatchObject({ code: 'invalid_event', step: 'ask' });
  });

  it('treats a StopEvent outside emits as undeclared too', async () => {
    const wf = workflow('emits-stop').step('s', { accepts: [StartEvent], emits: [Query] }, () => StopEvent.of({ result: 1 }));
    await expect(wf.run().result).rejects.toMatchObject({ code: 'invalid_event', step: 's' });
  });

  it('lets a step emit what it declares, by EventType or by name', async () => {
    const wf = workflow('emits-ok')
      .step('ask', { accepts: [StartEvent], emits: [Query, 'Answer'] }, () => [Query.of({ text: 'q' }), Answer.of({ text: 'a' })])
      .step('q', { accepts: [Query] }, () => undefined)
      .step('a', { accepts: [Answer], emits: [StopEvent] }, (ev) => StopEvent.of({ result: ev.data.text }));
    await expect(wf.run().result).resolves.toBe('a');
  });
});
