/** A FIFO with O(1) push and shift (Array#shift is O(n) on large arrays). */
export class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined as T;
    // Compact once the dead prefix dominates, so memory stays proportional to what is queued.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Put `items` in front, in their order. */
  unshiftAll(items: readonly T[]): void {
    if (items.length === 0) return;
    this.items = [...items, ...this.toArray()];
    this.head = 0;
  }

  /** The last `n` items (all of them when `n` is larger), oldest first. */
  tail(n: number): T[] {
    return this.items.slice(Math.max(this.head, this.items.length - n));
  }

  toArray(): T[] {
    return this.items.slice(this.head);
  }
}
