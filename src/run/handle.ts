import type { Observable } from 'rxjs';
import type { WorkflowEvent } from '../events/event.js';
import type { Snapshot } from '../snapshot/schema.js';
import type { RunEvent } from '../telemetry/runEvent.js';
import type { WorkflowSpec } from '../workflow/spec.js';
import { LiveRun } from './LiveRun.js';
import { ParkedRun, type RunOwner } from './parked.js';
import type { RunHandle } from './RunHandle.js';
import type { RunStart } from './runStart.js';
import type { RunStatus } from './status.js';

/**
 * The handle `wf.run()`, `wf.resume()` and `wf.resumeFrom()` return. It holds the live run — or, while the run
 * is paused and quiescent with nothing live, the run parked as its snapshot (see {@link ParkedRun}). Reading a
 * parked run (status, events, result, snapshot) leaves it parked; `resume`, `send`, `abort`… wake it first,
 * and a run woken while paused parks again at its next settle.
 */
export class Handle implements RunHandle, RunOwner {
  readonly id: string;
  /** The live run, or the run parked. */
  private current: LiveRun | ParkedRun;
  private resultPromise: Promise<unknown> | undefined;

  constructor(
    private readonly spec: WorkflowSpec,
    start: RunStart,
  ) {
    const run = new LiveRun(spec, start, this);
    this.current = run;
    this.id = run.id;
  }

  /** @internal The snapshot a parked run is held as; undefined while it is live. */
  get parkedSnapshot(): Snapshot | undefined {
    return this.current instanceof ParkedRun ? this.current.snapshot() : undefined;
  }

  /** @internal */
  parked(run: ParkedRun): void {
    this.current = run;
  }

  /** @internal */
  awake(): LiveRun {
    const current = this.current;
    if (current instanceof LiveRun) return current;
    const run = new LiveRun(this.spec, { kind: 'wake', parked: current }, this);
    this.current = run;
    return run;
  }

  get status(): RunStatus {
    return this.current.status;
  }

  get events$(): Observable<RunEvent> {
    return this.current.events$;
  }

  get status$(): Observable<RunStatus> {
    return this.current.status$;
  }

  get result$(): Observable<unknown> {
    return this.current.result$;
  }

  get result(): Promise<unknown> {
    this.resultPromise ??= new Promise((resolve, reject) => this.current.result$.subscribe({ next: resolve, error: reject }));
    return this.resultPromise;
  }

  get metadata(): Readonly<Record<string, unknown>> {
    return this.current.metadata;
  }

  snapshot(): Snapshot {
    return this.current.snapshot();
  }

  pause(): Promise<Snapshot> {
    return this.current.pause();
  }

  /** @internal Pause with a parent run (see children.ts): a parked run is quiet already. */
  pauseThen(onQuiet: (snapshot: Snapshot) => void, onEnd: (error: unknown) => void): void {
    this.current.pauseThen(onQuiet, onEnd);
  }

  resume(): void {
    this.awake().resume();
  }

  abort(reason?: unknown): void {
    this.awake().abort(reason);
  }

  send(event: WorkflowEvent): void {
    this.awake().send(event);
  }

  respond(requestId: string, response: unknown): void {
    this.changeParked((run) => run.respond(requestId, response));
  }

  setMetadata(key: string, value: unknown): void {
    this.changeParked((run) => run.setMetadata(key, value));
  }

  flush(): Promise<void> {
    return this.current.flush();
  }

  /** A change that does not settle the run by itself: a run woken for it parks again (with the change, if any). */
  private changeParked(change: (run: LiveRun) => void): void {
    const woken = this.current instanceof ParkedRun;
    const run = this.awake();
    try {
      change(run);
    } finally {
      if (woken) run.settle();
    }
  }
}
