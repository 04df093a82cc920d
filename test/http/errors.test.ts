import { describe, expect, it } from 'vitest';
import { WorkflowError } from 'sluice';
import { HttpError } from 'sluice/http';
import { toHttpError } from '../../src/http/errors.js';

describe('toHttpError', () => {
  it('maps WorkflowError codes to HTTP statuses', () => {
    const status = (code: WorkflowError['code']) => toHttpError(new WorkflowError(code, 'x')).status;
    expect({
      unknown_request: status('unknown_request'),
      invalid_event: status('invalid_event'),
      invalid_snapshot: status('invalid_snapshot'),
      not_found: status('not_found'),
      not_running: status('not_running'),
      store_conflict: status('store_conflict'),
      snapshot_version: status('snapshot_version'),
      store_failed: status('store_failed'),
      step_failed: status('step_failed'),
    }).toEqual({
      unknown_request: 400,
      invalid_event: 400,
      invalid_snapshot: 400,
      not_found: 404,
      not_running: 409,
      store_conflict: 409,
      snapshot_version: 409,
      store_failed: 503,
      step_failed: 500,
    });
  });

  it('keeps the code, message and details in the body', () => {
    const body = toHttpError(new WorkflowError('store_conflict', 'taken', { details: { runId: 'r' } })).toBody();
    expect(body).toEqual({ error: { code: 'store_conflict', message: 'taken', details: { runId: 'r' } } });
  });

  it('hides anything else behind a 500 internal_error', () => {
    const http = toHttpError(new Error('password=hunter2'));
    expect(http).toBeInstanceOf(HttpError);
    expect([http.status, http.toBody()]).toEqual([500, { error: { code: 'internal_error', message: 'internal error' } }]);
  });
});
