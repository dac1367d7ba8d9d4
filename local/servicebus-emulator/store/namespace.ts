import type { Message as AmqpMessage } from "rhea";
import type { NamespaceSpec, QueueSettings, ReceivableEntitySettings, RuleSpec, SubscriptionSettings, TopicSettings } from "../config/types";
import { EmulatorError } from "../errors";
import { compileRuleFilter, compileSqlRuleAction, type CompiledFilter, type CompiledRuleAction, type FilterableMessage } from "../filters";
import { DeadlineQueue } from "./deadline-queue";
import { DuplicateDetector } from "./duplicate-detector";
import { MessageEntity } from "./entity";
import type { IncomingMessage, StoredMessage } from "./message";
import { formatEntityAddress, parseEntityAddress, type EntityAddress } from "./paths";
import type { MessageCounts, NamespaceView, QueueView, SubscriptionView, TopicView } from "./views";

export interface NamespaceOptions {
  /** Overrides every entity's LockDuration (fault injection: make lock expiry fast in tests). */
  lockDurationInMs?: number;
  /** Fault injection: every message routed to a queue or subscription is stored twice. */
  duplicateDeliveries?: boolean;
}

/** The service forwards at most this many hops (ForwardTo chains) before dead-lettering. */
const MAX_FORWARD_HOPS = 4;

interface CompiledRule {
  spec: RuleSpec;
  filter: CompiledFilter;
  action?: CompiledRuleAction;
}

/** A queue or subscription: the entity messages are received from, and its dead-letter queue. */
abstract class ReceivableEntity {
  readonly entity: MessageEntity;
  readonly deadLetterQueue: MessageEntity;
  /** Always empty: forwarding happens at send time. It exists so receivers can attach to it. */
  readonly transferDeadLetterQueue: MessageEntity;

  constructor(
    protected readonly namespace: ServiceBusNamespace,
    readonly path: string,
    readonly settings: ReceivableEntitySettings,
  ) {
    const dlqSettings: ReceivableEntitySettings = { ...settings, requiresSession: false, forwardTo: undefined };
    this.deadLetterQueue = new MessageEntity({ path: `${path}/$DeadLetterQueue`, kind: "deadLetterQueue", settings: dlqSettings });
    this.transferDeadLetterQueue = new MessageEntity({
      path: `${path}/$Transfer/$DeadLetterQueue`,
      kind: "deadLetterQueue",
      settings: dlqSettings,
    });
    this.entity = new MessageEntity({
      path,
      kind: this instanceof Queue ? "queue" : "subscription",
      settings,
      deadLetterSink: (message, properties) => this.deadLetter(message, properties),
    });
  }

  counts(): MessageCounts {
    return this.entity.counts(this.deadLetterQueue.messageCount);
  }

  get createdAt(): Date {
    return this.entity.createdAt;
  }
  get modifiedAt(): Date {
    return this.entity.modifiedAt;
  }
  get accessedAt(): Date {
    return this.entity.accessedAt;
  }

  private deadLetter(message: StoredMessage, applicationProperties: Record<string, unknown>): void {
    const incoming: IncomingMessage = { amqp: message.amqp, size: message.size };
    const target = this.settings.forwardDeadLetteredMessagesTo;
    if (target) {
      this.namespace.forward(target, { amqp: withApplicationProperties(message.amqp, applicationProperties), size: message.size }, 1);
      return;
    }
    this.deadLetterQueue.enqueue(incoming, {
      applicationProperties,
      deliveryCount: message.deliveryCount,
      deadLetterSource: this.path,
    });
  }

  close(): void {
    this.entity.close();
    this.deadLetterQueue.close();
    this.transferDeadLetterQueue.close();
  }
}

class Queue extends ReceivableEntity implements QueueView {
  readonly duplicates: DuplicateDetector | undefined;

  constructor(
    namespace: ServiceBusNamespace,
    readonly name: string,
    override readonly settings: QueueSettings,
  ) {
    super(namespace, name, settings);
    this.duplicates = settings.requiresDuplicateDetection ? new DuplicateDetector(settings.duplicateDetectionHistoryTimeWindowInMs) : undefined;
  }
}

class Subscription extends ReceivableEntity implements SubscriptionView {
  private readonly compiledRules = new Map<string, CompiledRule>();

  constructor(
    namespace: ServiceBusNamespace,
    readonly topicName: string,
    readonly name: string,
    override readonly settings: SubscriptionSettings,
    rules: RuleSpec[],
  ) {
    super(namespace, `${topicName}/Subscriptions/${name}`, settings);
    for (const rule of rules) this.addRule(rule);
  }

  rules(): RuleSpec[] {
    return [...this.compiledRules.values()].map((rule) => rule.spec);
  }

