import { describe, expect, it } from 'vitest';
import { event, StartEvent, StopEvent, workflow, WorkflowError, type WorkflowOptions } from 'sluice';
import { virtualTime } from 'sluice/testing';

// DESIGN §6.2: a run never holds its process, however its steps answer. These tests assert orderings
// (a macrotask runs before the chain ends), never durations.

const Ping = event('Ping');
const Pong = event('Pong');

/** A ping-pong of `n` events (endless with n = Infinity); `async` steps resolve in microtasks. */
function chain(n: number, mode: 'async' | 'sync', options: WorkflowOptions = {}) {
  const next = (k: number, other: typeof Ping | typeof Pong) => (k >= n ? StopEvent.of({ result: k }) : other.of(k + 1));
  const num = (ev: { data: unknown }) => (typeof ev.data === 'number' ? ev.data : 0);
  return mode === 'async'
    ? workflow('chain', options)
        .step('ping', { accepts: [StartEvent, Pong] }, async (ev) => (StartEvent.is(ev) ? Ping.of(1) : next(num(ev), Ping)))
        .step('pong', { accepts: [Ping] }, async (ev) => next(num(ev), Pong))
    : workflow('chain', options)
        .step('ping', { accepts: [StartEvent, Pong] }, (ev) => (StartEvent.is(ev) ? Ping.of(1) : next(num(ev), Ping)))
        .step('pong', { accepts: [Ping] }, (ev) => next(num(ev), Pong));
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as WorkflowError);

describe('fairness (§6.2)', () => {
  it('a timer set elsewhere fires while a 20 000-event chain of microtask steps runs', async () => {
    const run = chain(20_000, 'async').run(0);
    let statusWhenTimerFired: string | undefined;
    setTimeout(() => (statusWhenTimerFired = run.status), 10);
    expect(await run.result).toBe(20_000);
    expect(statusWhenTimerFired).toBe('running');
  });

  it('a timer fires while a chain of synchronous steps runs', async () => {
    const run = chain(20_000, 'sync').run(0);
    let statusWhenTimerFired: string | undefined;
    setTimeout(() => (statusWhenTimerFired = run.status), 0);
    expect(await run.result).toBe(20_000);
    expect(statusWhenTimerFired).toBe('running');
  });

  it('abort() called from a setTimeout ends an endless chain of microtask steps', async () => {
    const run = chain(Number.POSITIVE_INFINITY, 'async').run(0);
    setTimeout(() => run.abort('enough'), 20);
    const error = await failure(run.result);
    expect(error?.code).toBe('aborted');
    expect(run.status).toBe('aborted');
  });

  it('the workflow timeout ends an endless chain of microtask steps', async () => {
    const run = chain(Number.POSITIVE_INFINITY, 'async', { timeout: 30 }).run(0);
    const error = await failure(run.result);
    expect(error?.code).toBe('timeout');
  });

  it('under an injected scheduler the yields go through it: virtual time stays exact', () => {
    const vt = virtualTime((a, b) => expect(a).toEqual(b));
    vt.run(({ expectObservable }) => {
      const run = vt.start(chain(5_000, 'sync'));
      // 5 000 dispatches, several budgets' worth of yields, all within frame 0.
      expectObservable(run.result$).toBe('(r|)', { r: 5_000 });
    });
  });
});
