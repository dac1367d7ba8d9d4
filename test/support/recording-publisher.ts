/**
 * A Publisher that records every publish, for tests of the index alone (the real Service Bus is
 * in the pipeline tests): `delivered` models a topic's duplicate detection (an id already sent is
 * accepted and dropped).
 */
import { CustodyError } from "../../shared/errors";
import type { OutgoingMessage, Publisher } from "../../shared/ports/publisher";

/** Records every publish; `delivered` is what subscribers get (duplicate detection by message id). */
export class RecordingPublisher implements Publisher {
  readonly all: Array<{ entity: string; message: OutgoingMessage }> = [];
  private failuresLeft = 0;

  constructor(
    private readonly readyTopic = "evidence-ready",
    private readonly receivedTopic = "evidence-received",
  ) {}

  /** What went to the evidence-ready topic (the final events). */
  get sent(): Array<{ entity: string; message: OutgoingMessage }> {
    return this.all.filter((s) => s.entity === this.readyTopic);
  }

  /** The stage retries the index scheduled (evidence-received to one stage's subscription). */
  retries(evidenceId: string): OutgoingMessage[] {
    return this.all.filter((s) => s.entity === this.receivedTopic && s.message.correlationId === evidenceId).map((s) => s.message);
  }

  failNext(times: number): void {
    this.failuresLeft = times;
  }

  async publish(entity: string, message: OutgoingMessage): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new CustodyError("Transient", "Service Bus: ServiceBusy (injected)");
    }
    this.all.push({ entity, message: structuredClone(message) });
  }

  delivered(evidenceId: string): OutgoingMessage[] {
    const seen = new Set<string>();
    return this.sent
      .filter((s) => s.message.correlationId === evidenceId)
      .map((s) => s.message)
      .filter((m) => !seen.has(m.messageId) && seen.add(m.messageId) !== undefined);
  }

  sentIds(evidenceId: string): string[] {
    return this.sent.filter((s) => s.message.correlationId === evidenceId).map((s) => s.message.messageId);
  }

  /** What went to one entity (a queue or topic), in order. */
  to(entity: string, evidenceId?: string): OutgoingMessage[] {
    return this.all.filter((s) => s.entity === entity && (evidenceId === undefined || s.message.correlationId === evidenceId)).map((s) => s.message);
  }
}
