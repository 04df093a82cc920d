import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Observable } from 'rxjs';
import { describeThrown, WorkflowError, type ErrorInfo } from '../errors/WorkflowError.js';
import type { WorkflowEvent } from '../events/event.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { Workflow } from '../workflow/workflow.js';
import { forBullmq, openClient, type Connection } from './connection.js';
import { RunFeed } from './feed.js';
import {
  DEFAULT_JOB_OPTIONS, DEFAULT_PREFIX, DEFAULT_QUEUE, isAccepted, startJobId, type ControlOp, type JobData, type JobOutcome,
} from './protocol.js';
import { failedRuns, listSchedules, upsertSchedule, type FailedRun, type ScheduleInfo, type ScheduleOptions } from './schedules.js';

/** Where the queue and the runs' events are; `queue` and `prefix` must match the workers'. */
export interface DispatcherOptions {
  connection: Connection;
  /** BullMQ queue name (default `sluice`); the workers' must match. */
  queue?: string;
  /** Prefix of sluice's keys and channels (default `sluice:`); the workers' must match. */
  prefix?: string;
  /**
   * BullMQ options of the jobs added, merged over the defaults: 5 attempts with exponential backoff from 1 s
   * (for a worker whose store is down), completed jobs kept a day, failed ones a week.
   */
  jobOptions?: JobsOptions;
}

/** A run executing on the workers, seen from any process. */
export interface RemoteRun<R = unknown> {
  readonly id: string;
  /** Every RunEvent from seq 1 (replayed, then live), completing after the terminal one. */
  readonly events$: Observable<RunEvent>;
  /** The run's result; rejects with its `WorkflowError`. */
  readonly result: Promise<R>;
  /** Answer an input request; see {@link Dispatcher.respond}. */
  respond(requestId: string, response: unknown): Promise<void>;
  /** See {@link Dispatcher.pause}. */
  pause(): Promise<void>;
  /** See {@link Dispatcher.abort}. */
  abort(reason?: unknown): Promise<void>;
  /** See {@link Dispatcher.send}. */
  send(event: WorkflowEvent): Promise<void>;
}

/**
 * Starts runs on the workers of `sluice/bullmq` (one BullMQ job per start, resume or answer) and follows them
 * from any process: `events$` and `result` read what the workers publish to Redis.
 *
 * @example
 * ```ts
 * import { Dispatcher } from 'sluice/bullmq';
 * const dispatcher = new Dispatcher({ connection: 'redis://127.0.0.1:6379' });
 * const run = await dispatcher.start(qa, 'hello');        // or start('qa', 'hello')
 * run.events$.subscribe((e) => console.log(e.seq, e.kind));
 * console.log(await run.result);                           // 'HELLO'
 * await dispatcher.close();
 * ```
 */
export class Dispatcher {
  /** The BullMQ queue the jobs go to. */
  readonly queue: Queue<JobData, JobOutcome>;
  readonly #connection: Connection;
  readonly #jobOptions: JobsOptions;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #feed: RunFeed;
  readonly #prefix: string;
  #queueEvents: Promise<QueueEvents> | undefined;

  constructor(options: DispatcherOptions) {
    this.#connection = options.connection;
    this.#jobOptions = { ...DEFAULT_JOB_OPTIONS, ...options.jobOptions };
    this.queue = new Queue<JobData, JobOutcome>(options.queue ?? DEFAULT_QUEUE, { connection: forBullmq(options.connection) });
    this.#redis = openClient(options.connection);
    this.#sub = openClient(options.connection);
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#feed = new RunFeed(this.#redis, this.#sub, this.#prefix);
  }

