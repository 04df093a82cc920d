import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, NonRetryableError, StartEvent, StopEvent, workflow, WorkflowError, type RunEvent } from 'sluice';

const Item = event('Item', z.object({ n: z.number() }));

const retriedAttempts = async (events: Promise<RunEvent[]>) =>
  (await events).filter((e) => e.kind === 'step_retried').map((e) => (e as { attempt: number }).attempt);

describe('which step failures are retried', () => {
  it('skips the remaining attempts when a step throws NonRetryableError', async () => {
    let calls = 0;
    const run = workflow('non-retryable')
      .step('charge', { accepts: [StartEvent], retry: { retries: 3 } }, () => {
        calls++;
        throw new NonRetryableError('card number is malformed');
      })
      .run();
    const events = firstValueFrom(run.events$.pipe(toArray()));
    const error = await run.result.catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(WorkflowError.is(error) && error.code).toBe('step_failed');
    expect((error as WorkflowError).cause).toBeInstanceOf(NonRetryableError);
    expect(await retriedAttempts(events)).toEqual([]);
  });

  it('asks retryIf with the thrown value and retries only what it accepts', async () => {
    const seen: unknown[] = [];
    let calls = 0;
    const run = workflow('retry-if')
      .step(
        'flaky',
        { accepts: [StartEvent], retry: { retries: 5, retryIf: (e) => (seen.push(e), e instanceof RangeError) } },
        () => {
          calls++;
          if (calls < 3) throw new RangeError(`busy ${calls}`);
          throw new TypeError('bad input');
        },
      )
      .run();
    const events = firstValueFrom(run.events$.pipe(toArray()));
    const error = (await run.result.catch((e: unknown) => e)) as WorkflowError;
    expect(calls).toBe(3);
    expect(seen.map((e) => (e as Error).message)).toEqual(['busy 1', 'busy 2', 'bad input']);
    expect(error.code).toBe('step_failed');
    expect(error.message).toContain('bad input');
    expect(await retriedAttempts(events)).toEqual([1, 2]);
  });

  it('treats a throwing retryIf as "do not retry"', async () => {
    let calls = 0;
    const run = workflow('retry-if-throws')
      .step('flaky', { accepts: [StartEvent], retry: { retries: 2, retryIf: () => { throw new Error('oops'); } } }, () => {
        calls++;
        throw new Error('down');
      })
      .run();
    await expect(run.result).rejects.toMatchObject({ code: 'step_failed' });
    expect(calls).toBe(1);
  });

  it('still retries ordinary errors when no retryIf is given', async () => {
    let calls = 0;
    const run = workflow('retry-default')
      .step('flaky', { accepts: [StartEvent], retry: { retries: 2 } }, () => {
        calls++;
        if (calls < 3) throw new Error('down');
        return StopEvent.of({ result: calls });
      })
      .run();
    await expect(run.result).resolves.toBe(3);
  });
});

describe('bad payloads get one code however they are built', () => {
  it('fails invalid_event, without retrying, when a step builds a bad payload with EventType.of', async () => {
    let calls = 0;
    const run = workflow('of-in-step')
      .step('emit', { accepts: [StartEvent], retry: { retries: 3 } }, () => {
        calls++;
        return Item.of({ n: 'one' as unknown as number });
      })
      .step('take', { accepts: [Item] }, () => StopEvent.of({ result: 'never' }))
      .run();
    await expect(run.result).rejects.toMatchObject({ code: 'invalid_event' });
    expect(calls).toBe(1);
  });

  it('fails invalid_event when a step returns the same bad payload as a literal', async () => {
    const run = workflow('literal-in-step')
      .step('emit', { accepts: [StartEvent] }, () => ({ type: 'Item', data: { n: 'one' } }))
      .step('take', { accepts: [Item] }, () => StopEvent.of({ result: 'never' }))
      .run();
    await expect(run.result).rejects.toMatchObject({ code: 'invalid_event', step: 'emit' });
  });
});

describe('WorkflowError across copies of sluice', () => {
  it('recognises an error branded by another copy with is() and instanceof', () => {
    // What another copy's constructor leaves on its errors: the global brand, not our class.
    const foreign = Object.defineProperty(new Error('from elsewhere'), Symbol.for('sluice.WorkflowError'), { value: true });
    expect(WorkflowError.is(foreign)).toBe(true);
    expect(foreign instanceof WorkflowError).toBe(true);
    expect(WorkflowError.is(new Error('plain'))).toBe(false);
    expect(WorkflowError.is({ code: 'not_found' })).toBe(false);
    expect(WorkflowError.is(null)).toBe(false);
  });

  it('keeps the usual instanceof for subclasses', () => {
    expect(new WorkflowError('not_found', 'x') instanceof NonRetryableError).toBe(false);
    expect(new NonRetryableError('x') instanceof NonRetryableError).toBe(true);
    expect(new NonRetryableError('x') instanceof WorkflowError).toBe(true);
    expect(new NonRetryableError('x').retryable).toBe(false);
    expect(new WorkflowError('not_found', 'x').retryable).toBe(true);
  });
});
