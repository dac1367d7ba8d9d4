import { MinHeap } from "./heap";

interface Deadline<T> {
  atMs: number;
  item: T;
}

/**
 * Items due at a point in time (lock expiries, scheduled enqueues, message expiries), served
 * by one timer per queue armed for the earliest deadline. Entries are not removed when they
 * become irrelevant (a lock renewed, a message completed): the handler checks whether the
 * entry still applies, which keeps every operation O(log n).
 */
export class DeadlineQueue<T> {
  private readonly heap = new MinHeap<Deadline<T>>((a, b) => a.atMs < b.atMs);
  private timer: NodeJS.Timeout | undefined;
  private armedForMs = Infinity;
  private closed = false;

  constructor(private readonly onDue: (item: T, atMs: number) => void) {}

  get size(): number {
    return this.heap.size;
  }

  add(atMs: number, item: T): void {
    if (this.closed || !Number.isFinite(atMs)) return;
    this.heap.push({ atMs, item });
    if (atMs < this.armedForMs) this.arm();
  }

  /** Fires everything already due. Also called before operations that must see current state. */
  runDue(nowMs = Date.now()): void {
    for (let next = this.heap.peek(); next && next.atMs <= nowMs; next = this.heap.peek()) {
      this.heap.pop();
      this.onDue(next.item, next.atMs);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.clear();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedForMs = Infinity;
    const next = this.heap.peek();
    if (!next || this.closed) return;
    this.armedForMs = next.atMs;
    // setTimeout caps at 2^31-1 ms; far deadlines re-arm when that timer fires.
    const delay = Math.min(Math.max(0, next.atMs - Date.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedForMs = Infinity;
      this.runDue();
      this.arm();
    }, delay);
    this.timer.unref();
  }
}
