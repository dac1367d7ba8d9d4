/**
 * Errors the emulator reports to clients. Each code maps to the AMQP error condition the
 * real service uses, so the unmodified SDK turns it into the same `ServiceBusError.code`.
 */

export type EmulatorErrorCode =
  /** Lock token unknown, expired or already settled → SDK `MessageLockLost`. */
  | "MessageLockLost"
  /** Session lock expired or held by another receiver → SDK `SessionLockLost`. */
  | "SessionLockLost"
  /** No session could be locked (none available, or the requested one is locked) → SDK `SessionCannotBeLocked`. */
  | "SessionCannotBeLocked"
  /** Queue, topic, subscription or rule does not exist → SDK `MessagingEntityNotFound`. */
  | "MessagingEntityNotFound"
  /** Deferred/scheduled message with that sequence number does not exist → SDK `MessageNotFound`. */
  | "MessageNotFound"
  /** Message larger than the entity allows → SDK `MessageSizeExceeded`. */
  | "MessageSizeExceeded"
  /** Rule name already taken → SDK `MessagingEntityAlreadyExists`. */
  | "MessagingEntityAlreadyExists"
  /** Request the entity cannot serve (e.g. a message without session id on a session entity). */
  | "InvalidOperation"
  /** Malformed request: missing or mistyped field, invalid filter. */
  | "ArgumentError"
  /** A management operation the emulator does not implement. */
  | "NotImplemented"
  /** A long-poll (accept next session) found nothing in time → SDK `ServiceTimeout`. */
  | "Timeout";

const CONDITIONS: Record<EmulatorErrorCode, string> = {
  MessageLockLost: "com.microsoft:message-lock-lost",
  SessionLockLost: "com.microsoft:session-lock-lost",
  SessionCannotBeLocked: "com.microsoft:session-cannot-be-locked",
  // The SDK maps amqp:not-found to MessagingEntityNotFound only when the description says
  // "The messaging entity '…' could not be found" — EmulatorError.entityNotFound() writes exactly that.
  MessagingEntityNotFound: "amqp:not-found",
  MessageNotFound: "com.microsoft:message-not-found",
  MessageSizeExceeded: "amqp:link:message-size-exceeded",
  MessagingEntityAlreadyExists: "com.microsoft:entity-already-exists",
  InvalidOperation: "amqp:not-allowed",
  ArgumentError: "com.microsoft:argument-error",
  NotImplemented: "amqp:not-implemented",
  Timeout: "com.microsoft:timeout",
};

/** HTTP-like status codes used by `$management` responses (`statusCode` application property). */
const STATUS_CODES: Record<EmulatorErrorCode, number> = {
  MessageLockLost: 410,
  SessionLockLost: 410,
  SessionCannotBeLocked: 410,
  MessagingEntityNotFound: 404,
  MessageNotFound: 404,
  MessageSizeExceeded: 413,
  MessagingEntityAlreadyExists: 409,
  InvalidOperation: 400,
  ArgumentError: 400,
  NotImplemented: 501,
  Timeout: 408,
};

export class EmulatorError extends Error {
  readonly code: EmulatorErrorCode;

  constructor(code: EmulatorErrorCode, message: string) {
    super(message);
    this.name = "EmulatorError";
    this.code = code;
  }

  /** AMQP error condition for detach/disposition/management responses. */
  get condition(): string {
    return CONDITIONS[this.code];
  }

  get statusCode(): number {
    return STATUS_CODES[this.code];
  }

  /** The AMQP error value (`{ condition, description }`) as rhea sends it. */
  toAmqpError(): { condition: string; description: string } {
    return { condition: this.condition, description: this.message };
  }

  static entityNotFound(path: string): EmulatorError {
    return new EmulatorError("MessagingEntityNotFound", `The messaging entity '${path}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.`);
  }

  static lockLost(): EmulatorError {
    return new EmulatorError("MessageLockLost", "The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.");
  }
}

export function isEmulatorError(value: unknown): value is EmulatorError {
  return value instanceof EmulatorError;
}