  /**
   * Enqueue a run of the workflow (by name, or the workflow itself for its result type). A run id already
   * started is not started again. `delay` (ms) starts it that much later. Resolves once enqueued.
   */
  async start<R = unknown>(
    workflow: string | Workflow<R>,
    input?: unknown,
    options: { runId?: string; delay?: number } = {},
  ): Promise<RemoteRun<R>> {
    const runId = options.runId ?? randomUUID();
    const { delay } = options;
    if (delay !== undefined && !(Number.isFinite(delay) && delay >= 0)) {
      throw new WorkflowError('invalid_workflow', `start delay must be a finite number of ms ≥ 0, not ${String(delay)}`);
    }
    const name = typeof workflow === 'string' ? workflow : workflow.name;
    const jobOptions = { ...this.#jobOptions, jobId: startJobId(runId), ...(delay === undefined ? {} : { delay }) };
    await this.queue.add('start', { kind: 'start', runId, workflow: name, input }, jobOptions);
    return this.run<R>(runId);
  }

  /**
   * Start a run of the workflow every `every` ms or on a cron `pattern` (BullMQ job schedulers, so one firing
   * per due time whatever the number of dispatchers and workers). Calling it again with the same `id` updates
   * the schedule. Each firing's run id is `<id>-<due time in epoch ms>`.
   *
   * @example
   * ```ts
   * await dispatcher.schedule('nightly-report', 'report', { pattern: '0 3 * * *', input: { days: 1 } });
   * await dispatcher.schedule('heartbeat', 'ping', { every: 60_000 });
   * ```
   */
  async schedule(id: string, workflow: string | Workflow<any>, options: ScheduleOptions): Promise<void> {
    await upsertSchedule(this.queue, id, typeof workflow === 'string' ? workflow : workflow.name, options, this.#jobOptions);
  }

  /** Remove a schedule (runs it started are left alone); resolves whether it existed. */
  unschedule(id: string): Promise<boolean> {
    return this.queue.removeJobScheduler(id);
  }

  /** Every schedule, with its next firing time. */
  schedules(): Promise<ScheduleInfo[]> {
    return listSchedules(this.queue);
  }

  /**
   * Runs nobody is running any more: one of their jobs failed for good (its attempts used up — e.g. the store
   * was down throughout —, or no worker knows the workflow) and they have no outcome. Continue one with
   * {@link Dispatcher.resume} once the cause is fixed, or abort it. A run is told apart as ended by its result
   * in Redis, kept for the workers' `retention` (a day by default) while failed jobs are kept a week: a run that
   * ended after such a failure shows here again once its result has expired.
   *
   * @example
   * ```ts
   * for (const run of await dispatcher.failed()) console.warn(`${run.runId}: ${run.job} job failed: ${run.reason}`);
   * ```
   */
  failed(): Promise<FailedRun[]> {
    return failedRuns(this.queue, this.#redis, this.#prefix);
  }

  /** A handle on a run started earlier (by any process). */
  run<R = unknown>(runId: string): RemoteRun<R> {
    return new Remote<R>(this, runId);
  }

  /** The run's RunEvents: replayed from after `afterSeq` (default: from the start), then live; completes at the end. */
  events$(runId: string, options: { afterSeq?: number } = {}): Observable<RunEvent> {
    return this.#feed.events$(runId, options.afterSeq);
  }

  /** Resolves the run's result, or rejects with its `WorkflowError`, once it has ended (on whatever worker). */
  result<R = unknown>(runId: string): Promise<R> {
    return this.#feed.result(runId) as Promise<R>;
  }

  /**
   * Answer an open input request of a run. Resolves once a worker has handed the answer to the run (a run
   * busy on another worker gets it when it next rests); rejects `unknown_request` for an id that is not
   * open, `not_running` once the run has ended, `not_found` for an unknown run.
   */
  respond(runId: string, requestId: string, response: unknown): Promise<void> {
    return this.#submit({ kind: 'respond', runId, requestId, response, since: Date.now() });
  }

  /**
   * Continue a run that no worker holds — one paused by a process using the same store, or one whose job
   * failed for good — on some worker. Resolves once resumed (at once for a run waiting for input);
   * rejects `not_running` for an ended run, `not_found` for an unknown one.
   */
  resume(runId: string): Promise<void> {
    return this.#control(runId, { type: 'resume' });
  }

  /**
   * Pause a run wherever it is: held by a worker (it stops dispatching at once, lets its in-flight steps
   * settle, then rests `paused` in the store), or resting in the store. Resolves once the run has stopped
   * dispatching; a run whose worker died is paused by the worker that takes it over. Rejects `not_running`
   * for an ended run, `not_found` for an unknown one.
   */
  pause(runId: string): Promise<void> {
    return this.#control(runId, { type: 'pause' });
  }

  /** Abort a run wherever it is (it ends `aborted`, `reason` in its error's details); rejects like {@link pause}. */
  abort(runId: string, reason?: unknown): Promise<void> {
    return this.#control(runId, reason === undefined ? { type: 'abort' } : { type: 'abort', reason });
  }

  /**
   * Send an event to a run wherever it is; resolves once a checkpoint holding the event is stored. A paused
   * run keeps it pending until resumed. Rejects `invalid_event` for an event the run refuses.
   */
  send(runId: string, event: WorkflowEvent): Promise<void> {
    return this.#control(runId, { type: 'send', event });
  }

  #control(runId: string, op: ControlOp): Promise<void> {
    return this.#submit({ kind: 'control', runId, op, since: Date.now() });
  }

  async close(): Promise<void> {
    const events = this.#queueEvents;
    this.#queueEvents = undefined;
    await Promise.allSettled([this.queue.close(), events?.then((e) => e.close())]);
    this.#redis.disconnect();
    this.#sub.disconnect();
  }

  /** Add a respond or resume job and settle once a worker has accepted it (or refused it). */
  async #submit(data: JobData): Promise<void> {
    const events = await this.#events();
    const jobId = `${data.kind}-${randomUUID()}`;
    let onProgress: ((args: { jobId: string; data: unknown }) => void) | undefined;
    const accepted = new Promise<{ refused?: ErrorInfo } | undefined>((resolve) => {
      onProgress = (args) => {
        if (args.jobId !== jobId) return;
        if (isAccepted(args.data)) resolve(undefined);
        else if (isRefusal(args.data)) resolve(args.data);
      };
      events.on('progress', onProgress);
    });
    try {
      const job: Job<JobData, JobOutcome> = await this.queue.add(data.kind, data, { ...this.#jobOptions, jobId });
      const finished = job.waitUntilFinished(events);
      finished.catch(() => undefined); // once accepted, its end (or the dispatcher closing) is nobody's business
      const outcome = await Promise.race([accepted, finished]).catch((error: unknown) => {
        throw new WorkflowError('store_failed', `the ${data.kind} job of run '${data.runId}' failed: ${describeThrown(error)}`, { cause: error });
      });
      if (outcome?.refused !== undefined) throw WorkflowError.fromInfo(outcome.refused);
    } finally {
      if (onProgress !== undefined) events.off('progress', onProgress);
    }
  }

  #events(): Promise<QueueEvents> {
    this.#queueEvents ??= (async () => {
      const events = new QueueEvents(this.queue.name, { connection: forBullmq(this.#connection) });
      events.on('error', () => undefined);
      await events.waitUntilReady();
      return events;
    })();
    return this.#queueEvents;
  }
}

const isRefusal = (progress: unknown): progress is { refused: ErrorInfo } =>
  typeof progress === 'object' && progress !== null && typeof (progress as { refused?: { code?: unknown } }).refused?.code === 'string';

class Remote<R> implements RemoteRun<R> {
  #result: Promise<R> | undefined;

  constructor(
    private readonly dispatcher: Dispatcher,
    readonly id: string,
  ) {}

  get events$(): Observable<RunEvent> {
    return this.dispatcher.events$(this.id);
  }

  get result(): Promise<R> {
    this.#result ??= this.dispatcher.result<R>(this.id);
    return this.#result;
  }

  respond(requestId: string, response: unknown): Promise<void> {
    return this.dispatcher.respond(this.id, requestId, response);
  }

  pause(): Promise<void> {
    return this.dispatcher.pause(this.id);
  }

  abort(reason?: unknown): Promise<void> {
    return this.dispatcher.abort(this.id, reason);
  }

  send(event: WorkflowEvent): Promise<void> {
    return this.dispatcher.send(this.id, event);
  }
}
