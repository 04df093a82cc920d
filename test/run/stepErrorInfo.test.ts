import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StartEvent, StopEvent, workflow, type RunEvent } from 'sluice';

const eventsOf = async (wf: ReturnType<typeof workflow>, input: unknown = null) => {
  const run = wf.run(input);
  run.result.catch(() => undefined);
  return lastValueFrom(run.events$.pipe(toArray()));
};
const ofKind = <K extends RunEvent['kind']>(events: RunEvent[], kind: K) => events.filter((e): e is Extract<RunEvent, { kind: K }> => e.kind === kind);

describe('step errors in RunEvents', () => {
  it('step_failed carries the thrown error’s stack and its cause, run_failed stays { code, message, step }', async () => {
    const wf = workflow('pay').step('charge', { accepts: [StartEvent] }, () => {
      throw new Error('card declined', { cause: new TypeError('issuer unavailable (503)') });
    });
    const events = await eventsOf(wf);
    const [failed] = ofKind(events, 'step_failed');
    expect(failed!.error).toMatchObject({ code: 'step_failed', message: "step 'charge' failed: card declined", step: 'charge' });
    expect(failed!.error.cause).toEqual({ name: 'TypeError', message: 'issuer unavailable (503)' });
    expect(failed!.error.stack).toMatch(/^Error: card declined\n\s+at /);
    expect(ofKind(events, 'run_failed')[0]!.error).toEqual({ code: 'step_failed', message: "step 'charge' failed: card declined", step: 'charge' });
  });

  it('bounds the stack and the cause', async () => {
    const wf = workflow('big').step('s', { accepts: [StartEvent] }, () => {
      const error = new Error('x'.repeat(10_000), { cause: 'y'.repeat(5_000) });
      throw error;
    });
    const [failed] = ofKind(await eventsOf(wf), 'step_failed');
    expect(failed!.error.stack!.length).toBe(4_096);
    expect(failed!.error.cause).toEqual({ name: 'string', message: 'y'.repeat(1_000) });
  });

  it('step_retried carries each failed attempt’s stack; a thrown non-Error adds nothing', async () => {
    let attempt = 0;
    const wf = workflow('flaky').step('s', { accepts: [StartEvent], retry: { retries: 2 } }, () => {
      attempt++;
      if (attempt === 1) throw new RangeError('first');
      if (attempt === 2) throw 'a string'; // eslint-disable-line no-throw-literal
      return StopEvent.of({ result: attempt });
    });
    const retried = ofKind(await eventsOf(wf), 'step_retried');
    expect(retried.map((r) => r.error.stack?.split('\n')[0])).toEqual(['RangeError: first', undefined]);
    expect(retried[1]!.error).toEqual({ code: 'step_failed', message: 'a string' });
  });
});
