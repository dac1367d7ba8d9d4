import { randomUUID } from "node:crypto";
import type { ReceivableEntitySettings } from "../config/types";
import { EmulatorError } from "../errors";
import { DeadlineQueue } from "./deadline-queue";
import { MinHeap } from "./heap";
import type { MessageCounts } from "./views";
import { requestedTimeToLiveInMs, type Consumer, type EnqueueOptions, type IncomingMessage, type StoredMessage } from "./message";

export type EntityKind = "queue" | "subscription" | "deadLetterQueue";

/** Where dead-lettered messages go: the entity's own DLQ, or a ForwardDeadLetteredMessagesTo target. */
export type DeadLetterSink = (message: StoredMessage, applicationProperties: Record<string, unknown>) => void;

export interface MessageEntityOptions {
  /** Entity path as clients address it, e.g. `q1`, `t1/Subscriptions/s1`, `q1/$DeadLetterQueue`. */
  path: string;
  kind: EntityKind;
  settings: ReceivableEntitySettings;
  /** Receives dead-lettered messages. Absent on dead-letter queues (nothing is dead-lettered twice). */
  deadLetterSink?: DeadLetterSink;
  /** Called after every change of the entity's contents (for the "accessed at" times and waiters). */
  onActivity?: () => void;
}

/** The message heap of one session (or of the whole entity when it has no sessions). */
interface MessageGroup {
  readonly id: string;
  /** Sequence numbers of active, unlocked messages, lowest first. */
  readonly available: MinHeap<number>;
  /** Messages of this group the entity holds (any state). */
  messageCount: number;
  state?: Buffer;
  owner?: Consumer;
  lockedUntilMs: number;
}

