import type { Hono } from 'hono';
import { Subject, type Observable } from 'rxjs';
import { z } from 'zod';
import { WorkflowError } from '../errors/WorkflowError.js';
import { StopEvent, type WorkflowEvent } from '../events/event.js';
import type { RunHandle } from '../run/RunHandle.js';
import { isTerminal, type RunStatus } from '../run/status.js';
import type { Snapshot } from '../snapshot/schema.js';
import { recover } from '../ops/recover.js';
import type { CheckpointStore, ListFilter } from '../stores/CheckpointStore.js';
import type { Workflow } from '../workflow/workflow.js';
import { stderrLogger, type HttpLogger } from './errors.js';
import { readBody } from './schemas.js';

/** One row of `GET /api/runs`: the store's summary, with `live` telling whether this server drives the run. */
export interface RunRow {
  runId: string;
  workflow: string;
  status: RunStatus;
  updatedAt: number;
  live: boolean;
}

interface Live {
  readonly workflow: string;
  readonly run: RunHandle;
  updatedAt: number;
}

/**
 * The runs a server knows: live `RunHandle`s started or resumed here, and everything else in the store.
 * A run that is not live is brought back with `wf.resumeFrom(store, id)` when someone needs to act on it
 * (resume, pause, abort, respond); a live run is dropped from memory once it ended and its final checkpoint
 * is written, after which the store answers for it.
 *
 * @example
 * ```ts
 * const { registry } = createSluiceApp({ workflows: [deploy], store });
 * const run = await registry.control(runId);   // live, or resumed from the store
 * run.respond(requestId, 'yes');
 * ```
 */
export class RunRegistry {
  private readonly live = new Map<string, Live>();
  /** Resumes from the store in progress, so two requests for one stored run never fork it. */
  private readonly loading = new Map<string, Promise<RunHandle>>();
  private readonly opened = new Subject<RunHandle>();
  private readonly workflows: ReadonlyMap<string, Workflow>;

  constructor(
    workflows: Iterable<Workflow>,
    readonly store: CheckpointStore,
    private readonly logger: HttpLogger = stderrLogger,
  ) {
    const byName = new Map<string, Workflow>();
    for (const wf of workflows) {
      if (byName.has(wf.name)) {
        throw new WorkflowError('invalid_workflow', `two workflows are named '${wf.name}'; names must be unique`);
      }
      // Every run the server starts or resumes checkpoints into the server's store, so the store lists it.
      byName.set(wf.name, wf.withOptions({ store }).validate());
    }
    this.workflows = byName;
  }

  /** Runs that became live (started or resumed here), for streams waiting on a stored run. */
  get opened$(): Observable<RunHandle> {
    return this.opened.asObservable();
  }

  /** The registered workflows, in registration order. */
  all(): Workflow[] {
    return [...this.workflows.values()];
  }

  workflow(name: string): Workflow {
    const wf = this.workflows.get(name);
    if (wf === undefined) throw new WorkflowError('not_found', `no workflow named '${name}' is registered`, { details: { workflow: name } });
    return wf;
  }

  start(name: string, input: unknown, state: Record<string, unknown> | undefined): RunHandle {
    const wf = this.workflow(name);
    return this.track(name, wf.run(input, state === undefined ? {} : { state }));
  }

  /**
   * Start a run of `runId` at most once (`wf.start`): an existing run is followed — live here, resumed from
   * the store, or, if it ended, reported from the store. `created` says whether this call started it.
   */
  async startOnce(name: string, input: unknown, state: Record<string, unknown> | undefined, runId: string): Promise<{ run: RunHandle; created: boolean }> {
    const wf = this.workflow(name);
    const live = this.handle(runId) ?? (await this.loading.get(runId)?.catch(() => undefined));
    if (live !== undefined) return { run: live, created: false };
    const existed = (await this.store.load(runId)) !== undefined;
    const run = await wf.start(input, { runId, ...(state === undefined ? {} : { state }) });
    if (!isTerminal(run.status) && this.handle(run.id) === undefined) this.track(name, run);
    return { run, created: !existed };
  }

