/**
 * Duplicate detection by message id within a time window, as a queue or topic with
 * RequiresDuplicateDetection does: a second message with an id seen within the window is
 * accepted from the sender and silently dropped. Ids are kept in arrival order so pruning
 * expired ones is O(expired), never a scan of the whole history.
 */
export class DuplicateDetector {
  private readonly seenUntil = new Map<string, number>();
  private readonly order: Array<{ id: string; untilMs: number }> = [];
  private head = 0;

  constructor(private readonly windowInMs: number) {}

  /** Records the id and returns true when it is new within the window. */
  admit(messageId: string, nowMs = Date.now()): boolean {
    this.prune(nowMs);
    if (this.seenUntil.has(messageId)) return false;
    const untilMs = nowMs + this.windowInMs;
    this.seenUntil.set(messageId, untilMs);
    this.order.push({ id: messageId, untilMs });
    return true;
  }

  private prune(nowMs: number): void {
    while (this.head < this.order.length && this.order[this.head].untilMs <= nowMs) {
      const { id, untilMs } = this.order[this.head++];
      if (this.seenUntil.get(id) === untilMs) this.seenUntil.delete(id);
    }
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }
}
