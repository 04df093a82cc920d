import { from, Observable, of, throwError, type Observable as Obs } from 'rxjs';
import { WorkflowError, type ErrorInfo } from '../errors/WorkflowError.js';
import type { WorkflowEvent } from '../events/event.js';
import type { RunHandle } from '../run/RunHandle.js';
import type { RunStatus } from '../run/status.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { CheckpointStore } from '../stores/CheckpointStore.js';
import { TERMINAL_KINDS, type RunEvent } from '../telemetry/runEvent.js';

/** How a stored run ended: its result, or its error. */
export type Outcome = { result: unknown } | { error: ErrorInfo };

/** The store's journal of a run when it keeps one (snapshot version 2), else the snapshot's own history. */
export async function storedEvents(store: CheckpointStore, snapshot: Snapshot): Promise<RunEvent[]> {
  const journal = (store as { events?: (runId: string) => Promise<RunEvent[]> }).events;
  if (typeof journal === 'function') {
    const events = await journal.call(store, snapshot.runId);
    if (events.length > 0) return events;
  }
  return (snapshot as { history?: RunEvent[] }).history ?? [];
}

/**
 * The outcome of a terminal snapshot: its `outcome` field (snapshot version 2), else its terminal RunEvent;
 * a run whose end left no trace (history off) gets a result of `undefined` or an error naming its status.
 */
export function outcomeOf(snapshot: Snapshot, events: readonly RunEvent[]): Outcome {
  const stored = (snapshot as { outcome?: Outcome }).outcome;
  if (stored !== undefined) return stored;
  const end = [...events].reverse().find((e) => TERMINAL_KINDS.has(e.kind));
  if (end?.kind === 'run_completed') return { result: end.result };
  if (end !== undefined && 'error' in end) return { error: end.error };
  if (snapshot.status === 'completed') return { result: undefined };
  const code = snapshot.status === 'timed_out' ? 'timeout' : snapshot.status === 'aborted' ? 'aborted' : 'step_failed';
  return { error: { code, message: `run ${snapshot.runId} ended ${snapshot.status}` } };
}

const errorOf = (info: ErrorInfo): WorkflowError =>
  new WorkflowError(info.code, info.message, info.step === undefined ? {} : { step: info.step });

/**
 * A handle on a run that ended before this process looked: everything it says comes from the store. Its
 * controls do what they do on any ended run (`pause` rejects `not_running`, `abort` and `resume` do nothing).
 */
export class EndedRun<R = unknown> implements RunHandle<R> {
  readonly id: string;
  readonly result: Promise<R>;
  readonly result$: Obs<R>;
  readonly events$: Obs<RunEvent>;
  readonly status$: Obs<RunStatus>;
  readonly status: RunStatus;
  readonly metadata: Readonly<Record<string, unknown>>;

  constructor(
    private readonly final: Snapshot,
    events: readonly RunEvent[],
  ) {
    this.id = final.runId;
    this.status = final.status;
    this.metadata = final.metadata;
    const outcome = outcomeOf(final, events);
    this.result$ = 'result' in outcome ? of(outcome.result as R) : throwError(() => errorOf(outcome.error));
    this.result = 'result' in outcome ? Promise.resolve(outcome.result as R) : Promise.reject(errorOf(outcome.error));
    this.result.catch(() => undefined); // only rejected for those who look
    this.events$ = from(events);
    this.status$ = new Observable<RunStatus>((subscriber) => {
      subscriber.next(this.status);
      subscriber.complete();
    });
  }

  setMetadata(): void {}

  pause(): Promise<Snapshot> {
    return Promise.reject(new WorkflowError('not_running', `run ${this.id} has ended (${this.status})`));
  }

  resume(): void {}

  abort(): void {}

  send(_event: WorkflowEvent): void {
    throw new WorkflowError('not_running', `run ${this.id} has ended (${this.status}); cannot send`);
  }

  snapshot(): Snapshot {
    return this.final;
  }

  respond(): void {
    throw new WorkflowError('not_running', `run ${this.id} has ended (${this.status}); cannot respond`);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}
