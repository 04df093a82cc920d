/**
 * A FIFO on a ring buffer: O(1) push and shift with no copying once it has grown to what it holds (a run's
 * replay buffer pushes and shifts 10 000 RunEvents in place; an array with a moving head had to be sliced and
 * regrown, about 5 % of a chain run). It grows by doubling and lets a large buffer go once emptied.
 */
export class Queue<T> {
  private buffer: (T | undefined)[] = [];
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.buffer.length) this.resize(Math.max(8, this.buffer.length * 2));
    this.buffer[(this.head + this.count) & (this.buffer.length - 1)] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.buffer[this.head];
    this.buffer[this.head] = undefined;
    this.head = (this.head + 1) & (this.buffer.length - 1);
    this.count--;
    // Memory stays proportional to what is queued: a burst's large buffer goes once it has drained.
    if (this.count === 0 && this.buffer.length > 1024) this.resize(0);
    return item;
  }

  /** Put `items` in front, in their order. */
  unshiftAll(items: readonly T[]): void {
    if (items.length === 0) return;
    let capacity = 8;
    while (capacity < items.length + this.count) capacity *= 2;
    this.resize(capacity, items);
  }

  /** The last `n` items (all of them when `n` is larger), oldest first. */
  tail(n: number): T[] {
    return this.slice(Math.max(0, this.count - n));
  }

  toArray(): T[] {
    return this.slice(0);
  }

  /** The items from position `from` (0 = oldest) on. */
  private slice(from: number): T[] {
    const out = new Array<T>(this.count - from);
    const mask = this.buffer.length - 1;
    for (let i = from; i < this.count; i++) out[i - from] = this.buffer[(this.head + i) & mask] as T;
    return out;
  }

  /** Move to a buffer of `capacity` (a power of two, or 0 when empty): `front` first, then what is queued. */
  private resize(capacity: number, front: readonly T[] = []): void {
    const buffer = new Array<T | undefined>(capacity);
    for (let i = 0; i < front.length; i++) buffer[i] = front[i];
    const mask = this.buffer.length - 1;
    for (let i = 0; i < this.count; i++) buffer[front.length + i] = this.buffer[(this.head + i) & mask];
    this.buffer = buffer;
    this.head = 0;
    this.count += front.length;
  }
}