interface PendingSessionAccept {
  consumer: Consumer;
  resolve: (sessionId: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const NO_SESSION = "";
const DEAD_LETTER_REASON_HEADER = "DeadLetterReason";
const DEAD_LETTER_DESCRIPTION_HEADER = "DeadLetterErrorDescription";

/**
 * A queue, a subscription or a dead-letter queue: the messages it holds and the peek-lock,
 * delivery-count, deferral, scheduling, expiry and session rules the service applies to them.
 *
 * Every per-message operation is O(log n) in the depth of the entity: available messages sit
 * in per-session heaps keyed by sequence number, and deadlines (locks, schedules, expiries)
 * in heaps served by one timer each. Peek walks a sequence-number index from a binary-searched
 * start.
 */
export class MessageEntity {
  readonly path: string;
  readonly kind: EntityKind;
  readonly settings: ReceivableEntitySettings;
  readonly createdAt = new Date();
  modifiedAt = new Date();
  accessedAt = new Date();

  private readonly messages = new Map<number, StoredMessage>();
  /** Sequence numbers in order of arrival (hence sorted); entries of removed messages are skipped and compacted. */
  private sequenceIndex: number[] = [];
  private staleIndexEntries = 0;
  private nextSequenceNumber = 1;
  private readonly groups = new Map<string, MessageGroup>();
  private readonly locks = new Map<string, StoredMessage>();
  private readonly consumers: Consumer[] = [];
  private nextConsumer = 0;
  private readonly pendingAccepts: PendingSessionAccept[] = [];
  private pumping = false;
  private pumpRequested = false;
  private closed = false;

  private activeCount = 0;
  private scheduledCount = 0;
  private deferredCount = 0;
  private bytes = 0;

  private readonly lockDeadlines = new DeadlineQueue<string>((token) => this.onLockDeadline(token));
  private readonly scheduleDeadlines = new DeadlineQueue<number>((seq) => this.onScheduleDeadline(seq));
  private readonly expiryDeadlines = new DeadlineQueue<number>((seq) => this.onExpiryDeadline(seq));
  private readonly sessionDeadlines = new DeadlineQueue<string>((id) => this.onSessionDeadline(id));

  constructor(private readonly options: MessageEntityOptions) {
    this.path = options.path;
    this.kind = options.kind;
    this.settings = options.settings;
  }

  get requiresSession(): boolean {
    return this.settings.requiresSession && this.kind !== "deadLetterQueue";
  }

  // ---------------------------------------------------------------- enqueue

  /** Stores a message (already routed and de-duplicated) and returns its sequence number. */
  enqueue(incoming: IncomingMessage, options: EnqueueOptions = {}): StoredMessage {
    const sessionId = sessionIdOf(incoming);
    if (this.requiresSession && sessionId === undefined) {
      throw new EmulatorError(
        "InvalidOperation",
        `The SessionId was not set on a message, and it cannot be sent to the entity '${this.path}'. Entities that have session support enabled can only receive messages that have the SessionId set to a valid value.`,
      );
    }
    const now = Date.now();
    const scheduledAt = options.scheduledEnqueueAtMs;
    const isScheduled = scheduledAt !== undefined && scheduledAt > now;
    const message: StoredMessage = {
      sequenceNumber: this.nextSequenceNumber++,
      amqp: incoming.amqp,
      applicationProperties: options.applicationProperties ?? copyProperties(incoming.amqp.application_properties),
      size: incoming.size,
      sessionId,
      state: isScheduled ? "scheduled" : "active",
      enqueuedAtMs: isScheduled ? scheduledAt : now,
      expiresAtMs: Infinity,
      deliveryCount: options.deliveryCount ?? 0,
      scheduledEnqueueAtMs: scheduledAt,
      deadLetterSource: options.deadLetterSource,
    };
    this.messages.set(message.sequenceNumber, message);
    this.sequenceIndex.push(message.sequenceNumber);
    this.bytes += message.size;
    this.groupOf(message).messageCount++;
    this.touch(true);
    if (isScheduled) {
      this.scheduledCount++;
      this.scheduleDeadlines.add(scheduledAt, message.sequenceNumber);
    } else {
      this.activate(message);
    }
    return message;
  }

  private activate(message: StoredMessage): void {
    message.state = "active";
    this.activeCount++;
    // Dead-letter queues keep messages until someone removes them, as the service does.
    if (this.kind !== "deadLetterQueue") {
      const ttl = Math.min(requestedTimeToLiveInMs(message.amqp) ?? Infinity, this.settings.defaultMessageTimeToLiveInMs);
      message.expiresAtMs = message.enqueuedAtMs + ttl;
      if (Number.isFinite(message.expiresAtMs)) this.expiryDeadlines.add(message.expiresAtMs, message.sequenceNumber);
    }
    this.groupOf(message).available.push(message.sequenceNumber);
    this.wakeSessionWaiters();
    this.pump();
  }

  // ---------------------------------------------------------------- receivers

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.pump();
  }

  /** Called when a link goes away. Non-session locks stay until they expire, as on the service. */
  removeConsumer(consumer: Consumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index >= 0) this.consumers.splice(index, 1);
    for (let i = this.pendingAccepts.length - 1; i >= 0; i--) {
      const pending = this.pendingAccepts[i];
      if (pending.consumer === consumer) {
        clearTimeout(pending.timer);
        this.pendingAccepts.splice(i, 1);
        pending.reject(new EmulatorError("SessionCannotBeLocked", "The receiver was closed while waiting for a session."));
      }
    }
    if (consumer.sessionId !== undefined) {
      const group = this.groups.get(consumer.sessionId);
      if (group && group.owner === consumer) this.releaseSession(group, false);
    }
  }

