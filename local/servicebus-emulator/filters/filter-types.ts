/**
 * The contract between the filter engine and the rest of the emulator: what a filter sees of a
 * message, and what compiling a rule gives back.
 */

/** What a filter sees of a message. */
export interface FilterableMessage {
  /**
   * Broker properties under their SQL `sys.` names, as the service spells them: MessageId,
   * CorrelationId, To, ReplyTo, Label, SessionId, ReplyToSessionId, ContentType,
   * SequenceNumber (number), EnqueuedTimeUtc (Date), ScheduledEnqueueTimeUtc, ExpiresAtUtc,
   * TimeToLive (ms), Size, DeliveryCount, ... Any may be absent.
   */
  systemProperties: Record<string, unknown>;
  /** AMQP application properties, keys as the sender wrote them. */
  applicationProperties: Record<string, unknown>;
}

export interface CompiledFilter {
  /** True only when the filter evaluates to TRUE (not FALSE, not unknown). Never throws. */
  matches(message: FilterableMessage): boolean;
}

export interface CompiledRuleAction {
  /** Applies the SET / REMOVE statements in order, mutating the message. Never throws. */
  apply(message: FilterableMessage): void;
}

/**
 * Values for `@name` parameters in SQL text (the SDKs' SqlRuleFilter.Parameters). Keys may be
 * written with or without the leading `@`.
 */
export type SqlParameters = Readonly<Record<string, unknown>>;
