import { Hono, type Context } from 'hono';
import { isTerminal } from '../run/status.js';
import type { RunHandle } from '../run/RunHandle.js';
import { MemoryStore } from '../stores/MemoryStore.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { Workflow } from '../workflow/workflow.js';
import { bearerToken } from './auth.js';
import { HttpError, stderrLogger, toHttpError, type HttpLogger } from './errors.js';
import { DEFAULT_BODY_LIMIT, guard } from './guard.js';
import { describeWorkflow } from './graph.js';
import { INSPECTOR_CSP, INSPECTOR_CSS, INSPECTOR_HTML, INSPECTOR_JS } from './inspector/assets.js';
import { RunRegistry, routeSend } from './runs.js';
import { abortBody, check, lastEventId, listQuery, readBody, respondBody, retryBody, startBody, startRunBody } from './schemas.js';
import { streamRunEvents } from './sse.js';
import { pageOfRuns, runView } from './views.js';

export interface SluiceAppOptions {
  /** The workflows the API can start, by name (names must be unique). */
  workflows: Iterable<Workflow<any>>;
  /**
   * Where runs are checkpointed and listed from (default: a new `MemoryStore`). Every run the server starts
   * or resumes uses this store, whatever store the workflow was built with.
   */
  store?: CheckpointStore;
  /** When set, every route answers 401 without `Authorization: Bearer <token>` (or `?access_token=`). */
  token?: string;
  /** ms between keep-alive comments on event streams (default 15 000). */
  heartbeatMs?: number;
  /** Largest request body in bytes (default 1 MB = 1 048 576); a larger one is refused with 413 `body_too_large`. */
  bodyLimit?: number;
  /**
   * Without a token, requests must name a loopback host (`localhost`, `127.x.x.x`, `::1`) in `Host` (else 421
   * `host_not_allowed`) and, when they carry an `Origin`, come from such a host (else 403 `origin_not_allowed`):
   * this stops DNS rebinding and cross-site requests. List other names this server is reached by here.
   */
  allowedHosts?: readonly string[];
  /** Origins allowed besides the allowed hosts' own, e.g. `['https://ops.example.com']` (only checked without a token). */
  allowedOrigins?: readonly string[];
  /** Where failed requests (every 5xx, with its cause) and failed final checkpoints are logged (default: stderr). */
  logger?: HttpLogger;
  /** A `sluice/bullmq` Dispatcher (or anything listing schedules): `GET /api/schedules` lists its schedules. */
  dispatcher?: { schedules(): Promise<unknown[]> };
}

/** The API and inspector as a fetch handler, to mount on any server (or use `serve()`). */
export interface SluiceApp {
  readonly app: Hono;
  readonly fetch: (request: Request) => Response | Promise<Response>;
  readonly registry: RunRegistry;
  /** End every open event stream (runs are left as they are); resolves once they are closed. */
  closeStreams(): Promise<void>;
}

/**
 * Build the HTTP API and the inspector page for some workflows.
 *
 * Routes (JSON unless noted): `GET /` the inspector page (`/inspector.js`, `/inspector.css`) · `GET /api/workflows` · `POST /api/workflows/:name/runs`
 * `{ input?, state?, runId? }` → 201 (with a `runId` of an existing run: 200 and that run) · `POST /api/runs`
 * `{ workflow, input?, state?, runId? }` (the same) · `GET /api/schedules` (with a `dispatcher`) · `GET /api/runs?workflow=&status=&q=&limit=&offset=` · `GET /api/runs/:id` (with `result` / `error`) · `POST /api/runs/:id/pause`
 * · `/resume` · `/retry` `{}` (a failed or timed-out run, from its last checkpoint) · `/abort` `{ reason? }` · `/respond` `{ requestId, response }` · `/send` `{ event: { type, data? } }` · `GET /api/runs/:id/events` (SSE).
 * Errors are `{ error: { code, message, details? } }`: bad input 400, unknown run or workflow 404, a run
 * that has ended 409 `not_running`, a missing or wrong token 401.
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server';
 * const { fetch } = createSluiceApp({ workflows: [deploy], store: new FileStore('./.sluice') });
 * serve({ fetch, port: 8080 });
 * ```
 */
