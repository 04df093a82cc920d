import { bufferCount, bufferTime, filter, map } from 'rxjs';
import { describe, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type StepContext } from 'sluice';
import { kinds$, outcome$ } from 'sluice/testing';
import { childKinds$, newVirtualTime, routedData$, stepLetters$, type VirtualTime } from './support.js';

// DESIGN §2 `.pipe` (a step written as an RxJS operator), `.subworkflow`, `.parallel`; §1 (every source of time
// takes the injectable scheduler); §5 "Sub-workflows" (step timeout → step_timeout, child failure →
// subworkflow_failed, a cancelled parent step aborts its child; 'all' in declaration order; 'first' aborts the rest).

const Item = event('Item', z.object({ n: z.number() }));
const Batch = event('Batch', z.object({ ns: z.array(z.number()) }));

/** A child workflow that stops with `result` after the frames of `marble` (its last frame emits the stop). */
const child = (vt: VirtualTime, name: string, marble: string, result: unknown) =>
  workflow(name, { timeout: null }).step('work', { accepts: [StartEvent] }, vt.marble(marble, { s: StopEvent.of({ result }) }));

/** A child workflow whose only step fails after the frames of `marble`. */
const failingChild = (vt: VirtualTime, name: string, marble: string) =>
  workflow(name, { timeout: null }).step('work', { accepts: [StartEvent] }, vt.marble(marble, {}, new Error(`${name} broke`)));

/** A sink that stops with the data of the first `n` events of `type` once they are all there. */
const sinkOf = (type: string, n: number) => {
  const Type = event(type);
  return (_ev: unknown, ctx: StepContext) => {
    const all = ctx.collect(Type, n);
    return all && StopEvent.of({ result: all.map((e) => e.data) });
  };
};

/** Items n = 1… emitted by the start step at the frames of `marble` (letters a, b, c, d = items 1–4). */
const items = (vt: VirtualTime, marble: string) =>
  vt.marble(marble, { a: Item.of({ n: 1 }), b: Item.of({ n: 2 }), c: Item.of({ n: 3 }), d: Item.of({ n: 4 }) });

describe('.pipe steps in virtual time', () => {
  it('routes a bufferCount(2) batch in the frame its second item arrives', () => {
    const vt = newVirtualTime();
    const wf = workflow('pairs', { timeout: null })
      .step('source', { accepts: [StartEvent] }, items(vt, 'a-b-c--d|'))
      .pipe('pair', { accepts: [Item] }, (items$) =>
        items$.pipe(
          bufferCount(2),
          map((batch) => Batch.of({ ns: batch.map((i) => i.data.n) })),
        ),
      )
      .step('sink', { accepts: [Batch], collects: [Batch] }, sinkOf('Batch', 2));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(routedData$(run, 'Batch')).toBe('--x----(y|)', { x: { ns: [1, 2] }, y: { ns: [3, 4] } });
      expectObservable(run.result$).toBe('-------(r|)', { r: [{ ns: [1, 2] }, { ns: [3, 4] }] });
    });
  });

  it('routes bufferTime(5, scheduler) batches at the frames the windows close: 5 and 10', () => {
    const vt = newVirtualTime();
    const wf = workflow('windows', { timeout: null })
      .step('source', { accepts: [StartEvent] }, items(vt, 'a-b-c--d|'))
      .pipe('window', { accepts: [Item] }, (items$) =>
        items$.pipe(
          bufferTime(5, vt.scheduler),
          filter((batch) => batch.length > 0),
          map((batch) => Batch.of({ ns: batch.map((i) => i.data.n) })),
        ),
      )
      .step('sink', { accepts: [Batch], collects: [Batch] }, sinkOf('Batch', 2));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      // Items at 0, 2, 4 and 7; the window opens with the first item at 0.
      expectObservable(routedData$(run, 'Batch')).toBe('-----x----(y|)', { x: { ns: [1, 2, 3] }, y: { ns: [4] } });
      expectObservable(outcome$(run)).toBe('----------(c|)', { c: 'completed' });
    });
  });
});

