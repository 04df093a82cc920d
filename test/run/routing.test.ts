import { bufferCount, firstValueFrom, map, toArray } from 'rxjs';
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
  type WorkflowEvent,
} from 'sluice';

// DESIGN §3.1 (routing), §3.2 (fan-in buffer), §5 "Steps of every kind".

const Ping = event('Ping');
const Item = event('Item', z.object({ n: z.number() }));
const Answer = event('Answer', z.object({ text: z.string() }));
const Done = event('Done');
const Orphan = event('Orphan');

const historyOf = (run: RunHandle<unknown>): Promise<RunEvent[]> => firstValueFrom(run.events$.pipe(toArray()));
const routed = (events: RunEvent[]): RunEventOf<'event_routed'>[] =>
  events.filter((e): e is RunEventOf<'event_routed'> => e.kind === 'event_routed');

describe('routing', () => {
  it('routes one event to every accepting step in registration order', async () => {
    const calls: string[] = [];
    const wf = workflow('fan-out')
      .step('first', { accepts: [StartEvent] }, () => {
        calls.push('first');
      })
      .step('unrelated', { accepts: [Ping] }, () => {
        calls.push('unrelated');
      })
      .step('second', { accepts: [StartEvent] }, () => {
        calls.push('second');
      })
      .step('third', { accepts: [StartEvent] }, () => {
        calls.push('third');
        return StopEvent.of({ result: 'done' });
      });

    const run = wf.run('go');
    await expect(run.result).resolves.toBe('done');
    expect(calls).toEqual(['first', 'second', 'third']);
    const start = routed(await historyOf(run)).find((e) => e.event.type === 'StartEvent');
    expect(start?.steps).toEqual(['first', 'second', 'third']);
  });

  it('gives every accepting step the same event object, deep-frozen', async () => {
    const seen: WorkflowEvent[] = [];
    let mutationError: unknown;
    const wf = workflow('frozen')
      .step('mutator', { accepts: [StartEvent] }, (ev) => {
        seen.push(ev);
        try {
          (ev.data as { nested: { list: number[] } }).nested.list.push(99);
        } catch (error) {
          mutationError = error;
        }
      })
      .step('reader', { accepts: [StartEvent] }, (ev) => {
        seen.push(ev);
        return StopEvent.of({ result: ev.data });
      });

    const run = wf.run({ nested: { list: [1, 2] } });
    await expect(run.result).resolves.toEqual({ nested: { list: [1, 2] } });
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    const ev = seen[0] as WorkflowEvent<{ nested: { list: number[] } }>;
    expect(Object.isFrozen(ev)).toBe(true);
    expect(Object.isFrozen(ev.data)).toBe(true);
    expect(Object.isFrozen(ev.data.nested)).toBe(true);
    expect(Object.isFrozen(ev.data.nested.list)).toBe(true);
    expect(mutationError).toBeInstanceOf(TypeError);
  });

  it('deep-freezes an event its sender froze on the top level only', async () => {
    const data = { list: [1] };
    let mutationError: unknown;
    const wf = workflow('shallow')
      .step('send', { accepts: [StartEvent] }, () => Object.freeze({ type: 'Ping', data }) as WorkflowEvent)
      .step('mutate', { accepts: [Ping] }, (ev) => {
        try {
          (ev.data as typeof data).list.push(2);
        } catch (error) {
          mutationError = error;
        }
        return StopEvent.of({ result: ev.data });
      });

    await expect(wf.run('go').result).resolves.toEqual({ list: [1] });
    expect(mutationError).toBeInstanceOf(TypeError);
    expect(Object.isFrozen(data.list)).toBe(true);
  });

  it('routes an event a step returned to the steps accepting its type', async () => {
    const wf = workflow('chain')
      .step('ask', { accepts: [StartEvent] }, (ev) => Answer.of({ text: String(ev.data) }))
      .step('shout', { accepts: [Answer] }, (ev) => StopEvent.of({ result: ev.data.text.toUpperCase() }));

    const run = wf.run('hello');
    await expect(run.result).resolves.toBe('HELLO');
    const events = routed(await historyOf(run));
    expect(events.map((e) => [e.event.type, e.steps])).toEqual([
      ['StartEvent', ['ask']],
      ['Answer', ['shout']],
      ['StopEvent', []],
    ]);
  });

  it('reports a StopEvent as routed to no step', async () => {
    const wf = workflow('stop-routed').step('s', { accepts: [StartEvent] }, () => StopEvent.of({ result: 7 }));
    const run = wf.run();
    await run.result;
    const stop = routed(await historyOf(run)).at(-1);
    expect(stop).toMatchObject({ kind: 'event_routed', event: { type: 'StopEvent', data: { result: 7 } }, steps: [] });
  });

  it('names the emitting step as the source, and none for the start event and run.send()', async () => {
    let sendFromOutside: (() => void) | undefined;
    const wf = workflow('sources', { timeout: null })
      .step('starter', { accepts: [StartEvent] }, () => {
        sendFromOutside?.();
        return Ping.of(1);
      })
      .step('pinged', { accepts: [Ping] }, (ev) => (ev.data === 2 ? StopEvent.of({ result: 'ok' }) : undefined));

    const run = wf.run();
    sendFromOutside = () => run.send(Ping.of(2));
    await expect(run.result).resolves.toBe('ok');
    const events = routed(await historyOf(run));
    const bySource = events.map((e) => [e.event.type, e.event.data, 'source' in e ? e.source : '(none)']);
    // run.send() inside the handler queues Ping 2 before the handler's own return value.
    expect(bySource).toEqual([
      ['StartEvent', undefined, '(none)'],
      ['Ping', 2, '(none)'],
      ['Ping', 1, 'starter'],
      ['StopEvent', { result: 'ok' }, 'pinged'],
    ]);
  });

  it('fails the run with no_handler when no step accepts a returned event', async () => {
    const wf = workflow('orphan').step('s', { accepts: [StartEvent] }, () => Orphan.of('lost'));
    const run = wf.run();
    await expect(run.result).rejects.toMatchObject({ code: 'no_handler' });
    await expect(run.result).rejects.toBeInstanceOf(WorkflowError);
    expect(run.status).toBe('failed');
    const history = await historyOf(run);
    expect(history.at(-1)).toMatchObject({ kind: 'run_failed', error: { code: 'no_handler' } });
    // The event nobody accepts is reported like any other, with no steps, before the run fails.
    expect(routed(history).map((e) => [e.event.type, e.steps])).toEqual([
      ['StartEvent', ['s']],
      ['Orphan', []],
    ]);
  });

  it('fails the run with no_handler when no step accepts an event sent from outside', async () => {
    const wf = workflow('orphan-sent', { timeout: null }).step('s', { accepts: [StartEvent] }, () => undefined);
    const run = wf.run();
    run.send(Orphan.of(1));
    await expect(run.result).rejects.toMatchObject({ code: 'no_handler' });
    expect(run.status).toBe('failed');
  });

  it('routes to .pipe steps as consumers, in registration order with regular steps', async () => {
    const logged: number[] = [];
    const wf = workflow('piped')
      .step('emit', { accepts: [StartEvent] }, () => [Item.of({ n: 1 }), Item.of({ n: 2 }), Item.of({ n: 3 })])
      .step('log', { accepts: [Item] }, (ev) => {
        logged.push(ev.data.n);
      })
      .pipe('batch', { accepts: [Item] }, (items$) =>
        items$.pipe(
          bufferCount(3),
          map((batch) => StopEvent.of({ result: batch.map((i) => i.data.n) })),
        ),
      );

    const run = wf.run();
    await expect(run.result).resolves.toEqual([1, 2, 3]);
    expect(logged).toEqual([1, 2, 3]);
    const items = routed(await historyOf(run)).filter((e) => e.event.type === 'Item');
    expect(items.map((e) => e.steps)).toEqual([
      ['log', 'batch'],
      ['log', 'batch'],
      ['log', 'batch'],
    ]);
  });
});