  /** Compiles and adds a rule; invalid SQL fails here, never at routing time. */
  addRule(spec: RuleSpec): void {
    const key = spec.name.toLowerCase();
    if (this.compiledRules.has(key)) {
      // The service's wording (the SDK's own tests match /The messaging entity '.*ruleName' already exists./).
      throw new EmulatorError("MessagingEntityAlreadyExists", `The messaging entity '${this.path}/Rules/${spec.name}' already exists.`);
    }
    let compiled: CompiledRule;
    try {
      compiled = {
        spec,
        filter: compileRuleFilter(spec.filter),
        action: spec.actionSqlExpression ? compileSqlRuleAction(spec.actionSqlExpression) : undefined,
      };
    } catch (error) {
      throw new EmulatorError("ArgumentError", `Rule '${spec.name}' on '${this.path}': ${(error as Error).message}`);
    }
    this.compiledRules.set(key, compiled);
  }

  removeRule(name: string): void {
    if (!this.compiledRules.delete(name.toLowerCase())) {
      throw new EmulatorError("MessagingEntityNotFound", `The messaging entity '${this.path}/Rules/${name}' could not be found.`);
    }
  }

  /**
   * The copies this subscription takes of a message: one per matching rule, as on the
   * service (a rule with an action yields its own modified copy; rules without actions that
   * match add a single unmodified copy between them).
   */
  copiesFor(incoming: IncomingMessage): IncomingMessage[] {
    if (this.compiledRules.size === 0) return [];
    const view = filterableView(incoming.amqp, incoming.size);
    const copies: IncomingMessage[] = [];
    let plainCopy = false;
    for (const rule of this.compiledRules.values()) {
      if (!rule.filter.matches(view)) continue;
      if (!rule.action) {
        plainCopy = true;
        continue;
      }
      const modified = filterableView(incoming.amqp, incoming.size);
      rule.action.apply(modified);
      copies.push({ amqp: fromFilterableView(incoming.amqp, modified), size: incoming.size });
    }
    if (plainCopy) copies.unshift(incoming);
    return copies;
  }
}

class Topic implements TopicView {
  readonly createdAt = new Date();
  modifiedAt = new Date();
  accessedAt = new Date();
  readonly duplicates: DuplicateDetector | undefined;
  readonly subscriptionsByName = new Map<string, Subscription>();
  /** Messages scheduled on the topic, routed to subscriptions when due. */
  private readonly scheduled = new Map<number, IncomingMessage>();
  private readonly scheduleDeadlines: DeadlineQueue<number>;
  private nextSequenceNumber = 1;

  constructor(
    private readonly namespace: ServiceBusNamespace,
    readonly name: string,
    readonly settings: TopicSettings,
  ) {
    this.duplicates = settings.requiresDuplicateDetection ? new DuplicateDetector(settings.duplicateDetectionHistoryTimeWindowInMs) : undefined;
    this.scheduleDeadlines = new DeadlineQueue<number>((seq) => {
      const incoming = this.scheduled.get(seq);
      if (!incoming) return;
      this.scheduled.delete(seq);
      this.namespace.routeToSubscriptions(this, incoming, 0);
    });
  }

  subscriptions(): Subscription[] {
    return [...this.subscriptionsByName.values()];
  }

  scheduledMessageCount(): number {
    return this.scheduled.size;
  }

  sizeInBytes(): number {
    let bytes = 0;
    for (const incoming of this.scheduled.values()) bytes += incoming.size;
    for (const subscription of this.subscriptionsByName.values()) bytes += subscription.counts().sizeInBytes;
    return bytes;
  }

  schedule(incoming: IncomingMessage, atMs: number): number {
    const seq = this.nextSequenceNumber++;
    this.scheduled.set(seq, incoming);
    this.scheduleDeadlines.add(atMs, seq);
    return seq;
  }

  cancelScheduled(sequenceNumbers: number[]): void {
    for (const seq of sequenceNumbers) {
      if (!this.scheduled.has(seq)) {
        throw new EmulatorError("MessageNotFound", `No scheduled message with sequence number ${seq} was found in '${this.name}'.`);
      }
    }
    for (const seq of sequenceNumbers) this.scheduled.delete(seq);
  }

  close(): void {
    this.scheduleDeadlines.close();
    for (const subscription of this.subscriptionsByName.values()) subscription.close();
  }
}

/** What an address resolves to. */
export type ResolvedAddress =
  { kind: "queue"; queue: Queue; address: EntityAddress } | { kind: "topic"; topic: Topic; address: EntityAddress } | { kind: "subscription"; subscription: Subscription; address: EntityAddress };

/**
 * The namespace: its queues and topics (with subscriptions and rules), and the routing the
 * service does at send time — duplicate detection, scheduling, topic fan-out through rules,
 * auto-forwarding, dead-letter forwarding.
 */
