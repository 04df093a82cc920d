import type { SchedulerLike } from 'rxjs';
import type { ChildHandle, ChildStarter } from '../context/childRuns.js';
import type { Snapshot } from '../snapshot/schema.js';
import { isTerminal } from '../snapshot/status.js';
import type { EventLog } from './eventLog.js';
import type { Invocation } from './invocation.js';

interface ChildRun {
  readonly invocation: Invocation;
  readonly run: ChildHandle;
  /** The child paused with its parent and counts as settled for the parent's pause. */
  parked: boolean;
}

/** A child run that can pause with its parent within the same virtual-time frame (a `Run` is one). */
interface PausableChild extends ChildHandle {
  pauseThen(onQuiet: (snapshot: Snapshot) => void, onEnd: (error: unknown) => void): void;
}

/** What child runs need from their parent. */
export interface ChildHost {
  readonly scheduler: SchedulerLike;
  readonly log: EventLog;
  readonly ended: boolean;
  readonly paused: boolean;
  park(inv: Invocation): void;
  unpark(inv: Invocation): void;
  settle(): void;
}

/**
 * A run's sub-workflow runs in flight, keyed `<invocationId>#<branch>`: they pause with the parent (and then
 * count as settled for its pause), are part of its snapshot, and continue from it after resume.
 */
export class Children {
  private readonly live = new Map<string, ChildRun>();

  constructor(
    private readonly host: ChildHost,
    /** Snapshots of children carried by a resumed parent, taken back as their steps start them again. */
    private readonly restored = new Map<string, Snapshot>(),
  ) {}

  get size(): number {
    return this.live.size;
  }

  /** Start (or, after resume, continue from its snapshot) a child run owned by `inv`. */
  start(inv: Invocation, branch: string, starter: ChildStarter): ChildHandle {
    const key = `${inv.id}#${branch}`;
    const snapshot = this.restored.get(key);
    this.restored.delete(key);
    const child = starter(this.host.scheduler, snapshot);
    const entry: ChildRun = { invocation: inv, run: child, parked: false };
    this.live.set(key, entry);
    const replayed = snapshot?.seq ?? 0;
    child.events$.subscribe({
      next: (event) => {
        if (event.seq > replayed && !this.host.ended) {
          this.host.log.emit({ kind: 'child', step: inv.step.name, invocationId: inv.id, childRunId: child.id, event });
        }
      },
      complete: () => {
        if (this.live.get(key) === entry) this.live.delete(key);
        this.unpark(entry);
      },
    });
    if (this.host.paused) this.pause(entry);
    return child;
  }

  pauseAll(): void {
    for (const child of this.live.values()) this.pause(child);
  }

  resumeAll(): void {
    for (const child of this.live.values()) {
      this.unpark(child);
      if (!isTerminal(child.run.status)) child.run.resume();
    }
  }

  snapshot(): Record<string, Snapshot> {
    return Object.fromEntries(
      [...this.live].map(([key, child]) => [key, child.run.snapshot()] as const).concat([...this.restored]),
    );
  }

  private pause(entry: ChildRun): void {
    (entry.run as PausableChild).pauseThen(
      () => {
        if (!this.host.paused || entry.parked || entry.invocation.settled) return;
        entry.parked = true;
        this.host.park(entry.invocation);
        this.host.settle();
      },
      () => {}, // the child ended: its result reaches the step, which settles the invocation
    );
  }

  private unpark(entry: ChildRun): void {
    if (!entry.parked) return;
    entry.parked = false;
    this.host.unpark(entry.invocation);
  }
}
