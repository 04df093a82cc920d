import { BehaviorSubject, first, type Observable } from 'rxjs';
import type { Snapshot } from '../snapshot/schema.js';

interface Waiter {
  resolve: (snapshot: Snapshot) => void;
  reject: (error: unknown) => void;
}

/**
 * Pause control: who waits for the run to become quiescent. `pause()` resolves with the snapshot once
 * in-flight steps have settled, or when `resume()` comes first; it rejects if the run ends first.
 */
export class PauseWaiters {
  private waiters: Waiter[] = [];

  get waiting(): boolean {
    return this.waiters.length > 0;
  }

  add(resolve: Waiter['resolve'], reject: Waiter['reject']): void {
    this.waiters.push({ resolve, reject });
  }

  /** Resolve every waiter with the snapshot `take()` builds (once, and only if someone waits). */
  release(take: () => Snapshot): void {
    if (this.waiters.length === 0) return;
    const snapshot = take();
    for (const w of this.drain()) w.resolve(snapshot);
  }

  rejectAll(error: unknown): void {
    for (const w of this.drain()) w.reject(error);
  }

  private drain(): Waiter[] {
    const waiters = this.waiters;
    this.waiters = [];
    return waiters;
  }
}

/**
 * The pause gate: open unless the run is paused. Dispatch reads `open`; an invocation subscribed while it is
 * closed waits on `opened$`, whose Subject is made only then (most runs never pause).
 */
export class Gate {
  open = true;
  private subject: BehaviorSubject<boolean> | undefined;

  set(open: boolean): void {
    this.open = open;
    this.subject?.next(open);
  }

  /** Emits once the gate is open (at once if it is); errors if the run ends first. */
  get opened$(): Observable<boolean> {
    return (this.subject ??= new BehaviorSubject(this.open)).pipe(first(Boolean));
  }

  /** The run has ended: whoever still waits is told. */
  end(): void {
    this.subject?.complete();
  }
}