export class ServiceBusNamespace implements NamespaceView {
  readonly name: string;
  readonly createdAt = new Date();
  private readonly queuesByName = new Map<string, Queue>();
  private readonly topicsByName = new Map<string, Topic>();

  constructor(
    spec: NamespaceSpec,
    private readonly options: NamespaceOptions = {},
  ) {
    this.name = spec.name;
    const lockOverride = options.lockDurationInMs;
    const withLock = <T extends ReceivableEntitySettings>(settings: T): T => (lockOverride === undefined ? settings : { ...settings, lockDurationInMs: lockOverride });
    for (const queue of spec.queues) {
      this.queuesByName.set(queue.name.toLowerCase(), new Queue(this, queue.name, withLock(queue.settings)));
    }
    for (const topicSpec of spec.topics) {
      const topic = new Topic(this, topicSpec.name, topicSpec.settings);
      for (const sub of topicSpec.subscriptions) {
        topic.subscriptionsByName.set(sub.name.toLowerCase(), new Subscription(this, topicSpec.name, sub.name, withLock(sub.settings), sub.rules));
      }
      this.topicsByName.set(topicSpec.name.toLowerCase(), topic);
    }
  }

  // ---------------------------------------------------------------- views

  queues(): Queue[] {
    return [...this.queuesByName.values()];
  }

  topics(): Topic[] {
    return [...this.topicsByName.values()];
  }

  queue(name: string): Queue | undefined {
    return this.queuesByName.get(name.toLowerCase());
  }

  topic(name: string): Topic | undefined {
    return this.topicsByName.get(name.toLowerCase());
  }

  subscription(topicName: string, subscriptionName: string): Subscription | undefined {
    return this.topic(topicName)?.subscriptionsByName.get(subscriptionName.toLowerCase());
  }

  // ---------------------------------------------------------------- addressing

  /** Resolves a link or management address; throws MessagingEntityNotFound. */
  resolve(addressText: string): ResolvedAddress {
    const address = parseEntityAddress(addressText);
    if (!address) throw EmulatorError.entityNotFound(addressText);
    if (address.subscription !== undefined) {
      const subscription = this.subscription(address.entity, address.subscription);
      if (!subscription) throw EmulatorError.entityNotFound(formatEntityAddress(address));
      return { kind: "subscription", subscription, address };
    }
    const queue = this.queue(address.entity);
    if (queue) return { kind: "queue", queue, address };
    const topic = this.topic(address.entity);
    if (topic && !address.subQueue) return { kind: "topic", topic, address };
    throw EmulatorError.entityNotFound(formatEntityAddress(address));
  }

  /** The entity a receiver reads from at this address (queue, subscription, or one of their dead-letter queues). */
  receivableEntity(addressText: string): MessageEntity {
    const resolved = this.resolve(addressText);
    if (resolved.kind === "topic") {
      throw new EmulatorError("InvalidOperation", `Cannot receive from topic '${resolved.topic.name}': receive from one of its subscriptions.`);
    }
    const owner = resolved.kind === "queue" ? resolved.queue : resolved.subscription;
    switch (resolved.address.subQueue) {
      case "deadLetter":
        return owner.deadLetterQueue;
      case "transferDeadLetter":
        return owner.transferDeadLetterQueue;
      default:
        return owner.entity;
    }
  }

  // ---------------------------------------------------------------- sending

  /**
   * Accepts a message sent to a queue or topic address. Returns the sequence number when the
   * message was scheduled (the handle for cancelling), otherwise undefined.
   */
  send(addressText: string, incoming: IncomingMessage, scheduledEnqueueAtMs?: number): number | undefined {
    const resolved = this.resolve(addressText);
    if (resolved.kind === "subscription" || resolved.address.subQueue) {
      throw new EmulatorError("InvalidOperation", `Cannot send to '${addressText}': send to a queue or a topic.`);
    }
    const duplicates = resolved.kind === "queue" ? resolved.queue.duplicates : resolved.topic.duplicates;
    const messageId = messageIdText(incoming.amqp);
    if (duplicates && messageId !== undefined && !duplicates.admit(messageId)) return undefined;

    if (resolved.kind === "topic") {
      const topic = resolved.topic;
      topic.accessedAt = new Date();
      if (scheduledEnqueueAtMs !== undefined && scheduledEnqueueAtMs > Date.now()) return topic.schedule(incoming, scheduledEnqueueAtMs);
      this.routeToSubscriptions(topic, incoming, 0);
      return undefined;
    }
    return this.enqueueReceivable(resolved.queue, incoming, 0, scheduledEnqueueAtMs);
  }