describe('fan-in with ctx.collect', () => {
  it('lets the handler of the n-th event collect n events, including its own', async () => {
    const seen: (number | undefined)[] = [];
    const wf = workflow('fan-in')
      .step('ask', { accepts: [StartEvent] }, () => [
        Answer.of({ text: 'a' }),
        Answer.of({ text: 'b' }),
        Answer.of({ text: 'c' }),
      ])
      .step('join', { accepts: [Answer], collects: [Answer] }, (_ev, ctx) => {
        const all = ctx.collect(Answer, 3);
        seen.push(all?.length);
        return all && StopEvent.of({ result: all.map((a) => a.data.text) });
      });

    const run = wf.run();
    await expect(run.result).resolves.toEqual(['a', 'b', 'c']);
    expect(seen).toEqual([undefined, undefined, 3]);
  });

  it('buffers the event before its own handler runs', async () => {
    const wf = workflow('own-event').step('s', { accepts: [StartEvent], collects: [StartEvent] }, (ev, ctx) => {
      const mine = ctx.collect(StartEvent, 1);
      return StopEvent.of({ result: { same: mine?.[0] === ev, data: mine?.[0]?.data } });
    });
    await expect(wf.run('in').result).resolves.toEqual({ same: true, data: 'in' });
  });

  it('removes the events it returns, so the next collect starts afresh', async () => {
    const wf = workflow('collect-removes').step('s', { accepts: [StartEvent], collects: [StartEvent] }, (_ev, ctx) => {
      const first = ctx.collect(StartEvent, 1);
      const again = ctx.collect(StartEvent, 1);
      return StopEvent.of({ result: [first?.length, again] });
    });
    await expect(wf.run().result).resolves.toEqual([1, undefined]);
  });

  it('buffers every routed event of a declared type, whichever steps it went to', async () => {
    const wf = workflow('collect-other-type')
      .step('emit', { accepts: [StartEvent] }, () => [Answer.of({ text: 'x' }), Answer.of({ text: 'y' }), Done.of(null)])
      .step('log', { accepts: [Answer] }, () => undefined)
      .step('join', { accepts: [Done], collects: [Answer] }, (_ev, ctx) => {
        const answers = ctx.collect(Answer, 2);
        return StopEvent.of({ result: answers?.map((a) => a.data.text) });
      });
    await expect(wf.run().result).resolves.toEqual(['x', 'y']);
  });

  it('returns undefined while fewer than n events of the type are buffered', async () => {
    const wf = workflow('collect-short').step('s', { accepts: [StartEvent], collects: [Answer, StartEvent] }, (_ev, ctx) =>
      StopEvent.of({ result: [ctx.collect(Answer, 1), ctx.collect(StartEvent, 2)] }),
    );
    await expect(wf.run().result).resolves.toEqual([undefined, undefined]);
  });
});
