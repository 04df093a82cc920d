import { Queue, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import type { Workflow } from '../workflow/workflow.js';
import { forBullmq, openClient, type Connection } from './connection.js';
import { ControlBus } from './control.js';
import { Executor } from './Executor.js';
import { DEFAULT_JOB_OPTIONS, DEFAULT_PREFIX, DEFAULT_QUEUE, type JobData, type JobOutcome } from './protocol.js';
import { Publisher } from './publisher.js';

/** How long a worker asking for the holder of a run (to pause, abort or send to it) waits for an answer. */
const CONTROL_WAIT_MS = 1_000;

export interface RunWorkerOptions {
  connection: Connection;
  /**
   * Where runs are checkpointed: a store every worker (and whoever resumes runs) shares, e.g. `RedisStore` or
   * `PostgresStore`. One instance per worker process: its optimistic concurrency tells the processes apart.
   */
  store: CheckpointStore;
  /** Runs this worker holds at once (BullMQ job concurrency; default 10). A run is held until it ends or parks. */
  concurrency?: number;
  /** BullMQ queue name (default `sluice`); the dispatcher's must match. */
  queue?: string;
  /** Prefix of sluice's keys and channels (default `sluice:`); the dispatcher's must match. */
  prefix?: string;
  /** How long a finished run's events and result stay in Redis, in ms (default one day; 0 = forever). */
  retention?: number;
  /**
   * Other BullMQ worker settings, e.g. `lockDuration` and `stalledInterval` (default 30 s each): a crashed
   * worker's runs are picked up by another worker once its job locks expire and a stalled check finds them.
   */
  bullmq?: Omit<WorkerOptions, 'connection' | 'concurrency' | 'autorun'>;
  /** Errors BullMQ reports outside any job (connection trouble, a lock that could not be renewed). */
  onError?: (error: Error) => void;
}

/**
 * Executes runs from the queue: start, resume and respond jobs of a {@link Dispatcher}. See {@link worker}.
 */
export class RunWorker {
  /** The BullMQ worker underneath (for its events and metrics). */
  readonly bullmq: Worker<JobData, JobOutcome>;
  readonly #executor: Executor;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #control: ControlBus;
  /** For the jobs this worker adds itself (deadline checks), opened on first use. */
  #queue: Queue<JobData, JobOutcome> | undefined;
  #closing: Promise<void> | undefined;

  constructor(workflows: readonly Workflow<any>[], options: RunWorkerOptions) {
    const byName = new Map<string, Workflow<unknown>>();
    for (const wf of workflows) {
      wf.validate();
      if (byName.has(wf.name)) throw new WorkflowError('invalid_workflow', `two workflows are named '${wf.name}'`);
      if (wf.options.history === false) {
        // Events and results that a crashed worker saved but did not publish are republished from the history.
        throw new WorkflowError('invalid_workflow', `workflow '${wf.name}': sluice/bullmq needs the run history (history: false)`);
      }
      byName.set(wf.name, wf);
    }
    this.#redis = openClient(options.connection);
    this.#sub = openClient(options.connection);
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const publisher = new Publisher(this.#redis, prefix, options.retention ?? 24 * 3600_000);
    const queue = options.queue ?? DEFAULT_QUEUE;
    this.#executor = new Executor({
      store: options.store,
      publisher,
      workflows: byName,
      enqueue: (data, jobOptions) => {
        this.#queue ??= new Queue<JobData, JobOutcome>(queue, { connection: forBullmq(options.connection) });
        return this.#queue.add(data.kind, data, { ...DEFAULT_JOB_OPTIONS, ...jobOptions });
      },
      ask: (runId, op) => this.#control.ask(runId, op, CONTROL_WAIT_MS),
    });
    // Remote pause/abort/send of runs held here arrive on the control channel.
    this.#control = new ControlBus(this.#redis, this.#sub, prefix, (runId, op) => this.#executor.control(runId, op));
    this.#control.ready().catch(() => undefined);
    this.bullmq = new Worker<JobData, JobOutcome>(
      queue,
      (job, token) => this.#executor.process(job, token),
      { ...options.bullmq, connection: forBullmq(options.connection), concurrency: options.concurrency ?? 10 },
    );
    const onError = options.onError ?? (() => undefined);
    this.bullmq.on('error', onError);
    this.bullmq.on('lockRenewalFailed', (jobIds: string[]) => this.#executor.lost(jobIds));
  }

  /** Runs held right now. */
  get held(): number {
    return this.#executor.held;
  }

  /** Resolves once connected to Redis and taking jobs. */
  async ready(): Promise<void> {
    await Promise.all([this.bullmq.waitUntilReady(), this.#control.ready()]);
  }

  /**
   * Stop taking jobs and hand every held run back to the queue: its job is re-queued (no attempt counted) and
   * another worker resumes the run from its last checkpoint; steps in flight there run again (at-least-once).
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = this.bullmq.close();
      this.#executor.handOff();
      await closed;
      await this.#queue?.close();
      this.#redis.disconnect();
      this.#sub.disconnect();
    })();
    return this.#closing;
  }
}

/**
 * Run workflows from the queue in this process. Start as many worker processes as you like, on any machines
 * sharing the Redis and the store: a run that parks (waiting for input, paused) is continued by whichever
 * worker takes its next job, and a worker killed mid-run has its runs resumed elsewhere from their last
 * checkpoint once BullMQ finds their jobs stalled.
 *
 * @example
 * ```ts
 * import { worker } from 'sluice/bullmq';
 * import { RedisStore } from 'sluice/redis';
 * const w = worker([qa, approvals], { connection: 'redis://127.0.0.1:6379', store: new RedisStore(), concurrency: 20 });
 * process.on('SIGTERM', () => void w.close());   // hands held runs to the other workers
 * ```
 */
export function worker(workflows: readonly Workflow<any>[], options: RunWorkerOptions): RunWorker {
  return new RunWorker(workflows, options);
}
