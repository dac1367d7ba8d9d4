/**
 * EventSubscription over Service Bus: a peek-lock receiver on one subscription and the SDK's
 * ServiceBusRuleManager for its rules. The rule manager speaks AMQP ($management add-rule /
 * remove-rule / enumerate-rules) and needs only the Listen right — the right a consumer has
 * anyway — where the administration client would need Manage.
 */
import type { CorrelationRuleFilter, ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver, ServiceBusRuleManager, SqlRuleFilter } from "@azure/service-bus";
import { CustodyError, toCustodyError } from "../errors";
import type { EventSubscription, ReceivedMessage, SubscriptionRule } from "../ports/event-subscription";
import type { ConnectionAuth } from "../settings";
import { createServiceBusClient } from "./service-bus-client";

export class ServiceBusEventSubscription implements EventSubscription {
  private readonly receiver: ServiceBusReceiver;
  private readonly rules: ServiceBusRuleManager;

  constructor(
    private readonly client: ServiceBusClient,
    readonly topicName: string,
    readonly subscriptionName: string,
    private readonly ownsClient: boolean,
  ) {
    this.receiver = client.createReceiver(topicName, subscriptionName, { receiveMode: "peekLock" });
    this.rules = client.createRuleManager(topicName, subscriptionName);
  }

  async listRules(): Promise<SubscriptionRule[]> {
    const out: SubscriptionRule[] = [];
    try {
      for await (const rule of this.rules.listRules()) {
        const filter = rule.filter;
        const item: SubscriptionRule = { name: rule.name, filter: isSqlFilter(filter) ? sqlOrConstant(filter.sqlExpression) : { kind: "correlation", properties: correlationProperties(filter) } };
        if (rule.action?.sqlExpression) item.actionSqlExpression = rule.action.sqlExpression;
        out.push(item);
      }
    } catch (error) {
      throw entityError(error, this.topicName, this.subscriptionName);
    }
    return out;
  }

  async addRule(rule: SubscriptionRule): Promise<void> {
    const filter: SqlRuleFilter | CorrelationRuleFilter =
      rule.filter.kind === "sql"
        ? { sqlExpression: rule.filter.sqlExpression }
        : rule.filter.kind === "true"
          ? { sqlExpression: "1=1" }
          : rule.filter.kind === "false"
            ? { sqlExpression: "1=0" }
            : rule.filter.properties;
    try {
      if (rule.actionSqlExpression) await this.rules.createRule(rule.name, filter, { sqlExpression: rule.actionSqlExpression });
      else await this.rules.createRule(rule.name, filter);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // A filter the service cannot parse is the caller's to fix: say so, with the service's words.
      if (code === "InvalidOperation" || code === "ServiceError" || /filter|syntax|sql/i.test((error as Error).message ?? "")) {
        throw new CustodyError("InvalidConfiguration", `rule '${rule.name}' refused by Service Bus: ${(error as Error).message}`, { cause: error });
      }
      throw entityError(error, this.topicName, this.subscriptionName);
    }
  }

  async removeRule(name: string): Promise<void> {
    try {
      await this.rules.deleteRule(name);
    } catch (error) {
      throw entityError(error, this.topicName, this.subscriptionName);
    }
  }

  async receive(max: number, maxWaitTimeInMs: number, abortSignal?: AbortSignal): Promise<ReceivedMessage[]> {
    try {
      const messages = await this.receiver.receiveMessages(max, { maxWaitTimeInMs, abortSignal });
      return messages.map(toReceived);
    } catch (error) {
      if (abortSignal?.aborted) return [];
      throw entityError(error, this.topicName, this.subscriptionName);
    }
  }

  async complete(message: ReceivedMessage): Promise<void> {
    await this.receiver.completeMessage(message.handle as ServiceBusReceivedMessage);
  }

  async deadLetter(message: ReceivedMessage, reason: string, description: string): Promise<void> {
    // The service caps each at 4,096 characters; a reason is for a person, the start is what counts.
    await this.receiver.deadLetterMessage(message.handle as ServiceBusReceivedMessage, { deadLetterReason: reason.slice(0, 4096), deadLetterErrorDescription: description.slice(0, 4096) });
  }

  async close(): Promise<void> {
    await this.receiver.close().catch(() => undefined);
    if (this.ownsClient) await this.client.close();
  }
}

export function openEventSubscription(auth: ConnectionAuth, topicName: string, subscriptionName: string): EventSubscription {
  return new ServiceBusEventSubscription(createServiceBusClient(auth), topicName, subscriptionName, true);
}

function isSqlFilter(filter: SqlRuleFilter | CorrelationRuleFilter): filter is SqlRuleFilter {
  return typeof (filter as SqlRuleFilter).sqlExpression === "string";
}

function sqlOrConstant(sqlExpression: string): SubscriptionRule["filter"] {
  const compact = sqlExpression.replace(/\s+/g, "");
  if (compact === "1=1") return { kind: "true" };
  if (compact === "1=0") return { kind: "false" };
  return { kind: "sql", sqlExpression };
}

function correlationProperties(filter: CorrelationRuleFilter): Record<string, unknown> {
  return Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined));
}

function toReceived(message: ServiceBusReceivedMessage): ReceivedMessage {
  return {
    messageId: message.messageId === undefined ? undefined : String(message.messageId),
    subject: message.subject,
    contentType: message.contentType,
    correlationId: message.correlationId === undefined ? undefined : String(message.correlationId),
    applicationProperties: { ...(message.applicationProperties ?? {}) },
    body: message.body,
    deliveryCount: message.deliveryCount,
    enqueuedTime: message.enqueuedTimeUtc?.toISOString(),
    handle: message,
  };
}

function entityError(error: unknown, topicName: string, subscriptionName: string): CustodyError {
  const failure = toCustodyError(error);
  if ((error as { code?: unknown }).code === "MessagingEntityNotFound") {
    return new CustodyError("InvalidConfiguration", `subscription '${topicName}/${subscriptionName}' does not exist`, { cause: error });
  }
  return failure;
}