  /** Auto-forwarding: like a send, without duplicate detection (the service forwards what it accepted). */
  forward(targetName: string, incoming: IncomingMessage, hops: number): void {
    const queue = this.queue(targetName);
    if (queue) {
      this.enqueueReceivable(queue, incoming, hops);
      return;
    }
    const topic = this.topic(targetName);
    if (topic) {
      this.routeToSubscriptions(topic, incoming, hops);
      return;
    }
    // Config validation rejects forwarding to unknown entities; reaching here is a bug, not a user error.
    throw EmulatorError.entityNotFound(targetName);
  }

  routeToSubscriptions(topic: Topic, incoming: IncomingMessage, hops: number): void {
    for (const subscription of topic.subscriptionsByName.values()) {
      for (const copy of subscription.copiesFor(incoming)) this.enqueueReceivable(subscription, copy, hops);
    }
  }

  private enqueueReceivable(target: Queue | Subscription, incoming: IncomingMessage, hops: number, scheduledEnqueueAtMs?: number): number | undefined {
    const forwardTo = target.settings.forwardTo;
    if (forwardTo && hops < MAX_FORWARD_HOPS && !(scheduledEnqueueAtMs && scheduledEnqueueAtMs > Date.now())) {
      this.forward(forwardTo, incoming, hops + 1);
      return undefined;
    }
    const stored = target.entity.enqueue(incoming, { scheduledEnqueueAtMs });
    if (this.options.duplicateDeliveries && stored.state === "active") target.entity.enqueue(incoming);
    return stored.state === "scheduled" ? stored.sequenceNumber : undefined;
  }

  /** Cancels messages scheduled on a queue or topic. */
  cancelScheduled(addressText: string, sequenceNumbers: number[]): void {
    const resolved = this.resolve(addressText);
    if (resolved.kind === "topic") resolved.topic.cancelScheduled(sequenceNumbers);
    else if (resolved.kind === "queue") resolved.queue.entity.cancelScheduled(sequenceNumbers);
    else throw new EmulatorError("InvalidOperation", `Cannot cancel scheduled messages on '${addressText}'.`);
  }

  close(): void {
    for (const queue of this.queuesByName.values()) queue.close();
    for (const topic of this.topicsByName.values()) topic.close();
  }
}

export type { Queue, Subscription, Topic };

function messageIdText(amqp: AmqpMessage): string | undefined {
  const id = amqp.message_id;
  if (id === undefined || id === null) return undefined;
  return Buffer.isBuffer(id) ? id.toString("hex") : String(id);
}

/** System properties by their SQL names (`sys.Label`, …), for filters and rule actions. */
function filterableView(amqp: AmqpMessage, size?: number): FilterableMessage {
  const systemProperties: Record<string, unknown> = {};
  const set = (name: string, value: unknown): void => {
    if (value !== undefined && value !== null) systemProperties[name] = value;
  };
  set("MessageId", amqp.message_id);
  set("CorrelationId", amqp.correlation_id);
  set("To", amqp.to);
  set("ReplyTo", amqp.reply_to);
  set("Label", amqp.subject);
  set("SessionId", amqp.group_id);
  set("ReplyToSessionId", amqp.reply_to_group_id);
  set("ContentType", amqp.content_type);
  set("TimeToLive", amqp.ttl);
  const scheduled: unknown = amqp.message_annotations?.["x-opt-scheduled-enqueue-time"];
  set("ScheduledEnqueueTimeUtc", scheduled);
  // Routing happens on arrival, before a subscription assigns its sequence number.
  set("EnqueuedTimeUtc", new Date());
  set("Size", size);
  return { systemProperties, applicationProperties: { ...(amqp.application_properties ?? {}) } };
}

/** Applies what a rule action changed back onto a copy of the AMQP message. */
function fromFilterableView(original: AmqpMessage, view: FilterableMessage): AmqpMessage {
  const copy: AmqpMessage = { ...original, application_properties: view.applicationProperties };
  const sys = view.systemProperties;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- AMQP values (strings, numbers, UUIDs, Buffers) as their text
  const text = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : String(value));
  copy.message_id = sys.MessageId as AmqpMessage["message_id"];
  copy.correlation_id = sys.CorrelationId as AmqpMessage["correlation_id"];
  copy.to = text(sys.To);
  copy.reply_to = text(sys.ReplyTo);
  copy.subject = text(sys.Label);
  copy.group_id = text(sys.SessionId);
  copy.reply_to_group_id = text(sys.ReplyToSessionId);
  copy.content_type = text(sys.ContentType);
  return copy;
}

function withApplicationProperties(amqp: AmqpMessage, applicationProperties: Record<string, unknown>): AmqpMessage {
  return { ...amqp, application_properties: applicationProperties };
}
