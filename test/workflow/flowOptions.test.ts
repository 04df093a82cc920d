import { describe, expect, it } from 'vitest';
import { WorkflowError } from 'sluice';
import { resolveFlow } from '../../src/workflow/flowOptions.js';

// DESIGN §6.3 step options; §6.6 "Validation at the edges".

const key = (ev: { data: unknown }) => String(ev.data);

function refusal(options: Parameters<typeof resolveFlow>[2]): WorkflowError {
  try {
    resolveFlow('shop', 'charge', options);
  } catch (error) {
    return error as WorkflowError;
  }
  throw new Error('expected a refusal');
}

describe('resolveFlow', () => {
  it('resolves no options to an unlimited step without keys, rate or debounce', () => {
    expect(resolveFlow('shop', 'charge', {})).toEqual({ concurrency: Infinity, concurrencyKey: undefined, rateLimit: undefined, debounce: undefined });
  });

  it('resolves a number, a keyed limit, a rate window and a debounce', () => {
    expect(resolveFlow('shop', 'charge', { concurrency: 3 }).concurrency).toBe(3);
    const flow = resolveFlow('shop', 'charge', {
      concurrency: { limit: 1, key },
      rateLimit: { limit: 10, interval: 60_000 },
      debounce: { ms: 0, key },
    });
    expect(flow).toEqual({
      concurrency: 1,
      concurrencyKey: key,
      rateLimit: { limit: 10, interval: 60_000, key: undefined },
      debounce: { ms: 0, key },
    });
  });

  it.each([
    [{ concurrency: 0 }, '`concurrency` must be a number >= 1 (or { limit, key })'],
    [{ concurrency: Number.NaN }, '`concurrency` must be a number >= 1'],
    [{ concurrency: 'two' }, '`concurrency` must be a number >= 1 or { limit, key }'],
    [{ concurrency: { limit: 1.5, key } }, '`concurrency.limit` must be a whole number >= 1'],
    [{ concurrency: { limit: 2 } }, '`concurrency.key` must be a function'],
    [{ concurrency: { limit: 2, key, max: 3 } }, "`concurrency` has an unknown field 'max'"],
    [{ rateLimit: { limit: 0, interval: 10 } }, '`rateLimit.limit` must be a whole number >= 1'],
    [{ rateLimit: { limit: 1, interval: 0 } }, '`rateLimit.interval` must be a number of ms > 0'],
    [{ rateLimit: { limit: 1, interval: Infinity } }, '`rateLimit.interval` must be a number of ms > 0'],
    [{ rateLimit: { limit: 1, intervalMs: 10 } }, "`rateLimit` has an unknown field 'intervalMs'"],
    [{ rateLimit: { limit: 1, interval: 10, key: 'customer' } }, '`rateLimit.key` must be a function'],
    [{ rateLimit: 5 }, '`rateLimit` must be { limit, interval, key? }'],
    [{ debounce: { ms: -1 } }, '`debounce.ms` must be a number of ms >= 0'],
    [{ debounce: { ms: 2 ** 31 } }, '`debounce.ms` must be a number of ms >= 0 and <= 2147483647'],
    [{ debounce: { ms: 5, key: 3 } }, '`debounce.key` must be a function'],
    [{ debounce: null }, '`debounce` must be { ms, key? }'],
  ])('refuses %j with invalid_workflow naming the step and the fix', (options, message) => {
    const error = refusal(options as never);
    expect(error).toBeInstanceOf(WorkflowError);
    expect(error.code).toBe('invalid_workflow');
    expect(error.step).toBe('charge');
    expect(error.message).toContain("workflow 'shop', step 'charge': ");
    expect(error.message).toContain(message);
  });
});
