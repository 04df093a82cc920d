import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, Workflow, WorkflowError } from 'sluice';

// DESIGN §2 "Workflow (immutable builder; each call returns a new workflow)".

const Query = event('Query', z.object({ text: z.string() }));

describe('workflow builder', () => {
  it('returns a new workflow from every step() call and leaves the original unchanged', async () => {
    const base = workflow('base');
    const one = base.step('start', { accepts: [StartEvent] }, () => Query.of({ text: 'one' }));
    const a = one.step('answer', { accepts: [Query] }, (ev) => StopEvent.of({ result: `a:${ev.data.text}` }));
    const b = one.step('answer', { accepts: [Query] }, (ev) => StopEvent.of({ result: `b:${ev.data.text}` }));

    expect(one).toBeInstanceOf(Workflow);
    expect(one).not.toBe(base);
    expect(a).not.toBe(one);
    expect(() => base.validate()).toThrow(WorkflowError);
    await expect(a.run().result).resolves.toBe('a:one');
    await expect(b.run().result).resolves.toBe('b:one');
    await expect(one.run().result.catch((e: WorkflowError) => e.code)).resolves.toBe('no_handler');
  });

  it('returns a new workflow from withOptions() and leaves the original’s options alone', () => {
    const wf = workflow('opts', { timeout: 1_000 }).step('s', { accepts: [StartEvent] }, () => undefined);
    const other = wf.withOptions({ history: false });
    expect(other).not.toBe(wf);
    expect(other.options).toEqual({ timeout: 1_000, history: false });
    expect(wf.options).toEqual({ timeout: 1_000 });
  });

  it('keeps its name', () => {
    expect(workflow('named').name).toBe('named');
  });

  it('runs the same workflow many times, each run with its own id', async () => {
    const wf = workflow('again').step('s', { accepts: [StartEvent] }, (ev) => StopEvent.of({ result: ev.data }));
    const first = wf.run(1);
    const second = wf.run(2);
    expect(first.id).not.toBe(second.id);
    await expect(Promise.all([first.result, second.result])).resolves.toEqual([1, 2]);
  });

  it('uses the runId run option as the run id', () => {
    const wf = workflow('ids').step('s', { accepts: [StartEvent] }, () => StopEvent.of({}));
    const run = wf.run(null, { runId: 'my-run' });
    expect(run.id).toBe('my-run');
    run.abort();
  });

  it('passes the run input as the StartEvent data and in run_started', async () => {
    const wf = workflow('input').step('s', { accepts: [StartEvent] }, (ev) => StopEvent.of({ result: ev.data }));
    const run = wf.run({ q: 'x' });
    const first = await new Promise((resolve) => run.events$.subscribe((e) => e.seq === 1 && resolve(e)));
    expect(first).toMatchObject({ kind: 'run_started', workflow: 'input', input: { q: 'x' } });
    await expect(run.result).resolves.toEqual({ q: 'x' });
  });
});

describe('workflow version', () => {
  const shape = () =>
    workflow('v')
      .step('start', { accepts: [StartEvent] }, () => undefined)
      .step('answer', { accepts: [Query] }, () => undefined);

  it('is the same for two workflows of the same shape', () => {
    expect(shape().version).toBe(shape().version);
    expect(typeof shape().version).toBe('string');
  });

  it('ignores options and handlers', () => {
    const other = workflow('v', { timeout: 5 })
      .step('start', { accepts: [StartEvent] }, () => StopEvent.of({}))
      .step('answer', { accepts: [Query] }, () => StopEvent.of({ result: 1 }));
    expect(other.version).toBe(shape().version);
  });

  it('changes with a step’s name or accepted types', () => {
    const renamed = workflow('v')
      .step('begin', { accepts: [StartEvent] }, () => undefined)
      .step('answer', { accepts: [Query] }, () => undefined);
    const reaccepted = workflow('v')
      .step('start', { accepts: [StartEvent] }, () => undefined)
      .step('answer', { accepts: ['Other'] }, () => undefined);
    expect(renamed.version).not.toBe(shape().version);
    expect(reaccepted.version).not.toBe(shape().version);
  });
});
