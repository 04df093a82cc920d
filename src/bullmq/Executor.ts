import { UnrecoverableError, type Job } from 'bullmq';
import { filter, firstValueFrom, from, map, merge, race, skip, type Observable } from 'rxjs';
import { WorkflowError } from '../errors/WorkflowError.js';
import type { RunHandle } from '../run/RunHandle.js';
import { isTerminal, type RunStatus } from '../run/status.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import type { Workflow } from '../workflow/workflow.js';
import { applyControl, backoff, clockParkedTime, controlOf, firstDue, lastEventAt, later, refused, respond } from './held.js';
import { JobStore } from './JobStore.js';
import { ACCEPTED, expiryJobId, scheduledRunId, type ControlOp, type JobData, type JobOutcome } from './protocol.js';
import type { Publisher } from './publisher.js';
import { Slots, type Release, type Slot } from './slots.js';

export interface ExecutorOptions {
  store: CheckpointStore;
  publisher: Publisher;
  workflows: ReadonlyMap<string, Workflow<unknown>>;
  /** Add a job to the queue (for deadline checks). */
  enqueue(data: JobData, options: { delay: number; jobId: string }): Promise<unknown>;
  /** Ask the worker holding a run (elsewhere) to apply a control; `undefined` when none answers. */
  ask(runId: string, op: ControlOp): Promise<JobOutcome | undefined>;
}

/**
 * What a worker does with one job. A job holds its run until the run rests — ends, or parks (`waiting` or
 * `paused`) with that state checkpointed — and the job completes then; a parked run is continued by a later
 * respond or resume job on any worker, from the store. Every run starts or resumes from the store's latest
 * checkpoint, so a job retried after its worker died (BullMQ's stalled-job recovery) picks the run up where
 * that worker last saved it.
 */
export class Executor {
  readonly #slots = new Slots();
  #closing = false;

  constructor(private readonly options: ExecutorOptions) {}

  /** Runs held (or being picked up) right now. */
  get held(): number {
    return this.#slots.size;
  }

  /** Let go of every held run (the worker is closing): each job goes back to the queue for another worker. */
  handOff(): void {
    this.#closing = true;
    this.#slots.handOff();
  }

  /** BullMQ lost these jobs' locks: another worker may be running their runs already, so stop here at once. */
  lost(jobIds: readonly string[]): void {
    this.#slots.lost(jobIds);
  }

  /** Apply a control to a run this process holds; `undefined` when it holds none of that id. */
  async control(runId: string, op: ControlOp): Promise<JobOutcome | undefined> {
    const slot = this.#slots.get(runId);
    if (slot === undefined) return undefined;
    const run = await this.#slots.live(runId, slot);
    return run === undefined ? undefined : applyControl(run, slot.jobStore, op);
  }

