import { SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { filter, firstValueFrom } from 'rxjs';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow, type RunEvent, type RunHandle } from 'sluice';
import { ATTRIBUTES, traceRun } from 'sluice/otel';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('sluice-test');
beforeEach(() => exporter.reset());

const Item = event('Item', z.object({ n: z.number() }));

/** start → flaky (fails on its first attempt, retried once) → stop. */
const retrying = () => {
  let attempts = 0;
  return workflow('retrying', { timeout: null })
    .step('start', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
    .step('flaky', { accepts: [Item], retry: { retries: 1 } }, (ev) => {
      if (attempts++ === 0) throw new Error('flaked');
      return StopEvent.of({ result: ev.data.n });
    });
};

const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
const only = (name: string): ReadableSpan => {
  const found = spans(name);
  expect(found).toHaveLength(1);
  return found[0] as ReadableSpan;
};
const ms = (hr: readonly [number, number]): number => hr[0] * 1_000 + hr[1] / 1e6;
/** The RunEvents `events$` replays right now (all of them: these runs are far below the replay bound). */
const history = (run: RunHandle<unknown>): RunEvent[] => {
  const out: RunEvent[] = [];
  run.events$.subscribe((e) => out.push(e)).unsubscribe();
  return out;
};
const atOf = (run: RunHandle<unknown>, pick: (e: RunEvent) => boolean): number => (history(run).find(pick) as RunEvent).at;

describe('traceRun', () => {
  it('builds one workflow.run span with a child workflow.step span per invocation, timed by the RunEvents', async () => {
    const run = retrying().run(null, { runId: 'r1' });
    traceRun(run, { tracer });
    expect(await run.result).toBe(1);

    const root = only('workflow.run');
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.attributes).toEqual({
      [ATTRIBUTES.workflow]: 'retrying',
      [ATTRIBUTES.runId]: 'r1',
      [ATTRIBUTES.resumed]: false,
      [ATTRIBUTES.status]: 'completed',
    });
    expect(root.status.code).toBe(SpanStatusCode.UNSET);
    expect(ms(root.startTime)).toBeCloseTo(atOf(run, (e) => e.kind === 'run_started'), 3);
    expect(ms(root.endTime)).toBeCloseTo(atOf(run, (e) => e.kind === 'run_completed'), 3);

    const steps = spans('workflow.step');
    expect(steps.map((s) => s.attributes[ATTRIBUTES.step])).toEqual(['start', 'flaky']);
    for (const step of steps) {
      expect(step.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(step.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
      expect(step.attributes[ATTRIBUTES.outcome]).toBe('completed');
    }
    const [start, flaky] = steps as [ReadableSpan, ReadableSpan];
    expect(start.attributes).toEqual({
      [ATTRIBUTES.workflow]: 'retrying',
      [ATTRIBUTES.runId]: 'r1',
      [ATTRIBUTES.step]: 'start',
      [ATTRIBUTES.invocationId]: expect.stringMatching(/\/start$/),
      [ATTRIBUTES.eventType]: 'StartEvent',
      [ATTRIBUTES.attempt]: 1,
      [ATTRIBUTES.outcome]: 'completed',
    });
    const flakyId = flaky.attributes[ATTRIBUTES.invocationId];
    expect(ms(flaky.startTime)).toBeCloseTo(atOf(run, (e) => e.kind === 'step_started' && e.invocationId === flakyId), 3);
    expect(ms(flaky.endTime)).toBeCloseTo(atOf(run, (e) => e.kind === 'step_completed' && e.invocationId === flakyId), 3);
    // A retry stays in its invocation's span: an event per failed attempt, the attribute at the last attempt.
    expect(flaky.attributes[ATTRIBUTES.eventType]).toBe('Item');
    expect(flaky.attributes[ATTRIBUTES.attempt]).toBe(2);
    expect(flaky.events.map((e) => [e.name, e.attributes])).toEqual([
      ['step_retried', { [ATTRIBUTES.attempt]: 1, [ATTRIBUTES.errorCode]: 'step_failed', 'exception.message': 'flaked' }],
    ]);
    expect(flaky.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('records a failed step and the failed run as exceptions with status ERROR', async () => {
    const wf = workflow('failing', { timeout: null }).step('boom', { accepts: [StartEvent] }, () => {
      throw new Error('kaput');
    });
    const run = wf.run(null);
    traceRun(run, { tracer });
    await expect(run.result).rejects.toMatchObject({ code: 'step_failed' });

    const step = only('workflow.step');
    const root = only('workflow.run');
    expect(step.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    for (const span of [step, root]) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: "step_failed: step 'boom' failed: kaput" });
      expect(span.attributes[ATTRIBUTES.errorCode]).toBe('step_failed');
      expect(span.events.map((e) => [e.name, e.attributes?.['exception.type'], e.attributes?.['exception.message']])).toEqual([
        ['exception', 'step_failed', "step 'boom' failed: kaput"],
      ]);
    }
    expect(step.attributes[ATTRIBUTES.outcome]).toBe('failed');
    expect(root.attributes[ATTRIBUTES.status]).toBe('failed');
  });

  it('ends the spans of steps still running when the run is aborted, marking them unfinished', async () => {
    const wf = workflow('stuck', { timeout: null }).step('forever', { accepts: [StartEvent] }, () => new Promise<never>(() => {}));
    const run = wf.run(null);
    traceRun(run, { tracer });
    await new Promise((r) => setImmediate(r));
    run.abort('enough');
    await run.result.catch(() => undefined);

    const step = only('workflow.step');
    expect(step.attributes[ATTRIBUTES.outcome]).toBe('unfinished');
    expect(step.status.code).toBe(SpanStatusCode.UNSET);
    const root = only('workflow.run');
    expect(root.attributes[ATTRIBUTES.status]).toBe('aborted');
    expect(root.status.code).toBe(SpanStatusCode.ERROR);
    expect(ms(step.endTime)).toBe(ms(root.endTime));
  });

  it('keeps the run span context in run.metadata and links a resumed run to it', async () => {
    const wf = workflow('handover', { timeout: null })
      .step('start', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
      .step('finish', { accepts: [Item] }, async (ev) => {
        await new Promise((r) => setImmediate(r));
        return StopEvent.of({ result: ev.data.n });
      });
    const first = wf.run(null, { runId: 'r2' });
    const tracing = traceRun(first, { tracer });
    await firstValueFrom(first.events$.pipe(filter((e) => e.kind === 'step_started' && e.step === 'finish')));
    const snapshot = await first.pause(); // 'finish' settles; its StopEvent is pending
    tracing.unsubscribe(); // handing the run over: end and export this process's span
    first.abort();

    const earlier = only('workflow.run');
    expect(earlier.attributes[ATTRIBUTES.status]).toBe('paused');
    expect(spans('workflow.step').map((s) => s.attributes[ATTRIBUTES.step])).toEqual(['start', 'finish']);
    expect(snapshot.metadata['otel']).toEqual({
      traceId: earlier.spanContext().traceId,
      spanId: earlier.spanContext().spanId,
      traceFlags: 1,
    });
    exporter.reset();

    const resumed = wf.resume(JSON.parse(JSON.stringify(snapshot)));
    traceRun(resumed, { tracer });
    expect(await resumed.result).toBe(1);

    const root = only('workflow.run');
    expect(root.spanContext().traceId).not.toBe(earlier.spanContext().traceId);
    expect(root.attributes).toEqual({
      [ATTRIBUTES.workflow]: 'handover',
      [ATTRIBUTES.runId]: 'r2',
      [ATTRIBUTES.resumed]: true,
      [ATTRIBUTES.status]: 'completed',
    });
    expect(root.links).toEqual([
      {
        context: expect.objectContaining({ traceId: earlier.spanContext().traceId, spanId: earlier.spanContext().spanId }),
        attributes: { 'workflow.link': 'resumed_from' },
      },
    ]);
    expect(ms(root.startTime)).toBeCloseTo(atOf(resumed, (e) => e.kind === 'run_resumed' && e.seq === snapshot.seq + 1), 3);
    // Only what ran in this process: the steps in the replayed history are not traced again.
    expect(spans('workflow.step')).toEqual([]);
    expect(resumed.metadata['otel']).toMatchObject({ spanId: root.spanContext().spanId });
  });

  it('marks an in-process pause and resume as events on the same run span', async () => {
    const run = retrying().run(null);
    traceRun(run, { tracer });
    await run.pause();
    run.resume();
    await run.result;
    expect(only('workflow.run').events.map((e) => e.name)).toEqual(['run_paused', 'run_resumed']);
  });

  it('marks an idle run as a run_idle event naming the step, and a stalled run as an error', async () => {
    const wf = workflow('forgetful', { timeout: null, onIdle: 'fail' })
      .step('start', { accepts: [StartEvent] }, () => Item.of({ n: 1 }))
      .step('note', { accepts: [Item] }, () => undefined);
    const run = wf.run(null);
    traceRun(run, { tracer });
    await run.result.catch(() => undefined);
    const root = only('workflow.run');
    expect(root.events.map((e) => [e.name, e.attributes?.[ATTRIBUTES.step]])).toEqual([
      ['run_idle', 'note'],
      ['exception', undefined],
    ]);
    expect(root.attributes[ATTRIBUTES.errorCode]).toBe('stalled');
    expect(root.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('gives steps a context to nest their own spans under the step span', async () => {
    let tracing: ReturnType<typeof traceRun> | undefined;
    const wf = workflow('nested', { timeout: null }).step('work', { accepts: [StartEvent] }, (_ev, ctx) => {
      tracer.startSpan('fetch', {}, tracing?.context(ctx.invocationId)).end();
      return StopEvent.of({ result: 'ok' });
    });
    const run = wf.run(null);
    tracing = traceRun(run, { tracer });
    await run.result;
    expect(only('fetch').parentSpanContext?.spanId).toBe(only('workflow.step').spanContext().spanId);
  });

  it('uses the global tracer provider by default', async () => {
    trace.setGlobalTracerProvider(provider);
    try {
      const run = retrying().run(null);
      traceRun(run);
      await run.result;
      expect(only('workflow.run').instrumentationScope.name).toBe('sluice');
    } finally {
      trace.disable();
    }
  });

  it('traces a run that already ended from its replayed events', async () => {
    const run = retrying().run(null);
    await run.result;
    const tracing = traceRun(run, { tracer });
    expect(tracing.closed).toBe(true);
    expect(spans('workflow.step')).toHaveLength(2);
    expect(only('workflow.run').attributes[ATTRIBUTES.status]).toBe('completed');
  });

  it('never lets a failing tracer disturb the run', async () => {
    const broken = { startSpan: () => { throw new Error('exporter down'); } } as unknown as Tracer;
    const run = retrying().run(null);
    traceRun(run, { tracer: broken });
    expect(await run.result).toBe(1);
  });
});
