import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, runWorkflow, StartEvent, StopEvent, workflow } from 'sluice';
import { virtualTime } from 'sluice/testing';

const Echo = event('Echo', z.object({ text: z.string() }));

/** A workflow whose run takes as many frames as its input has characters, and returns it upper-cased. */
function echo(vt: ReturnType<typeof virtualTime>) {
  return workflow('echo', { scheduler: vt.scheduler })
    .step('start', { accepts: [StartEvent] }, (ev) => Echo.of({ text: String(ev.data) }))
    .step('slow', { accepts: [Echo] }, (ev) =>
      vt.scheduler.createColdObservable(`${'-'.repeat(ev.data.text.length)}(s|)`, {
        s: StopEvent.of({ result: ev.data.text === 'boom' ? undefined : ev.data.text.toUpperCase() }),
      }),
    )
    .step('fail', { accepts: ['Never'] }, () => undefined);
}

describe('runWorkflow', () => {
  const setup = () => virtualTime((a, b) => expect(a).toEqual(b));

  it('completes at once for an empty source', () => {
    const vt = setup();
    vt.run(({ cold, expectObservable }) => {
      expectObservable(cold<string>('|').pipe(runWorkflow(echo(vt)))).toBe('|');
    });
  });

  it('maps one input to its result at the frame the run completes', () => {
    const vt = setup();
    vt.run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: 'abc' }).pipe(runWorkflow(echo(vt)))).toBe('---(r|)', { r: 'ABC' });
    });
  });

  it('runs many inputs at once, results in completion order', () => {
    const vt = setup();
    vt.run(({ cold, expectObservable }) => {
      const inputs = cold('(abc|)', { a: 'xxxx', b: 'y', c: 'zz' });
      expectObservable(inputs.pipe(runWorkflow(echo(vt)))).toBe('-bc-(a|)', { a: 'XXXX', b: 'Y', c: 'ZZ' });
    });
  });

  it('starts no more than `concurrency` runs at once', () => {
    const vt = setup();
    vt.run(({ cold, expectObservable }) => {
      const inputs = cold('(abc|)', { a: 'xx', b: 'yy', c: 'zz' });
      expectObservable(inputs.pipe(runWorkflow(echo(vt), { concurrency: 1 }))).toBe('--a-b-(c|)', {
        a: 'XX',
        b: 'YY',
        c: 'ZZ',
      });
    });
  });

  it('passes a source error through', () => {
    const vt = setup();
    vt.run(({ cold, expectObservable }) => {
      expectObservable(cold<string>('-#', {}, 'bad').pipe(runWorkflow(echo(vt)))).toBe('-#', {}, 'bad');
    });
  });

  it('keeps running for a never-ending source', () => {
    const vt = setup();
    vt.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-', { a: 'q' }).pipe(runWorkflow(echo(vt)))).toBe('-r-', { r: 'Q' });
    });
  });

  it('aborts runs in flight on early unsubscribe', () => {
    const vt = setup();
    const abortedAt: number[] = [];
    const wf = workflow('abortable', { scheduler: vt.scheduler }).step('s', { accepts: [StartEvent] }, (_ev, ctx) => {
      ctx.signal.addEventListener('abort', () => abortedAt.push(vt.scheduler.now()));
      return vt.scheduler.createColdObservable('----------(s|)', { s: StopEvent.of({ result: 1 }) });
    });
    vt.run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: 1 }).pipe(runWorkflow(wf)), '^--!').toBe('---');
    });
    expect(abortedAt).toEqual([3]);
  });

  it('errors with the run’s WorkflowError when a run fails', () => {
    const vt = setup();
    const failing = workflow('failing', { scheduler: vt.scheduler }).step('s', { accepts: [StartEvent] }, () => {
      throw new Error('nope');
    });
    vt.run(({ cold, expectObservable }) => {
      const result$ = cold('a|', { a: 1 }).pipe(runWorkflow(failing));
      expectObservable(result$).toBe(
        '#',
        {},
        expect.objectContaining({ code: 'step_failed', message: "step 's' failed: nope" }),
      );
    });
  });
});
