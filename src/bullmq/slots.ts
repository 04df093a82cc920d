import { ReplaySubject } from 'rxjs';
import type { RunHandle } from '../run/RunHandle.js';
import { isTerminal } from '../run/status.js';
import type { JobStore } from './JobStore.js';

/** Why a worker lets go of a run before it rests: closing (hand it back to the queue), or its job's lock is gone. */
export type Release = 'handoff' | 'lost';

/** A run this process holds, or is about to: at most one per run id, so two jobs of one run never both run it here. */
export class Slot {
  run: RunHandle | undefined;
  jobStore: JobStore | undefined;
  readonly released = new ReplaySubject<Release>(1);
  readonly ready: Promise<void>;
  readonly done: Promise<void>;
  #ready!: () => void;
  #done!: () => void;

  constructor(readonly jobId: string | undefined) {
    this.ready = new Promise((resolve) => (this.#ready = resolve));
    this.done = new Promise((resolve) => (this.#done = resolve));
  }

  hold(run: RunHandle, jobStore: JobStore): void {
    this.run = run;
    this.jobStore = jobStore;
    this.#ready();
  }

  end(): void {
    this.#ready();
    this.#done();
  }
}

/**
 * The runs a worker process holds, one slot per run id: who holds which run, handing them all off when the
 * worker closes, and letting go of those whose job locks BullMQ lost.
 *
 * @example
 * ```ts
 * const slot = slots.open(runId, job.id);
 * try { … slot.hold(run, jobStore) … } finally { slots.close(runId, slot); slot.end(); }
 * ```
 */
export class Slots {
  readonly #slots = new Map<string, Slot>();

  /** Runs held (or being picked up) right now. */
  get size(): number {
    return this.#slots.size;
  }

  get(runId: string): Slot | undefined {
    return this.#slots.get(runId);
  }

  /** A new slot for `runId`, taking the place of any other. */
  open(runId: string, jobId: string | undefined): Slot {
    const slot = new Slot(jobId);
    this.#slots.set(runId, slot);
    return slot;
  }

  /** Forget `slot` if it still holds `runId`. */
  close(runId: string, slot: Slot): void {
    if (this.#slots.get(runId) === slot) this.#slots.delete(runId);
  }

  /** The live run `slot` holds once it is ready; undefined if the slot was let go meanwhile or its run ended. */
  async live(runId: string, slot: Slot): Promise<RunHandle | undefined> {
    await slot.ready;
    const run = slot.run;
    return this.#slots.get(runId) === slot && run !== undefined && !isTerminal(run.status) ? run : undefined;
  }

  /** Tell every held run to be let go (the worker is closing). */
  handOff(): void {
    for (const slot of this.#slots.values()) slot.released.next('handoff');
  }

  /** Tell the runs of these jobs to stop at once: their locks are gone. */
  lost(jobIds: readonly string[]): void {
    for (const slot of this.#slots.values()) if (slot.jobId !== undefined && jobIds.includes(slot.jobId)) slot.released.next('lost');
  }
}
