import type { Observable } from 'rxjs';
import type { WorkflowEvent } from '../events/event.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { RunStatus } from './status.js';

/**
 * A live run, returned by `wf.run()`, `wf.resume()` and `wf.resumeFrom()`.
 *
 * @example
 * ```ts
 * const run = wf.run('hello');
 * run.events$.subscribe((e) => console.log(e.seq, e.kind));
 * const snap = await run.pause();   // quiescent: in-flight steps have settled
 * run.resume();
 * console.log(await run.result);
 * ```
 */
export interface RunHandle<R = unknown> {
  readonly id: string;
  /** The StopEvent's `result`; rejects with a `WorkflowError`. */
  readonly result: Promise<R>;
  /** Emits the result once, synchronously at the outcome, then completes; errors with the `WorkflowError`. */
  readonly result$: Observable<R>;
  /**
   * Every RunEvent from the start of the run (bounded replay, `gap` when older ones were dropped); completes at the
   * end. RunEvents are read-only: every subscriber gets the same objects, and a store may keep them as they are
   * (`MemoryStore` freezes them when it saves them to the journal).
   */
  readonly events$: Observable<RunEvent>;
  /** The current status on subscribe, then every change; completes when the run ends. */
  readonly status$: Observable<RunStatus>;
  readonly status: RunStatus;
  /** Free-form JSON kept in the snapshot (e.g. a trace context); survives resume. */
  readonly metadata: Readonly<Record<string, unknown>>;
  setMetadata(key: string, value: unknown): void;
  /**
   * Stop dispatching now; resolves with an exact snapshot once in-flight steps have settled. The snapshot is
   * frozen (`structuredClone` it to edit): a paused run with nothing live left — no step in flight or waiting,
   * no child run, pipe step, rate limit, debounce or keyed limit — is from then on held as that snapshot alone
   * (DESIGN §6.1; with a store, once its paused state is saved), and woken by `resume`, `send`, `abort`… as if
   * it had never been parked.
   */
  pause(): Promise<Snapshot>;
  /** Continue a paused run (nothing happens if it is not paused); throws `not_running` once it has ended, as `pause`, `send` and `respond` do. */
  resume(): void;
  /**
   * End the run now as `aborted`. Idempotent, by design unlike the other controls: nothing happens once the run
   * has ended, so cleanup code can always call it.
   */
  abort(reason?: unknown): void;
  /** Inject an event from outside (no `source`). */
  send(event: WorkflowEvent): void;
  /** Plain-JSON picture of the run right now, including pending and in-flight events (frozen while the run is parked: see `pause`). */
  snapshot(): Snapshot;
  /** Answer an open input request; unknown or expired ids throw `unknown_request`. */
  respond(requestId: string, response: unknown): void;
  /** Resolves once every checkpoint due so far has been written to the store (at once without a store). */
  flush(): Promise<void>;
}
