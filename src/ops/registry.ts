import type { RunHandle } from '../run/RunHandle.js';
import { isTerminal } from '../run/status.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';

/**
 * What `start` and `recover` need of a workflow (a `Workflow` is one; structural, so this layer sits below
 * the builder that calls it).
 */
export interface WorkflowLike<R = unknown> {
  readonly name: string;
  readonly options: { readonly store?: CheckpointStore };
  run(input?: unknown, options?: { state?: Record<string, unknown>; runId?: string; replay?: number }): RunHandle<R>;
  resume(snapshot: unknown): RunHandle<R>;
  withOptions(options: { store: CheckpointStore }): WorkflowLike<R>;
}

/** The runs of workflows without a store share this key. */
const NO_STORE = {};

/**
 * Runs this process has live through `wf.start` and `recover`, per store: one handle per run id, registered
 * before the first `await`, so two starts of one id in one process give one run whatever their timing. A run
 * leaves once it has ended and its final checkpoint is written: from then on the store has its outcome.
 */
const live = new WeakMap<object, Map<string, Promise<RunHandle<any>>>>();

function runsOf(store: CheckpointStore | undefined): Map<string, Promise<RunHandle<any>>> {
  const key = store ?? NO_STORE;
  let runs = live.get(key);
  if (runs === undefined) {
    runs = new Map();
    live.set(key, runs);
  }
  return runs;
}

/** The live handle of `runId` in this process, or the one `open` makes (which becomes the live one). */
export function follow<R>(store: CheckpointStore | undefined, runId: string, open: () => Promise<RunHandle<R>>): Promise<RunHandle<R>> {
  const runs = runsOf(store);
  const known = runs.get(runId);
  if (known !== undefined) return known as Promise<RunHandle<R>>;
  const forget = () => {
    if (runs.get(runId) === opening) runs.delete(runId);
  };
  const opening = open().then(
    (run) => {
      if (isTerminal(run.status)) forget();
      else void run.result.then(noop, noop).then(() => run.flush()).then(forget, forget);
      return run;
    },
    (error: unknown) => {
      forget();
      throw error;
    },
  );
  runs.set(runId, opening);
  return opening;
}

/** Whether this process has `runId` live (or is opening it) for `store`. */
export const isLive = (store: CheckpointStore | undefined, runId: string): boolean => runsOf(store).has(runId);

const noop = (): void => undefined;