describe('.subworkflow in virtual time', () => {
  it('routes the child’s result as <step>.output in the frame the child stops', () => {
    const vt = newVirtualTime();
    const wf = workflow('parent', { timeout: null })
      .subworkflow('research', { accepts: [StartEvent], workflow: child(vt, 'researcher', '---(s|)', 'notes') })
      .step('sink', { accepts: ['research.output'], collects: ['research.output'] }, sinkOf('research.output', 1));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(routedData$(run, 'research.output')).toBe('---(n|)', { n: 'notes' });
      expectObservable(childKinds$(run, { run_started: 'b', run_completed: 'e' })).toBe('b--(e|)');
    });
  });

  it('fails step_timeout at the frame the sub-workflow’s timeout elapses and aborts the child then', () => {
    const vt = newVirtualTime();
    const wf = workflow('parent-timeout', { timeout: null }).subworkflow('research', {
      accepts: [StartEvent],
      workflow: child(vt, 'slow-researcher', '----------(s|)', 'late'),
      timeout: 5,
    });
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('-----(t|)', { t: 'step_timeout' });
      expectObservable(childKinds$(run, { run_started: 'b', run_completed: 'e', run_aborted: 'x' })).toBe('b----(x|)');
      expectObservable(kinds$(run, { s: 'step_started', f: 'step_failed', e: 'run_failed' })).toBe('s----(fe|)');
    });
  });

  it('fails subworkflow_failed at the frame the child fails', () => {
    const vt = newVirtualTime();
    const wf = workflow('parent-child-fails', { timeout: null }).subworkflow('research', {
      accepts: [StartEvent],
      workflow: failingChild(vt, 'broken', '---#'),
    });
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('---(f|)', { f: 'subworkflow_failed' });
      expectObservable(childKinds$(run, { run_failed: 'x' })).toBe('---(x|)');
    });
  });
});

describe('.parallel in virtual time', () => {
  /** Branches taking 6, 2 and 4 frames, returning 'r0', 'r1', 'r2'. */
  const branches = (vt: VirtualTime) => [
    { workflow: child(vt, 'b0', '------(s|)', 'r0') },
    { workflow: child(vt, 'b1', '--(s|)', 'r1') },
    { workflow: child(vt, 'b2', '----(s|)', 'r2') },
  ];

  it("join 'all' routes one output per branch, in declaration order, at the frame the slowest branch stops", () => {
    const vt = newVirtualTime();
    const wf = workflow('all', { timeout: null })
      .parallel('fan', { accepts: [StartEvent], join: 'all', branches: branches(vt) })
      .step('sink', { accepts: ['fan.output'], collects: ['fan.output'] }, sinkOf('fan.output', 3));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(routedData$(run, 'fan.output')).toBe('------(abc|)', { a: 'r0', b: 'r1', c: 'r2' });
      // The branches finish at 2, 4 and 6; nothing is routed before the last.
      expectObservable(childKinds$(run, { run_completed: 'e' })).toBe('--e-e-(e|)');
      expectObservable(run.result$).toBe('------(r|)', { r: ['r0', 'r1', 'r2'] });
    });
  });

  it("join 'first' routes the fastest branch’s output at its frame and aborts the other branches then", () => {
    const vt = newVirtualTime();
    const wf = workflow('first', { timeout: null })
      .parallel('fan', { accepts: [StartEvent], join: 'first', branches: branches(vt) })
      .step('sink', { accepts: ['fan.output'], collects: ['fan.output'] }, sinkOf('fan.output', 1));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(routedData$(run, 'fan.output')).toBe('--(b|)', { b: 'r1' });
      expectObservable(childKinds$(run, { run_completed: 'e', run_aborted: 'x' })).toBe('--(exx|)');
      expectObservable(run.result$).toBe('--(r|)', { r: ['r1'] });
    });
  });

  it("join 'first' keeps the parallel step in flight until its first success, then completes it in that frame", () => {
    const vt = newVirtualTime();
    const wf = workflow('first-step', { timeout: null })
      .parallel('fan', { accepts: [StartEvent], join: 'first', branches: branches(vt) })
      .step('sink', { accepts: ['fan.output'] }, vt.marble('---(s|)', { s: StopEvent.of({ result: 'late sink' }) }));
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(stepLetters$(run, 'step_completed', { fan: 'f', sink: 's' })).toBe('--f--(s|)');
    });
  });

  it("join 'all' fails subworkflow_failed at the frame a branch fails and aborts the others", () => {
    const vt = newVirtualTime();
    const wf = workflow('all-fails', { timeout: null }).parallel('fan', {
      accepts: [StartEvent],
      join: 'all',
      branches: [
        { workflow: child(vt, 'b0', '------(s|)', 'r0') },
        { workflow: failingChild(vt, 'b1', '---#') },
        { workflow: child(vt, 'b2', '--(s|)', 'r2') },
      ],
    });
    vt.run(({ expectObservable }) => {
      const run = vt.start(wf);
      expectObservable(outcome$(run)).toBe('---(f|)', { f: 'subworkflow_failed' });
      // b2 finished at 2; b1 fails at 3 and b0, still running, is aborted in that frame.
      expectObservable(childKinds$(run, { run_completed: 'e', run_failed: 'f', run_aborted: 'x' })).toBe('--e(fx|)');
    });
  });
});