  async process(job: Job<JobData, JobOutcome>, token: string | undefined): Promise<JobOutcome> {
    if (job.data.kind === 'start' && job.data.schedule !== undefined && job.data.runId === '') {
      job.data = { ...job.data, runId: scheduledRunId(job.data.schedule, job.id) };
    }
    const { runId } = job.data;
    if (this.#closing) return later(job, token, 0);
    const op = controlOf(job.data);
    // Another job of this process holds the run: answer or control it there, or wait until it lets go.
    for (let slot = this.#slots.get(runId); slot !== undefined; slot = this.#slots.get(runId)) {
      const data = job.data;
      if (data.kind === 'respond' || op !== undefined) {
        const run = await this.#slots.live(runId, slot);
        if (run !== undefined) {
          return data.kind === 'respond' ? respond(run, data.requestId, data.response) : applyControl(run, slot.jobStore, op ?? { type: 'resume' });
        }
      }
      await slot.done;
    }
    const slot = this.#slots.open(runId, job.id);
    try {
      return await this.#acquire(job, token, slot);
    } finally {
      // Every way out lets go of the run (it ended, or lives on in the store); after a failure, do it here.
      if (slot.run !== undefined && !isTerminal(slot.run.status)) this.#letGo(slot, 'its job failed');
      this.#slots.close(runId, slot);
      slot.end();
    }
  }

  async #acquire(job: Job<JobData, JobOutcome>, token: string | undefined, slot: Slot): Promise<JobOutcome> {
    const data = job.data;
    const { runId } = data;
    const { store } = this.options;
    let snapshot = await store.load(runId);
    if (snapshot === undefined) {
      if (data.kind !== 'start') return refused(runId, 'unknown', 'not_found', `no checkpoint of run '${runId}' in the store`);
      const jobStore = this.#jobStore(runId);
      const run = this.#workflow(data.workflow).withOptions({ store: jobStore }).run(data.input, { runId });
      jobStore.attach(run);
      slot.hold(run, jobStore);
      if (await jobStore.claim(run.snapshot())) return this.#hold(job, token, slot, run, jobStore);
      // Another worker stored the run first (a duplicate of this job): continue from what it stored instead.
      run.abort('sluice/bullmq: another worker started this run');
      snapshot = await store.load(runId);
      if (snapshot === undefined) throw new WorkflowError('store_failed', `run '${runId}' was claimed by another worker, then vanished from the store`);
    }

    if (isTerminal(snapshot.status)) {
      await this.#publishStored(snapshot);
      return data.kind === 'start'
        ? { runId, status: snapshot.status }
        : refused(runId, snapshot.status, 'not_running', `run '${runId}' already ended (${snapshot.status})`);
    }
    // Waiting counts against input deadlines, also while the run rests in the store.
    if (snapshot.status === 'waiting') snapshot = clockParkedTime(snapshot, Date.now(), await lastEventAt(store, snapshot));
    const op = controlOf(data);
    if (data.kind === 'respond') {
      // Held by a worker (or by one that died and whose job BullMQ will retry): answer once it rests.
      if (snapshot.status === 'running') return later(job, token, backoff(data.since));
      const open = snapshot.waiting.find((w) => w.requestId === data.requestId);
      if (open === undefined || open.remainingMs === 0) {
        const why = open === undefined ? 'no open input request' : 'expired input request';
        return refused(runId, snapshot.status, 'unknown_request', `${why} '${data.requestId}' in run '${runId}'`);
      }
    } else if (data.kind === 'resume' && data.expiring !== undefined) {
      // A deadline check: only for the parking it was scheduled for; the run may have moved on since.
      if (snapshot.status !== 'waiting' || snapshot.seq !== data.expiring) return { runId, status: snapshot.status };
    } else if (op !== undefined) {
      if (snapshot.status === 'running') {
        // Held by a worker: it applies the control. Nobody answering means its holder died and BullMQ has yet
        // to hand its job on, so look again later; only a resume takes a run nobody holds from the store.
        const outcome = await this.options.ask(runId, op);
        if (outcome !== undefined) return outcome;
        if (op.type !== 'resume') return later(job, token, backoff(data.kind === 'control' ? data.since : Date.now()));
      } else if (op.type === 'pause' && snapshot.status === 'paused') {
        return { runId, status: snapshot.status };
      } else if (op.type === 'resume' && snapshot.status === 'waiting') {
        await this.#publishStored(snapshot);
        await this.#checkDeadlines(snapshot, snapshot.seq);
        return { runId, status: snapshot.status };
      }
    } else if (snapshot.status === 'waiting' || (snapshot.status === 'paused' && data.kind === 'start')) {
      // Parked: nothing to run until it is answered or resumed. A retried job only makes sure its events are
      // out and its deadline check is scheduled.
      await this.#publishStored(snapshot);
      await this.#checkDeadlines(snapshot, snapshot.seq);
      return { runId, status: snapshot.status };
    }

    const jobStore = this.#jobStore(runId);
    let run: RunHandle;
    try {
      run = this.#workflow(snapshot.workflow).withOptions({ store: jobStore }).resume(snapshot);
    } catch (error) {
      if (WorkflowError.is(error)) return refused(runId, snapshot.status, error.code, error.message);
      throw error;
    }
    jobStore.attach(run);
    slot.hold(run, jobStore);
    let progress: object = ACCEPTED;
    if (data.kind === 'respond' || (op !== undefined && op.type !== 'resume')) {
      // A paused run takes the answer (or event) and stays paused: it is delivered when the run is resumed.
      if (snapshot.status === 'paused') run.pause().catch(() => undefined);
      if (data.kind === 'respond') run.respond(data.requestId, data.response);
      else if (op !== undefined) {
        const outcome = await applyControl(run, jobStore, op);
        if (outcome.refused !== undefined) progress = { refused: outcome.refused };
      }
    }
    // Tell a waiting dispatcher the answer (or the control) is in; the job itself lasts until the run rests.
    if (data.kind !== 'start') await job.updateProgress(progress).catch(() => undefined);
    return this.#hold(job, token, slot, run, jobStore);
  }