export function createSluiceApp(options: SluiceAppOptions): SluiceApp {
  const registry = new RunRegistry(options.workflows, options.store ?? new MemoryStore(), options.logger ?? stderrLogger);
  const open = new Set<() => Promise<void>>();
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const app = new Hono();

  // Every route: errors as coded JSON (5xx logged with their cause), then the guards and the token.
  const logger = options.logger ?? stderrLogger;
  app.onError((error, c) => {
    const http = toHttpError(error);
    if (http.status >= 500) logger.error({ err: error, status: http.status, code: http.code, method: c.req.method, path: c.req.path }, `sluice http: ${http.status} ${http.code}`);
    return c.json(http.toBody(), http.status);
  });
  app.notFound((c) => c.json(new HttpError(404, 'not_found', `no route ${c.req.method} ${c.req.path}`).toBody(), 404));
  app.use(
    '*',
    ...guard({
      bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
      checkHosts: options.token === undefined,
      allowedHosts: options.allowedHosts ?? [],
      allowedOrigins: options.allowedOrigins ?? [],
    }),
  );
  // The inspector's script and style are public static files (no run data), served before the token check
  // so the page opened as `/?access_token=…` can load them.
  app.get('/inspector.js', (c) => c.body(INSPECTOR_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }));
  app.get('/inspector.css', (c) => c.body(INSPECTOR_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }));
  if (options.token !== undefined) app.use('*', bearerToken(options.token));

  app.get('/', (c) => c.html(INSPECTOR_HTML, 200, { 'content-security-policy': INSPECTOR_CSP }));

  app.get('/api/workflows', (c) => c.json({ workflows: registry.all().map(describeWorkflow) }));

  /** A new run, or with a `runId` the run of that id (201 when this call started it, 200 when it existed). */
  const startRun = async (c: Context, name: string, body: { input?: unknown; state?: Record<string, unknown> | undefined; runId?: string | undefined }) => {
    const { run, created } =
      body.runId === undefined
        ? { run: registry.start(name, body.input, body.state), created: true }
        : await registry.startOnce(name, body.input, body.state, body.runId);
    c.header('Location', `/api/runs/${encodeURIComponent(run.id)}`);
    return c.json({ runId: run.id, workflow: name, status: run.status }, created ? 201 : 200);
  };

  app.post('/api/workflows/:name/runs', async (c) => {
    const name = c.req.param('name');
    registry.workflow(name); // 404 before the body is judged
    return startRun(c, name, await readBody(c, startBody));
  });

  app.post('/api/runs', async (c) => {
    const { workflow: name, ...body } = await readBody(c, startRunBody);
    registry.workflow(name);
    return startRun(c, name, body);
  });

  app.get('/api/schedules', async (c) => {
    if (options.dispatcher === undefined) {
      throw new HttpError(404, 'not_found', 'no dispatcher is configured: pass `dispatcher` (sluice/bullmq) to list schedules');
    }
    return c.json({ schedules: await options.dispatcher.schedules() });
  });

  app.get('/api/runs', async (c) => {
    const query = check(listQuery, dropToken(c.req.query()), 'query');
    return c.json(await pageOfRuns(registry, definedOnly(query)));
  });

  app.get('/api/runs/:id', async (c) => {
    const { snapshot, live } = await registry.snapshot(c.req.param('id'));
    return c.json(runView(snapshot, live));
  });

  app.post('/api/runs/:id/pause', async (c) => {
    const id = c.req.param('id');
    if (registry.handle(id) === undefined) {
      // A stored run that is already paused stays as it is: nothing to bring back.
      const { snapshot } = await registry.snapshot(id);
      if (snapshot.status === 'paused') return c.json(runBody(snapshot.runId, snapshot.status, false, snapshot));
    }
    const run = await registry.control(id);
    try {
      const snapshot = await run.pause();
      return c.json(runBody(run.id, run.status, true, snapshot));
    } catch (error) {
      // The run ended before its steps settled: pausing it did nothing.
      if (isTerminal(run.status)) throw notRunning(run);
      throw error;
    }
  });

  app.post('/api/runs/:id/resume', async (c) => {
    const run = await registry.control(c.req.param('id'));
    run.resume();
    return c.json(runBody(run.id, run.status, true));
  });

  app.post('/api/runs/:id/abort', async (c) => {
    const id = c.req.param('id');
    const body = await readBody(c, abortBody);
    const run = await registry.control(id);
    run.abort(body.reason);
    return c.json(runBody(run.id, run.status, true));
  });

  app.post('/api/runs/:id/retry', async (c) => {
    await readBody(c, retryBody);
    const run = await registry.retry(c.req.param('id'));
    return c.json(runView(run.snapshot(), true));
  });

  app.post('/api/runs/:id/respond', async (c) => {
    const id = c.req.param('id');
    const body = await readBody(c, respondBody);
    if (registry.handle(id) === undefined) {
      // Check the id against the stored run before resuming it, so a wrong id does not wake the run.
      const { snapshot } = await registry.snapshot(id);
      if (!isTerminal(snapshot.status) && !snapshot.waiting.some((w) => w.requestId === body.requestId)) {
        throw new WorkflowError('unknown_request', `run '${id}' has no open request '${body.requestId}'`, {
          details: { requestId: body.requestId },
        });
      }
    }
    const run = await registry.control(id);
    run.respond(body.requestId, body.response);
    return c.json(runBody(run.id, run.status, true));
  });

  routeSend(app, registry);

  app.get('/api/runs/:id/events', async (c) => {
    const id = c.req.param('id');
    const after = check(lastEventId, c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? 0, 'Last-Event-ID');
    const live = registry.handle(id);
    const source =
      live !== undefined
        ? { live }
        : await registry.snapshot(id).then(async ({ snapshot }) => ({
            // A stored run replays its journal from the store, from where the client left off.
            history: await registry.store.events(id, { afterSeq: after }),
            status: snapshot.status,
            runId: id,
          }));
    return streamRunEvents(c, registry, source, after, { heartbeatMs, open });
  });

  return {
    app,
    fetch: (request) => app.fetch(request),
    registry,
    closeStreams: async () => {
      await Promise.all([...open].map((close) => close()));
    },
  };
}

function runBody(runId: string, status: string, live: boolean, snapshot?: unknown) {
  return snapshot === undefined ? { runId, status, live } : { runId, status, live, snapshot };
}

function notRunning(run: RunHandle): WorkflowError {
  return new WorkflowError('not_running', `run '${run.id}' has ended (${run.status})`, { details: { runId: run.id, status: run.status } });
}

/** `access_token` authenticates; it is not a filter. */
function dropToken(query: Record<string, string>): Record<string, string> {
  const { access_token: _token, ...rest } = query;
  return rest;
}

/** exactOptionalPropertyTypes: a filter key is either a value or absent. */
function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
