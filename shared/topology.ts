/**
 * The Service Bus topology as the code sees it, read from the one topology file
 * (topology/servicebus.json — the emulator's config, and Bicep's input). Code refers to
 * entities through `ENTITIES`; each name is checked against the file when this module loads,
 * so a rename in the file that the code did not follow fails at start (and in CI), never at
 * 3 a.m. with MessagingEntityNotFound.
 */
import topologyFile from "../topology/servicebus.json";

interface FileEntityProperties {
  MaxDeliveryCount?: number;
  LockDuration?: string;
}
interface FileRule {
  Name: string;
  Properties?: {
    FilterType?: string;
    SqlFilter?: { SqlExpression?: string };
    CorrelationFilter?: Record<string, unknown>;
    Action?: { SqlExpression?: string };
  };
}
interface FileSubscription {
  Name: string;
  Properties?: FileEntityProperties;
  Rules?: FileRule[];
}
interface FileTopic {
  Name: string;
  Subscriptions?: FileSubscription[];
}
interface FileQueue {
  Name: string;
  Properties?: FileEntityProperties;
}

const namespace = (topologyFile as { UserConfig: { Namespaces: Array<{ Queues?: FileQueue[]; Topics?: FileTopic[] }> } }).UserConfig.Namespaces[0];

export interface QueueEntity {
  kind: "queue";
  queueName: string;
  maxDeliveryCount: number;
}

export interface SubscriptionEntity {
  kind: "subscription";
  topicName: string;
  subscriptionName: string;
  maxDeliveryCount: number;
}

export type ReceivableEntity = QueueEntity | SubscriptionEntity;

/** The service's default when the file sets none. */
const DEFAULT_MAX_DELIVERY_COUNT = 10;

function queue(name: string): QueueEntity {
  const found = (namespace.Queues ?? []).find((q) => q.Name === name);
  if (!found) throw new Error(`topology/servicebus.json has no queue '${name}', which the code uses.`);
  return { kind: "queue", queueName: name, maxDeliveryCount: found.Properties?.MaxDeliveryCount ?? DEFAULT_MAX_DELIVERY_COUNT };
}

function topic(name: string): string {
  if (!(namespace.Topics ?? []).some((t) => t.Name === name)) {
    throw new Error(`topology/servicebus.json has no topic '${name}', which the code uses.`);
  }
  return name;
}

function subscription(topicName: string, name: string): SubscriptionEntity {
  const found = (namespace.Topics ?? []).find((t) => t.Name === topicName)?.Subscriptions?.find((s) => s.Name === name);
  if (!found) throw new Error(`topology/servicebus.json has no subscription '${topicName}/${name}', which the code uses.`);
  return {
    kind: "subscription",
    topicName,
    subscriptionName: name,
    maxDeliveryCount: found.Properties?.MaxDeliveryCount ?? DEFAULT_MAX_DELIVERY_COUNT,
  };
}

export const ENTITIES = {
  /** Event Grid delivers Microsoft.Storage.BlobCreated CloudEvents here. */
  blobCreated: queue("blob-created"),
  /** Ingest publishes one evidence-received message per recording. */
  evidenceReceivedTopic: topic("evidence-received"),
  hashSubscription: subscription("evidence-received", "hash"),
  transcodeSubscription: subscription("evidence-received", "transcode"),
  thumbnailSubscription: subscription("evidence-received", "thumbnail"),
  indexSubscription: subscription("evidence-received", "index"),
  /**
   * The core app's claims: hash results and fixity results (also `custody verify --record`).
   * Only the core identity may send here, so only it can claim a fingerprint; only index reads it.
   */
  stageResults: queue("stage-results"),
  /**
   * The media app's claims: transcode and thumbnail results (and any later media stage's). The
   * media identity may send here and nowhere else; index refuses a hash or fixity claim on it.
   */
  mediaResults: queue("media-results"),
  /**
   * Work orders of the segment-parallel transcode, sent by the index (the only sender) to the
   * media app: one per segment of a recording's plan, then one join per plan.
   */
  transcodeSegments: queue("transcode-segments"),
  transcodeJoin: queue("transcode-join"),
  /**
   * Orders to sign a recording's images with Content Credentials (docs/decisions/0016), sent by
   * the index (the only sender) to the core app — which alone may sign with the evidence key —
   * once the recording's SHA-256 and its thumbnail result are both recorded.
   */
  contentCredentials: queue("content-credentials"),
  /**
   * Retention commands (categorise, hold, dispose) from operators (`custody retention`, `custody
   * hold`), downstream systems (case management) and the disposal timer; only the index reads it.
   */
  retentionCommands: queue("retention-commands"),
  /**
   * Releases of legal holds (`custody release`): a queue of their own because Service Bus
   * authorises senders per entity, not per message — only records officers may send here
   * (bicep/service-bus-access.json), and the index accepts a release from no other route.
   */
  retentionReleases: queue("retention-releases"),
  /** The product's public contract: evidence-ready / evidence-failed events. */
  evidenceReadyTopic: topic("evidence-ready"),
} as const;