  /** Keep the run until it rests (then complete the job) or must be let go. */
  async #hold(job: Job<JobData, JobOutcome>, token: string | undefined, slot: Slot, run: RunHandle, jobStore: JobStore): Promise<JobOutcome> {
    const rest$ = run.status$.pipe(filter((s) => s !== 'running'));
    // After a failed save of a resting state: the engine's retry of that save, or any change of status.
    const change$: Observable<unknown> = merge(jobStore.attempts$, run.status$.pipe(skip(1)));
    let wait$: Observable<unknown> = rest$;
    for (;;) {
      const release = await firstValueFrom(race(wait$.pipe(map(() => undefined)), slot.released), { defaultValue: undefined });
      if (release !== undefined) return this.#release(release, job, token, slot, run);
      await settled(run);
      if (isTerminal(run.status)) return this.#finish(job, token, run, jobStore);
      if (run.status === 'paused') {
        // A paused run rests only once quiescent: its in-flight steps settle here (their outputs join the pending
        // queue) and that state is stored; letting go earlier would cut them off and run them again elsewhere.
        const quiet = from(run.pause().then(noop, noop));
        const release = await firstValueFrom(race(quiet.pipe(map(noop)), slot.released), { defaultValue: undefined });
        if (release !== undefined) return this.#release(release, job, token, slot, run);
        if (run.status === 'paused') await jobStore.checkpoint(run.snapshot()).catch(noop);
        if (isTerminal(run.status)) return this.#finish(job, token, run, jobStore);
      }
      const status = run.status;
      const saved = jobStore.saved;
      if (status !== 'running' && !jobStore.lastSaveFailed && saved?.status === status) {
        // Parked, and stored so: let go (synchronously, so no local respond can slip in between).
        const parked = run.snapshot();
        this.#letGo(slot, 'parked in the store');
        await this.#checkDeadlines(parked, saved.seq);
        return { runId: run.id, status };
      }
      wait$ = run.status === 'running' ? rest$ : change$;
    }
  }

  async #finish(job: Job<JobData, JobOutcome>, token: string | undefined, run: RunHandle, jobStore: JobStore): Promise<JobOutcome> {
    const status: RunStatus = run.status;
    try {
      // The engine saves the final checkpoint once, without retrying: if that did not go in, try once more here.
      if (jobStore.lastSaveFailed || jobStore.saved?.status !== status) await jobStore.save(run.snapshot());
    } catch (error) {
      // Another worker checkpointed the run meanwhile: look at it again from the store.
      if (WorkflowError.is(error) && error.code === 'store_conflict') return later(job, token, 0);
      // Anything else (the store is down) fails this attempt; BullMQ retries it from the last checkpoint.
      throw error;
    } finally {
      jobStore.fence();
    }
    return { runId: run.id, status };
  }

  async #release(release: Release, job: Job<JobData, JobOutcome>, token: string | undefined, slot: Slot, run: RunHandle): Promise<never> {
    if (release === 'lost') {
      this.#letGo(slot, 'its job lock was lost');
      throw new WorkflowError('store_conflict', `lost the lock of the job holding run '${run.id}'; another worker continues it`);
    }
    // Closing: let the checkpoint being written finish, then hand the job back; the next worker resumes from it.
    await settled(run);
    this.#letGo(slot, 'the worker is closing');
    return later(job, token, 0);
  }

  /**
   * Stop the local copy of a run that lives on in the store: fence its saves first, so the abort below is
   * neither checkpointed nor published (a logger on the worker still logs it, with this reason).
   */
  #letGo(slot: Slot, why: string): void {
    const { run, jobStore } = slot;
    if (run === undefined || jobStore === undefined) return;
    this.#slots.close(run.id, slot);
    jobStore.fence();
    run.abort(`sluice/bullmq: ${why}`);
  }

  /**
   * A run parked while waiting on requests with deadlines (or sleeping) is held by no worker, so nothing would
   * expire or wake them: enqueue a resume for when the first is due (once per parking), which lets them expire
   * or wake as they would have in a run held all along.
   */
  async #checkDeadlines(snapshot: Snapshot, seq: number): Promise<void> {
    if (snapshot.status !== 'waiting') return;
    const delay = firstDue(snapshot, Date.now());
    if (delay === undefined) return;
    const { runId } = snapshot;
    await this.options.enqueue({ kind: 'resume', runId, expiring: seq }, { delay, jobId: expiryJobId(runId, seq) });
  }

  /** Publish what the stored journal holds beyond the run's Stream (a worker that died after saving did not). */
  async #publishStored(snapshot: Snapshot): Promise<void> {
    const { runId } = snapshot;
    const after = await this.options.publisher.lastSeq(runId);
    if (after >= snapshot.seq) return;
    const events = await this.options.store.events(runId, { afterSeq: after });
    if (events.length > 0) await this.options.publisher.publish(runId, events);
  }

  #jobStore(runId: string): JobStore {
    return new JobStore(this.options.store, this.options.publisher, runId);
  }

  #workflow(name: string): Workflow<unknown> {
    const wf = this.options.workflows.get(name);
    if (wf === undefined) throw new UnrecoverableError(`invalid_workflow: no workflow '${name}' on this worker`);
    return wf;
  }
}

const noop = (): undefined => undefined;

/** Wait for the saves in progress; whether they went in is the JobStore's to say. */
const settled = (run: RunHandle): Promise<void> => run.flush().catch(() => undefined);