  /** Resume the runs a stopped server left in the store (see `recover`) and drive them here; resolves their handles. */
  async recover(onSkip?: (runId: string, reason: WorkflowError) => void): Promise<RunHandle[]> {
    const runs = await recover({ workflows: this.all(), store: this.store, ...(onSkip === undefined ? {} : { onSkip }) });
    for (const run of runs) if (this.handle(run.id) === undefined) this.track(this.workflowOf(run), run);
    return runs;
  }

  /** The live handle, if this server drives the run now. */
  handle(runId: string): RunHandle | undefined {
    return this.live.get(runId)?.run;
  }

  /** The run's current snapshot: live, else from the store; rejects `not_found`. */
  async snapshot(runId: string): Promise<{ snapshot: Snapshot; live: boolean }> {
    const run = this.handle(runId);
    if (run !== undefined) return { snapshot: run.snapshot(), live: true };
    const stored = await this.store.load(runId);
    if (stored === undefined) throw notFound(runId);
    return { snapshot: stored, live: false };
  }

  /**
   * A live handle to act on: the one in memory, or the run resumed from the store. Rejects `not_found` for
   * an unknown run and `not_running` for one that has ended.
   */
  async control(runId: string): Promise<RunHandle> {
    const run = this.handle(runId) ?? (await this.loading.get(runId));
    if (run !== undefined) {
      if (isTerminal(run.status)) throw ended(runId, run.status);
      return run;
    }
    const load = this.resumeStored(runId).finally(() => this.loading.delete(runId));
    this.loading.set(runId, load);
    return load;
  }

  /**
   * `wf.retry` through the server: a failed or timed-out run resumed from its last checkpoint, live here.
   * Rejects `not_found` for an unknown run and `not_running` for a run in any other status (a live run too).
   */
  async retry(runId: string): Promise<RunHandle> {
    const run = this.handle(runId) ?? (await this.loading.get(runId));
    if (run !== undefined) {
      if (!isTerminal(run.status)) throw new WorkflowError('not_running', `run '${runId}' is ${run.status}: only a failed or timed-out run can be retried`, { details: { runId, status: run.status } });
      await this.flushRun(run); // its final checkpoint is what the retry starts from
    }
    const load = this.retryStored(runId).finally(() => this.loading.delete(runId));
    this.loading.set(runId, load);
    return load;
  }

  /**
   * Send an event into a run (to the steps accepting its type and to the `ctx.waitFor`s waiting for it): the
   * live run, or the run resumed from the store first. Refused with `invalid_event` — before a stored run is
   * woken — when nothing could take the event (no step accepts its type and no wait of the run is for it),
   * since the run would fail `no_handler`; `not_found` and `not_running` as for `control`.
   */
  async send(runId: string, event: WorkflowEvent): Promise<RunHandle> {
    const live = this.handle(runId);
    const current = live === undefined ? (await this.snapshot(runId)).snapshot : undefined;
    if (current === undefined || !isTerminal(current.status)) {
      const wf = this.workflow(live === undefined ? (current as Snapshot).workflow : (this.live.get(runId) as Live).workflow);
      const accepted = event.type === StopEvent.type || wf.steps.some((step) => step.accepts.includes(event.type));
      if (!accepted && !waitsFor((current ?? (live as RunHandle).snapshot()).waiting, event.type)) {
        throw new WorkflowError(
          'invalid_event',
          `no step of '${wf.name}' accepts '${event.type}' and run '${runId}' waits for no such event; send a type a step accepts or one a ctx.waitFor waits for`,
          { details: { runId, type: event.type } },
        );
      }
    }
    const run = await this.control(runId);
    run.send(event);
    return run;
  }

  /** The store's runs with live status overlaid (and live runs not saved yet), newest first. */
  async list(filter: ListFilter = {}): Promise<RunRow[]> {
    const rows = new Map<string, RunRow>();
    for (const row of await this.store.list(filter)) rows.set(row.runId, { ...row, live: false });
    for (const [runId, entry] of this.live) {
      const status = entry.run.status;
      if (filter.workflow !== undefined && filter.workflow !== entry.workflow) continue;
      if (filter.status !== undefined && filter.status !== status) {
        rows.delete(runId);
        continue;
      }
      rows.set(runId, { runId, workflow: entry.workflow, status, updatedAt: Math.max(entry.updatedAt, rows.get(runId)?.updatedAt ?? 0), live: true });
    }
    return [...rows.values()].sort((a, b) => b.updatedAt - a.updatedAt || (a.runId < b.runId ? -1 : 1));
  }