/** Every queue and subscription in the topology (for the ops CLI's listings). */
export function allReceivableEntities(): ReceivableEntity[] {
  const queues = (namespace.Queues ?? []).map((q) => queue(q.Name));
  const subscriptions = (namespace.Topics ?? []).flatMap((t) => (t.Subscriptions ?? []).map((s) => subscription(t.Name, s.Name)));
  return [...queues, ...subscriptions];
}

/** The path a receiver uses: `queue` or `topic/Subscriptions/sub`. */
export function entityPath(entity: ReceivableEntity): string {
  return entity.kind === "queue" ? entity.queueName : `${entity.topicName}/Subscriptions/${entity.subscriptionName}`;
}

/** `queue` or `topic/subscription`: how operators name entities. */
export function entityName(entity: ReceivableEntity): string {
  return entity.kind === "queue" ? entity.queueName : `${entity.topicName}/${entity.subscriptionName}`;
}

/**
 * The application property that addresses a message published on a topic to ONE of its
 * subscriptions: each subscription's `redrive` rule accepts `custodyRedriveTo = '<its name>'`,
 * and every other rule requires the property to be absent. Used by the dead-letter redrive
 * and by `custody reprocess`.
 */
export const ROUTE_TO_SUBSCRIPTION_PROPERTY = "custodyRedriveTo";

/** A subscription rule as the topology file declares it (what `custody subscribe` restores). */
export interface DeclaredRule {
  name: string;
  filter: { kind: "sql"; sqlExpression: string } | { kind: "correlation"; properties: Record<string, unknown> };
  actionSqlExpression?: string;
}

/** The rules the topology file declares for a subscription; undefined when it is not in the file. */
export function declaredRules(topicName: string, subscriptionName: string): DeclaredRule[] | undefined {
  const found = (namespace.Topics ?? []).find((t) => t.Name === topicName)?.Subscriptions?.find((s) => s.Name === subscriptionName);
  if (!found) return undefined;
  return (found.Rules ?? []).map((rule): DeclaredRule => {
    const properties = rule.Properties ?? {};
    const filter: DeclaredRule["filter"] =
      properties.FilterType === "Correlation"
        ? { kind: "correlation", properties: correlationFromFile(properties.CorrelationFilter ?? {}) }
        : { kind: "sql", sqlExpression: properties.SqlFilter?.SqlExpression ?? "1=1" };
    const declared: DeclaredRule = { name: rule.Name, filter };
    if (properties.Action?.SqlExpression) declared.actionSqlExpression = properties.Action.SqlExpression;
    return declared;
  });
}

/** Config.json's correlation filter fields (PascalCase; `Label` is the SDK's `subject`) as the SDK names them. */
function correlationFromFile(filter: Record<string, unknown>): Record<string, unknown> {
  const names: Record<string, string> = {
    CorrelationId: "correlationId",
    MessageId: "messageId",
    To: "to",
    ReplyTo: "replyTo",
    Label: "subject",
    SessionId: "sessionId",
    ReplyToSessionId: "replyToSessionId",
    ContentType: "contentType",
    Properties: "applicationProperties",
  };
  return Object.fromEntries(Object.entries(filter).map(([key, value]) => [names[key] ?? key, value]));
}