  /** Delivers available messages to consumers with credit, one message per consumer per round. */
  pump(): void {
    if (this.pumping) {
      this.pumpRequested = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpRequested = false;
        let delivered = true;
        while (delivered && this.consumers.length > 0) {
          delivered = false;
          const count = this.consumers.length;
          for (let i = 0; i < count && this.consumers.length > 0; i++) {
            const consumer = this.consumers[(this.nextConsumer + i) % this.consumers.length];
            if (consumer.credit() <= 0) continue;
            const message = this.takeNextAvailable(consumer);
            if (!message) continue;
            this.nextConsumer = (this.nextConsumer + i + 1) % this.consumers.length;
            this.deliver(consumer, message);
            delivered = true;
            break;
          }
        }
      } while (this.pumpRequested);
    } finally {
      this.pumping = false;
    }
  }

  private takeNextAvailable(consumer: Consumer): StoredMessage | undefined {
    let group: MessageGroup | undefined;
    if (this.requiresSession) {
      if (consumer.sessionId === undefined) return undefined;
      group = this.groups.get(consumer.sessionId);
      if (!group || group.owner !== consumer) return undefined;
    } else {
      group = this.groups.get(NO_SESSION);
    }
    if (!group) return undefined;
    const now = Date.now();
    for (let seq = group.available.pop(); seq !== undefined; seq = group.available.pop()) {
      const message = this.messages.get(seq);
      if (!message || message.state !== "active" || message.lock) continue;
      if (message.expiresAtMs <= now) {
        this.expire(message);
        continue;
      }
      return message;
    }
    return undefined;
  }

  private deliver(consumer: Consumer, message: StoredMessage): void {
    if (consumer.receiveMode === "receiveAndDelete") {
      this.remove(message);
      consumer.deliver(message, undefined);
      return;
    }
    const token = this.lock(message, consumer);
    consumer.deliver(message, token);
  }

  private lock(message: StoredMessage, owner: Consumer | undefined): string {
    const token = randomUUID();
    const lockedUntilMs = Date.now() + this.settings.lockDurationInMs;
    message.lock = { token, lockedUntilMs, owner };
    this.locks.set(token, message);
    this.lockDeadlines.add(lockedUntilMs, token);
    return token;
  }

  // ---------------------------------------------------------------- settlement

  complete(lockToken: string): void {
    this.remove(this.lockedMessage(lockToken));
  }

  abandon(lockToken: string, propertiesToModify?: Record<string, unknown>): void {
    const message = this.lockedMessage(lockToken);
    applyProperties(message, propertiesToModify);
    this.releaseLock(message, true);
  }

  defer(lockToken: string, propertiesToModify?: Record<string, unknown>): void {
    const message = this.lockedMessage(lockToken);
    applyProperties(message, propertiesToModify);
    this.dropLock(message);
    if (message.state === "active") {
      message.state = "deferred";
      this.activeCount--;
      this.deferredCount++;
    }
    this.touch(true);
  }

  deadLetter(lockToken: string, reason?: string, description?: string, propertiesToModify?: Record<string, unknown>): void {
    const message = this.lockedMessage(lockToken);
    applyProperties(message, propertiesToModify);
    this.dropLock(message);
    this.moveToDeadLetter(message, reason, description);
  }

  renewLock(lockToken: string): number {
    const message = this.lockedMessage(lockToken);
    const lock = message.lock!;
    lock.lockedUntilMs = Date.now() + this.settings.lockDurationInMs;
    this.lockDeadlines.add(lock.lockedUntilMs, lockToken);
    return lock.lockedUntilMs;
  }

  /** Whether a lock token belongs to this entity (settlement over $management looks it up by token). */
  holdsLock(lockToken: string): boolean {
    return this.locks.has(lockToken);
  }

  private lockedMessage(lockToken: string): StoredMessage {
    this.lockDeadlines.runDue();
    const message = this.locks.get(lockToken);
    if (!message || !message.lock || message.lock.token !== lockToken) {
      if (this.requiresSession) {
        throw new EmulatorError("SessionLockLost", "The session lock has expired on the MessageSession, or the message's lock was lost. Accept a new session.");
      }
      throw EmulatorError.lockLost();
    }
    return message;
  }

  private dropLock(message: StoredMessage): void {
    if (message.lock) this.locks.delete(message.lock.token);
    message.lock = undefined;
  }

  /** Returns a locked message to the entity; counts a failed delivery when asked to. */
  private releaseLock(message: StoredMessage, countDelivery: boolean): void {
    this.dropLock(message);
    if (countDelivery) message.deliveryCount++;
    if (countDelivery && this.kind !== "deadLetterQueue" && message.deliveryCount >= this.settings.maxDeliveryCount) {
      this.moveToDeadLetter(message, "MaxDeliveryCountExceeded", `Message could not be consumed after ${this.settings.maxDeliveryCount} delivery attempts.`);
      return;
    }
    if (message.expiresAtMs <= Date.now() && message.state !== "scheduled") {
      this.expire(message);
      return;
    }
    if (message.state === "active") {
      this.groupOf(message).available.push(message.sequenceNumber);
      this.touch(false);
      this.wakeSessionWaiters();
      this.pump();
    }
  }

  private onLockDeadline(token: string): void {
    const message = this.locks.get(token);
    if (!message || !message.lock || message.lock.lockedUntilMs > Date.now()) return; // settled or renewed
    this.releaseLock(message, true);
  }

  // ---------------------------------------------------------------- dead-lettering, expiry, removal

  private moveToDeadLetter(message: StoredMessage, reason: string | undefined, description: string | undefined): void {
    this.remove(message);
    const sink = this.options.deadLetterSink;
    if (!sink) return;
    const properties: Record<string, unknown> = { ...(message.applicationProperties ?? {}) };
    if (reason !== undefined) properties[DEAD_LETTER_REASON_HEADER] = reason;
    if (description !== undefined) properties[DEAD_LETTER_DESCRIPTION_HEADER] = description;
    sink(message, properties);
  }

  private expire(message: StoredMessage): void {
    if (this.settings.deadLetteringOnMessageExpiration) {
      this.moveToDeadLetter(message, "TTLExpiredException", "The message expired and was dead lettered.");
    } else {
      this.remove(message);
    }
  }

  private onExpiryDeadline(seq: number): void {
    const message = this.messages.get(seq);
    // A locked message expires when its lock is released (the service never pulls a message from under a receiver).
    if (!message || message.lock || message.state === "scheduled" || message.expiresAtMs > Date.now()) return;
    this.expire(message);
  }

  private onScheduleDeadline(seq: number): void {
    const message = this.messages.get(seq);
    if (!message || message.state !== "scheduled") return;
    this.scheduledCount--;
    message.enqueuedAtMs = Date.now();
    this.activate(message);
  }

  private remove(message: StoredMessage): void {
    if (!this.messages.delete(message.sequenceNumber)) return;
    this.dropLock(message);
    if (message.state === "active") this.activeCount--;
    else if (message.state === "scheduled") this.scheduledCount--;
    else this.deferredCount--;
    this.bytes -= message.size;
    this.staleIndexEntries++;
    if (this.staleIndexEntries > 1024 && this.staleIndexEntries * 2 > this.sequenceIndex.length) {
      this.sequenceIndex = this.sequenceIndex.filter((seq) => this.messages.has(seq));
      this.staleIndexEntries = 0;
    }
    const group = this.groups.get(this.requiresSession ? (message.sessionId ?? NO_SESSION) : NO_SESSION);
    if (group) {
      group.messageCount--;
      this.forgetGroupIfIdle(group);
    }
    this.touch(true);
  }

  // ---------------------------------------------------------------- scheduling

  /** Schedules messages; returns their sequence numbers (the handles `cancelScheduled` takes). */
  schedule(incoming: IncomingMessage, scheduledEnqueueAtMs: number): number {
    return this.enqueue(incoming, { scheduledEnqueueAtMs }).sequenceNumber;
  }

  cancelScheduled(sequenceNumbers: number[]): void {
    for (const seq of sequenceNumbers) {
      const message = this.messages.get(seq);
      if (!message || message.state !== "scheduled") {
        throw new EmulatorError("MessageNotFound", `No scheduled message with sequence number ${seq} was found in '${this.path}'.`);
      }
    }
    for (const seq of sequenceNumbers) this.remove(this.messages.get(seq)!);
  }

  // ---------------------------------------------------------------- deferred messages

  /** Locks (peek-lock) or removes (receive-and-delete) deferred messages by sequence number. */
  receiveDeferred(sequenceNumbers: number[], receiveMode: "peekLock" | "receiveAndDelete", sessionId: string | undefined): Array<{ message: StoredMessage; lockToken: string | undefined }> {
    this.lockDeadlines.runDue();
    const found: StoredMessage[] = [];
    for (const seq of sequenceNumbers) {
      const message = this.messages.get(seq);
      if (!message || message.state !== "deferred" || message.lock || (sessionId !== undefined && message.sessionId !== sessionId)) {
        throw new EmulatorError("MessageNotFound", `Failed to retrieve the deferred message with sequence number ${seq} from '${this.path}': it does not exist or is locked.`);
      }
      found.push(message);
    }
    return found.map((message) => {
      if (receiveMode === "receiveAndDelete") {
        this.remove(message);
        return { message, lockToken: undefined };
      }
      return { message, lockToken: this.lock(message, undefined) };
    });
  }

  // ---------------------------------------------------------------- peek

  /** Messages from `fromSequenceNumber` on, in sequence order, without locking them. */
  peek(fromSequenceNumber: number, maxCount: number, sessionId?: string): StoredMessage[] {
    this.lockDeadlines.runDue();
    this.expiryDeadlines.runDue();
    const index = this.sequenceIndex;
    let low = 0;
    let high = index.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (index[mid] < fromSequenceNumber) low = mid + 1;
      else high = mid;
    }
    const result: StoredMessage[] = [];
    for (let i = low; i < index.length && result.length < maxCount; i++) {
      const message = this.messages.get(index[i]);
      if (!message) continue;
      if (sessionId !== undefined && message.sessionId !== sessionId) continue;
      result.push(message);
    }
    return result;
  }

  // ---------------------------------------------------------------- sessions

  /**
   * Locks a session for a consumer: the given one, or (sessionId undefined) the first session
   * with available messages that nobody holds, waiting up to `timeoutInMs` for one to appear.
   */
  acceptSession(consumer: Consumer, sessionId: string | undefined, timeoutInMs: number): Promise<string> {
    if (!this.requiresSession) {
      return Promise.reject(
        new EmulatorError(
          "InvalidOperation",
          `It is not possible for an entity that requires sessions to create a non-sessionful message receiver, or the reverse: '${this.path}' does not require sessions.`,
        ),
      );
    }
    this.sessionDeadlines.runDue();
    if (sessionId !== undefined) {
      const group = this.group(sessionId);
      if (group.owner) {
        return Promise.reject(new EmulatorError("SessionCannotBeLocked", `The requested session '${sessionId}' cannot be accepted. It may be locked by another receiver.`));
      }
      this.lockSession(group, consumer);
      return Promise.resolve(sessionId);
    }
    const free = this.findFreeSession();
    if (free) {
      this.lockSession(free, consumer);
      return Promise.resolve(free.id);
    }
    return new Promise<string>((resolve, reject) => {
      const pending: PendingSessionAccept = {
        consumer,
        resolve,
        reject,
        timer: setTimeout(
          () => {
            const i = this.pendingAccepts.indexOf(pending);
            if (i >= 0) this.pendingAccepts.splice(i, 1);
            reject(new EmulatorError("Timeout", `No unlocked session with messages became available on '${this.path}' within ${timeoutInMs} ms.`));
          },
          Math.max(0, timeoutInMs),
        ),
      };
      pending.timer.unref();
      this.pendingAccepts.push(pending);
    });
  }

  sessionLockedUntil(sessionId: string): number {
    return this.groups.get(sessionId)?.lockedUntilMs ?? 0;
  }

  renewSessionLock(sessionId: string): number {
    const group = this.heldSession(sessionId);
    group.lockedUntilMs = Date.now() + this.settings.lockDurationInMs;
    this.sessionDeadlines.add(group.lockedUntilMs, sessionId);
    // In a session the session lock is the messages' lock (the SDK never renews them one by
    // one): renewing it keeps the session's received messages locked too.
    for (const [token, message] of this.locks) {
      if (message.sessionId !== sessionId || !message.lock) continue;
      message.lock.lockedUntilMs = group.lockedUntilMs;
      this.lockDeadlines.add(group.lockedUntilMs, token);
    }
    return group.lockedUntilMs;
  }

  getSessionState(sessionId: string): Buffer | undefined {
    return this.heldSession(sessionId).state;
  }

  setSessionState(sessionId: string, state: Buffer | undefined): void {
    const group = this.heldSession(sessionId);
    group.state = state;
    this.touch(true);
  }

  /** Ids of sessions that have messages or state (what `get-message-sessions` lists). */
  sessionIds(): string[] {
    return [...this.groups.values()].filter((g) => g.id !== NO_SESSION && (g.messageCount > 0 || g.state)).map((g) => g.id);
  }

  private heldSession(sessionId: string): MessageGroup {
    this.sessionDeadlines.runDue();
    const group = this.groups.get(sessionId);
    if (!group || !group.owner || group.lockedUntilMs <= Date.now()) {
      throw new EmulatorError("SessionLockLost", `The session lock has expired on the MessageSession '${sessionId}'. Accept a new session.`);
    }
    return group;
  }

  private findFreeSession(): MessageGroup | undefined {
    for (const group of this.groups.values()) {
      if (group.id !== NO_SESSION && !group.owner && group.available.size > 0) return group;
    }
    return undefined;
  }

  private lockSession(group: MessageGroup, consumer: Consumer): void {
    group.owner = consumer;
    group.lockedUntilMs = Date.now() + this.settings.lockDurationInMs;
    this.sessionDeadlines.add(group.lockedUntilMs, group.id);
  }

  private onSessionDeadline(sessionId: string): void {
    const group = this.groups.get(sessionId);
    if (!group || !group.owner || group.lockedUntilMs > Date.now()) return;
    const owner = group.owner;
    this.releaseSession(group, true);
    owner.sessionLost?.(`The session lock on '${sessionId}' expired.`);
  }

  /** Frees a session; its locked messages go back to the entity as failed deliveries. */
  private releaseSession(group: MessageGroup, expired: boolean): void {
    const owner = group.owner;
    group.owner = undefined;
    group.lockedUntilMs = 0;
    for (const message of [...this.locks.values()]) {
      if (message.sessionId === group.id && (expired || message.lock?.owner === owner)) this.releaseLock(message, true);
    }
    this.forgetGroupIfIdle(group);
    this.wakeSessionWaiters();
  }

  private wakeSessionWaiters(): void {
    while (this.pendingAccepts.length > 0) {
      const free = this.findFreeSession();
      if (!free) return;
      const pending = this.pendingAccepts.shift()!;
      clearTimeout(pending.timer);
      this.lockSession(free, pending.consumer);
      pending.resolve(free.id);
    }
  }

  /** Messages are grouped by session only on session entities (a DLQ keeps session ids but not sessions). */
  private groupOf(message: StoredMessage): MessageGroup {
    return this.group(this.requiresSession ? message.sessionId : undefined);
  }

  private group(sessionId: string | undefined): MessageGroup {
    const id = sessionId ?? NO_SESSION;
    let group = this.groups.get(id);
    if (!group) {
      group = { id, available: new MinHeap<number>((a, b) => a < b), messageCount: 0, lockedUntilMs: 0 };
      this.groups.set(id, group);
    }
    return group;
  }

  private forgetGroupIfIdle(group: MessageGroup): void {
    if (group.id !== NO_SESSION && group.messageCount === 0 && !group.owner && !group.state) this.groups.delete(group.id);
  }

  // ---------------------------------------------------------------- counts and lifecycle

  counts(deadLetterMessageCount = 0): MessageCounts {
    this.lockDeadlines.runDue();
    this.expiryDeadlines.runDue();
    this.scheduleDeadlines.runDue();
    return {
      activeMessageCount: this.activeCount,
      deadLetterMessageCount,
      scheduledMessageCount: this.scheduledCount,
      transferMessageCount: 0,
      transferDeadLetterMessageCount: 0,
      totalMessageCount: this.activeCount + this.scheduledCount + this.deferredCount + deadLetterMessageCount,
      sizeInBytes: this.bytes,
    };
  }

  /** Number of messages held, in any state. */
  get messageCount(): number {
    return this.messages.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const queue of [this.lockDeadlines, this.scheduleDeadlines, this.expiryDeadlines, this.sessionDeadlines]) queue.close();
    for (const pending of this.pendingAccepts.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(new EmulatorError("Timeout", "The emulator is shutting down."));
    }
    this.consumers.length = 0;
  }

  private touch(modified: boolean): void {
    const now = new Date();
    this.accessedAt = now;
    if (modified) this.modifiedAt = now;
    this.options.onActivity?.();
  }
}

function sessionIdOf(incoming: IncomingMessage): string | undefined {
  const groupId = incoming.amqp.group_id;
  return typeof groupId === "string" && groupId.length > 0 ? groupId : undefined;
}

function copyProperties(properties: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return properties ? { ...properties } : undefined;
}

function applyProperties(message: StoredMessage, propertiesToModify: Record<string, unknown> | undefined): void {
  if (!propertiesToModify || Object.keys(propertiesToModify).length === 0) return;
  message.applicationProperties = { ...(message.applicationProperties ?? {}), ...propertiesToModify };
}
