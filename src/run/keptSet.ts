const PLACEHOLDER = Symbol('placeholder');

/**
 * A Set whose hash table is never empty. V8 replaces a Set's or Map's table (a call into the runtime) each time
 * a delete leaves it empty, and a run's in-flight and held sets go from one entry to none on every event of a
 * chain; one permanent placeholder entry avoids that (measured: an add + delete pair 72–81 ns → 41 ns).
 * `size` and iteration leave the placeholder out.
 */
export class KeptSet<T> implements Iterable<T> {
  private readonly entries = new Set<T | typeof PLACEHOLDER>().add(PLACEHOLDER);

  get size(): number {
    return this.entries.size - 1;
  }

  add(value: T): void {
    this.entries.add(value);
  }

  delete(value: T): boolean {
    return this.entries.delete(value);
  }

  has(value: T): boolean {
    return this.entries.has(value);
  }

  clear(): void {
    this.entries.clear();
    this.entries.add(PLACEHOLDER);
  }

  /** The Set's own iterator past the placeholder, which is always first (added first, and again after `clear`). */
  [Symbol.iterator](): Iterator<T> {
    const values = this.entries.values();
    values.next();
    return values as Iterator<T>;
  }
}
