/**
 * What every stage receives besides its input: who is doing the work, which attempt this
 * is, where to log, and how to stop.
 */
import type { Logger } from "../logging";

export interface StageContext {
  /** Who does the work, for the custody log: e.g. `custody/hash@<host>`. */
  actor: string;
  /** 1 for the first delivery of the input message. */
  attempt: number;
  /** The input entity's MaxDeliveryCount: the last attempt before dead-lettering. */
  maxAttempts: number;
  /** The Service Bus message id of the input, when the trigger gave one (a plan run names the message it answered). */
  messageId?: string;
  /** Trace context of this unit of work (propagated to the messages it sends). */
  traceparent: string;
  log: Logger;
  abortSignal?: AbortSignal;
}
