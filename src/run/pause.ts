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
