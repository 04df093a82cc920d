import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';
import { kinds$, letters$, outcome$, virtualTime } from 'sluice/testing';

const Work = event('Work', z.object({ n: z.number() }));

describe('sluice/testing', () => {
  it('runs a whole workflow in virtual time with marble step bodies and asserts its outcome frame', () => {
    const vt = virtualTime((a, b) => expect(a).toEqual(b));
    const wf = workflow('vt')
      .step('split', { accepts: [StartEvent] }, vt.marble('--(a|)', { a: Work.of({ n: 1 }) }))
      .step('work', { accepts: [Work] }, vt.marble('-------(s|)', { s: StopEvent.of({ result: 'ok' }) }));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('---------(c|)', { c: 'completed' });
      // An Observable step's emissions are routed as they come, so 'work' starts before 'split' completes.
      expectObservable(kinds$(run, { s: 'step_started', c: 'step_completed', e: 'run_completed' })).toBe('s-(sc)---(ce|)');
    });
  });

  it('reports a step timeout at the exact frame with its code', () => {
    const vt = virtualTime((a, b) => expect(a).toEqual(b));
    const wf = workflow('vt-timeout').step('slow', { accepts: [StartEvent], timeout: 4 }, vt.marble('--------(s|)', {
      s: StopEvent.of({ result: 1 }),
    }));
    vt.run(({ expectObservable }) => {
      expectObservable(outcome$(vt.start(wf))).toBe('----(t|)', { t: 'step_timeout' });
    });
  });
});

describe('letters$', () => {
  it('maps RunEvents to letters with a function, skipping undefined', () => {
    const vt = virtualTime((a, b) => expect(a).toEqual(b));
    let calls = 0;
    const wf = workflow('flaky').step('fetch', { accepts: [StartEvent], retry: { retries: 2, delay: 3 } }, () =>
      ++calls < 3 ? vt.scheduler.createColdObservable('#', {}, new Error('no')) : vt.marble('(s|)', { s: StopEvent.of({}) })(),
    );
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(letters$(run, (e) => (e.kind === 'step_started' ? String(e.attempt) : undefined))).toBe('1--2--(3|)');
    });
  });
});
