/**
 * Conversions between the wire and the store: AMQP messages with the broker annotations the
 * SDK reads, lock tokens in the byte orders the SDK expects, and the value shapes rhea decodes
 * (longs as numbers or 8-byte buffers, uuids as 16-byte buffers).
 */
import { randomUUID } from "node:crypto";
import rhea = require("rhea");
import type { Message as AmqpMessage } from "rhea";
import { EmulatorError } from "../errors";
import type { StoredMessage } from "../store/message";

const { types } = rhea;

/** Message format of a batch: one envelope whose data sections are each an encoded message. */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

/** x-opt-message-state values the SDK maps to `state`. */
const MESSAGE_STATE = { active: 0, deferred: 1, scheduled: 2 } as const;

/**
 * The message as delivered to a receiver or returned by peek: the sender's message plus the
 * broker's annotations (sequence number, enqueued time, lock, state, dead-letter source).
 */
export function toDeliveredMessage(message: StoredMessage): AmqpMessage {
  const annotations: Record<string, unknown> = { ...(message.amqp.message_annotations ?? {}) };
  annotations["x-opt-sequence-number"] = types.wrap_long(message.sequenceNumber);
  annotations["x-opt-enqueued-time"] = new Date(message.enqueuedAtMs);
  annotations["x-opt-message-state"] = types.wrap_int(MESSAGE_STATE[message.state]);
  if (message.lock) annotations["x-opt-locked-until"] = new Date(message.lock.lockedUntilMs);
  if (message.scheduledEnqueueAtMs !== undefined) annotations["x-opt-scheduled-enqueue-time"] = new Date(message.scheduledEnqueueAtMs);
  if (message.deadLetterSource !== undefined) annotations["x-opt-deadletter-source"] = message.deadLetterSource;
  const delivered: AmqpMessage = {
    ...message.amqp,
    delivery_count: message.deliveryCount,
    message_annotations: annotations,
  };
  if (message.applicationProperties) delivered.application_properties = message.applicationProperties;
  else delete delivered.application_properties;
  return delivered;
}

export function encodeMessage(message: AmqpMessage): Buffer {
  return rhea.message.encode(message);
}

/** Decodes a message a client sent; malformed bytes become an ArgumentError, never a crash. */
export function decodeMessage(bytes: Buffer): AmqpMessage {
  try {
    return rhea.message.decode(bytes) as unknown as AmqpMessage;
  } catch (error) {
    throw new EmulatorError("ArgumentError", `The message could not be decoded: ${(error as Error).message}`);
  }
}

/** Splits a batch envelope (format 0x80013700) into the messages it carries. */
export function decodeBatch(envelope: Buffer): Array<{ amqp: AmqpMessage; size: number }> {
  const outer = decodeMessage(envelope);
  const body = outer.body as unknown;
  const sections = dataSections(body);
  if (sections.length === 0) throw new EmulatorError("ArgumentError", "The batch envelope holds no data sections.");
  return sections.map((bytes) => ({ amqp: decodeMessage(bytes), size: bytes.length }));
}

function dataSections(body: unknown): Buffer[] {
  if (Buffer.isBuffer(body)) return [body];
  if (Array.isArray(body)) return body.flatMap(dataSections);
  if (body && typeof body === "object" && "content" in body) {
    const section = body as { content: unknown; multiple?: boolean };
    return dataSections(section.content);
  }
  return [];
}

/** Gives a message without a message id one (the SDK's lock renewer keys on it). */
export function ensureMessageId(message: AmqpMessage): AmqpMessage {
  if (message.message_id === undefined || message.message_id === null || message.message_id === "") {
    message.message_id = randomUUID().replace(/-/g, "");
  }
  return message;
}

/** Delivery tag for a lock token: the GUID's bytes in .NET order (the SDK reorders them back). */
export function lockTokenToDeliveryTag(lockToken: string): Buffer {
  const b = Buffer.from(lockToken.replace(/-/g, ""), "hex");
  return Buffer.from([b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8)]);
}

/** Lock token as a uuid value in RFC byte order, as `$management` responses carry it. */
export function lockTokenToUuid(lockToken: string): unknown {
  return types.wrap_uuid(Buffer.from(lockToken.replace(/-/g, ""), "hex"));
}

/** Reads a uuid value (Buffer in RFC order, or a string) from a `$management` request. */
export function uuidToLockToken(value: unknown): string {
  if (typeof value === "string") return value.toLowerCase();
  if (Buffer.isBuffer(value) && value.length === 16) {
    const hex = value.toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  throw new EmulatorError("ArgumentError", "A lock token is not a uuid.");
}

/** Reads a long (number, 8-byte big-endian buffer, or Long-like) as a safe integer. */
export function readLong(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "bigint") return Number(value);
  if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE(0));
  if (value && typeof value === "object" && "low" in value && "high" in value) {
    const long = value as { low: number; high: number };
    return long.high * 2 ** 32 + (long.low >>> 0);
  }
  throw new EmulatorError("ArgumentError", `'${field}' must be a long.`);
}

export function readLongArray(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || value.length === 0) throw new EmulatorError("ArgumentError", `'${field}' must be a non-empty array of longs.`);
  return value.map((item) => readLong(item, field));
}

/** Sequence numbers as the SDK reads them back (an array of longs). */
export function longArray(values: number[]): unknown {
  return types.wrap_array(values, 0x81, undefined);
}

/** Message size as the service counts it: the encoded message. */
export function encodedSize(message: AmqpMessage): number {
  return encodeMessage(message).length;
}

/** Scheduled enqueue time a message carries (set by `scheduleMessages`), in ms. */
export function scheduledEnqueueTimeOf(message: AmqpMessage): number | undefined {
  const value: unknown = message.message_annotations?.["x-opt-scheduled-enqueue-time"];
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  return undefined;
}

/** Strips annotations a client must not set itself (the broker owns them). */
export function withoutBrokerAnnotations(message: AmqpMessage): AmqpMessage {
  const annotations = message.message_annotations;
  if (!annotations) return message;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(annotations)) {
    if (!BROKER_ANNOTATIONS.has(key)) kept[key] = value;
  }
  return { ...message, message_annotations: kept };
}

const BROKER_ANNOTATIONS = new Set(["x-opt-sequence-number", "x-opt-enqueued-time", "x-opt-locked-until", "x-opt-message-state", "x-opt-deadletter-source", "x-opt-enqueue-sequence-number"]);
