// Observability: pino log lines and OpenTelemetry spans for one run, both to stdout.
// The `fetch` step fails once and is retried: a warn log line and a `step_retried` event on its span.
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { z } from 'zod';
import { event, StartEvent, StopEvent, workflow } from 'sluice';
import { traceRun } from 'sluice/otel';

// Spans: printed as each one ends. A real service would export them (OTLP) instead.
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
trace.setGlobalTracerProvider(provider);

// Logs: one JSON object per line. `info` shows the run's start and end, retries (warn) and failures (error);
// `debug` would add routing and every step. Written through process.stdout to keep the order with the spans.
const logger = pino({ level: 'info', base: null }, process.stdout);

const Page = event('Page', z.object({ text: z.string() }));
let attempts = 0;

const ingest = workflow('ingest', { logger })
  .step('fetch', { accepts: [StartEvent], retry: { retries: 2, delay: 10 } }, async (ev) => {
    if (++attempts === 1) throw new Error('connection reset'); // a flaky source
    return Page.of({ text: `contents of ${String(ev.data)}` });
  })
  .step('count', { accepts: [Page] }, (ev) => StopEvent.of({ result: ev.data.text.split(' ').length }));

const run = ingest.run('https://example.com', { runId: 'ingest-1' });
traceRun(run); // a `workflow.run` span with a `workflow.step` span per invocation
console.log('result:', await run.result);
await provider.shutdown();