  /**
   * Resolves once every live run's due checkpoints are written or have failed: a failure is logged (and
   * the run keeps its own account of it in `checkpoint_failed` / `store_failed`), never thrown at the server.
   */
  async flush(): Promise<void> {
    await Promise.all([...this.live.values()].map((entry) => this.flushRun(entry.run)));
  }

  /** Resolves `true` once the run's checkpoints are written, `false` (logged) when the store refused them. */
  private flushRun(run: RunHandle): Promise<boolean> {
    let flushed: Promise<void>;
    try {
      flushed = run.flush();
    } catch (error) {
      flushed = Promise.reject(error);
    }
    return flushed.then(
      () => true,
      (error: unknown) => {
        this.logger.error({ err: error, runId: run.id, status: run.status }, 'sluice http: a checkpoint of the run could not be saved');
        return false;
      },
    );
  }

  private async resumeStored(runId: string): Promise<RunHandle> {
    const snapshot = await this.store.load(runId);
    if (snapshot === undefined) throw notFound(runId);
    if (isTerminal(snapshot.status)) throw ended(runId, snapshot.status);
    const wf = this.workflow(snapshot.workflow);
    // Checked again: a start or another resume may have made it live while the store was read.
    return this.handle(runId) ?? this.track(wf.name, wf.resume(snapshot));
  }

  private async retryStored(runId: string): Promise<RunHandle> {
    const snapshot = await this.store.load(runId);
    if (snapshot === undefined) throw notFound(runId);
    const wf = this.workflow(snapshot.workflow);
    const run = await wf.retry(this.store, runId);
    return this.track(wf.name, run);
  }

  private workflowOf(run: RunHandle): string {
    return run.snapshot().workflow;
  }

  private track(workflow: string, run: RunHandle): RunHandle {
    const entry: Live = { workflow, run, updatedAt: Date.now() };
    this.live.set(run.id, entry);
    run.events$.subscribe({
      next: (ev) => {
        entry.updatedAt = ev.at;
      },
      error: () => undefined,
    });
    // Once its final checkpoint is stored the store answers for the run. When that save fails the run stays
    // here, so the API keeps reporting how it really ended rather than the store's older checkpoint.
    const forget = () => {
      void this.flushRun(run).then((saved) => {
        if (saved && this.live.get(run.id) === entry) this.live.delete(run.id);
      });
    };
    run.result.then(forget, forget);
    this.opened.next(run);
    return run;
  }
}

/** `POST /api/runs/:id/send` — an event to route into the run: `{ event: { type, data? } }`. */
export const sendBody = z.strictObject({
  event: z.strictObject({ type: z.string().min(1), data: z.json().optional() }),
});

/**
 * `POST /api/runs/:id/send` `{ event: { type, data? } }` → `{ runId, status, live: true }`: route an event into
 * a live or stored run (see `RunRegistry.send`); an event failing its type's schema is 400 `invalid_event`.
 */
export function routeSend(app: Hono, registry: RunRegistry): void {
  app.post('/api/runs/:id/send', async (c) => {
    const { event } = await readBody(c, sendBody);
    const run = await registry.send(c.req.param('id'), { type: event.type, data: event.data });
    return c.json({ runId: run.id, status: run.status, live: true });
  });
}

/** Whether an open wait (a `ctx.waitFor`, kind `'event'`) is for events of `type`. */
function waitsFor(waiting: readonly object[], type: string): boolean {
  return waiting.some((w) => (w as { kind?: unknown }).kind === 'event' && (w as { type?: unknown }).type === type);
}

function notFound(runId: string): WorkflowError {
  return new WorkflowError('not_found', `no run '${runId}'`, { details: { runId } });
}

function ended(runId: string, status: RunStatus): WorkflowError {
  return new WorkflowError('not_running', `run '${runId}' has ended (${status})`, { details: { runId, status } });
}
