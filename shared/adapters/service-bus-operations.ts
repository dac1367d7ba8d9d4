/**
 * QueueOperations over Service Bus: counts through ServiceBusAdministrationClient
 * (get*RuntimeProperties), dead-letter messages through a receiver on the entity's
 * dead-letter sub-queue with `peekMessages` — a peek takes no lock and changes no delivery
 * count, so looking never disturbs what is being looked at.
 *
 * Keyless in Azure (`ServiceBusConnection__fullyQualifiedNamespace` + @azure/identity), a
 * connection string locally. The local emulator serves the management API over HTTPS on its
 * AMQP port with a self-signed certificate generated at each start: a connection string with
 * `UseDevelopmentEmulator=true` needs that certificate's PEM, which this client alone trusts
 * (`tlsOptions.ca`, as local/servicebus-emulator/admin/client.ts does) — never process-wide.
 */
import { ServiceBusAdministrationClient, type PeekMessagesOptions, type ServiceBusClient, type ServiceBusReceivedMessage } from "@azure/service-bus";
import { CustodyError } from "../errors";
import type { DeadLetteredMessage, DeadLetterReceiver, EntityCounts, LockedDeadLetter, QueueOperations, VerbatimMessage } from "../ports/queue-operations";
import type { ConnectionAuth } from "../settings";
import { SERVICE_BUS_CONNECTION } from "../settings";
import { entityPath, type ReceivableEntity } from "../topology";
import { createCredential } from "./credential";
import { createServiceBusClient } from "./service-bus-client";

export interface ServiceBusOperationsOptions {
  /** PEM of the local emulator's management certificate (required for an emulator connection string). */
  emulatorCertificatePem?: string;
  /** Messages per peek request. Default 100. */
  pageSize?: number;
}

type SequenceNumber = NonNullable<PeekMessagesOptions["fromSequenceNumber"]>;

const DEFAULT_PAGE_SIZE = 100;

export function isEmulatorConnection(auth: ConnectionAuth): boolean {
  return auth.kind === "connectionString" && /(^|;)\s*UseDevelopmentEmulator\s*=\s*true\s*(;|$)/i.test(auth.connectionString);
}

export function createAdministrationClient(auth: ConnectionAuth, emulatorCertificatePem?: string): ServiceBusAdministrationClient {
  if (auth.kind === "identity") return new ServiceBusAdministrationClient(auth.endpoint, createCredential(auth.clientId));
  if (isEmulatorConnection(auth)) {
    if (!emulatorCertificatePem) {
      throw new CustodyError(
        "InvalidConfiguration",
        `${SERVICE_BUS_CONNECTION} names the local Service Bus emulator (UseDevelopmentEmulator=true), whose management endpoint uses a self-signed certificate generated at each start, and no certificate is available: ` +
          "use the stack started by `custody start` (its stack.json carries the certificate; pass its --data-dir), " +
          "or start the emulator with `custody emulator servicebus --cert-out FILE` and set NODE_EXTRA_CA_CERTS=FILE.",
      );
    }
    return new ServiceBusAdministrationClient(auth.connectionString, { tlsOptions: { ca: emulatorCertificatePem } });
  }
  return new ServiceBusAdministrationClient(auth.connectionString);
}

export class ServiceBusOperations implements QueueOperations {
  private readonly pageSize: number;

  /**
   * @param newClient a new ServiceBusClient (connection) per peek: the SDK remembers the last
   *   peeked sequence number per entity and connection, and a peek without
   *   `fromSequenceNumber` continues from it — so each listing starts on a fresh connection at
   *   the queue's head, then pages on with explicit sequence numbers.
   */
  constructor(
    private readonly admin: ServiceBusAdministrationClient,
    private readonly newClient: () => ServiceBusClient,
    options: { pageSize?: number } = {},
  ) {
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  }

  async listCounts(entities: readonly ReceivableEntity[]): Promise<EntityCounts[]> {
    return Promise.all(entities.map((entity) => this.countsOf(entity)));
  }

  private async countsOf(entity: ReceivableEntity): Promise<EntityCounts> {
    if (entity.kind === "queue") {
      const p = await this.admin.getQueueRuntimeProperties(entity.queueName);
      return {
        entity: entityPath(entity),
        kind: "queue",
        active: p.activeMessageCount,
        deadLetter: p.deadLetterMessageCount,
        scheduled: p.scheduledMessageCount,
        transferDeadLetter: p.transferDeadLetterMessageCount,
      };
    }
    const p = await this.admin.getSubscriptionRuntimeProperties(entity.topicName, entity.subscriptionName);
    return {
      entity: entityPath(entity),
      kind: "subscription",
      active: p.activeMessageCount,
      deadLetter: p.deadLetterMessageCount,
      // Messages scheduled on a topic wait in the topic, not in its subscriptions: Service Bus
      // reports no scheduled count for a subscription.
      scheduled: null,
      transferDeadLetter: p.transferDeadLetterMessageCount,
    };
  }

  async peekDeadLetters(entity: ReceivableEntity, max: number): Promise<DeadLetteredMessage[]> {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive whole number, not ${max}`);
    const client = this.newClient();
    const receiver =
      entity.kind === "queue"
        ? client.createReceiver(entity.queueName, { subQueueType: "deadLetter" })
        : client.createReceiver(entity.topicName, entity.subscriptionName, { subQueueType: "deadLetter" });
    try {
      const peeked: ServiceBusReceivedMessage[] = [];
      let from: SequenceNumber | undefined;
      while (peeked.length < max) {
        const page = await receiver.peekMessages(Math.min(this.pageSize, max - peeked.length), from === undefined ? {} : { fromSequenceNumber: from });
        if (page.length === 0) break;
        peeked.push(...page);
        const last = page[page.length - 1].sequenceNumber;
        if (last === undefined) break;
        from = last.add(1);
      }
      return peeked.slice(0, max).map(toDeadLettered);
    } finally {
      await receiver.close().catch(() => undefined);
      await client.close();
    }
  }

  private sendClient: ServiceBusClient | undefined;

  openDeadLetterReceiver(entity: ReceivableEntity): Promise<DeadLetterReceiver> {
    const client = this.newClient();
    const receiver =
      entity.kind === "queue"
        ? client.createReceiver(entity.queueName, { subQueueType: "deadLetter", receiveMode: "peekLock" })
        : client.createReceiver(entity.topicName, entity.subscriptionName, { subQueueType: "deadLetter", receiveMode: "peekLock" });
    const raw = (message: LockedDeadLetter) => message.handle as ServiceBusReceivedMessage;
    return Promise.resolve({
      async receive(max, maxWaitTimeInMs) {
        const messages = await receiver.receiveMessages(max, { maxWaitTimeInMs });
        return messages.map((m): LockedDeadLetter => ({ ...toDeadLettered(m), handle: m }));
      },
      complete: (message) => receiver.completeMessage(raw(message)),
      abandon: (message) => receiver.abandonMessage(raw(message)),
      async close() {
        await receiver.close().catch(() => undefined);
        await client.close();
      },
    });
  }

  async send(queueOrTopic: string, message: VerbatimMessage): Promise<void> {
    this.sendClient ??= this.newClient();
    const sender = this.sendClient.createSender(queueOrTopic);
    try {
      await sender.sendMessages({
        messageId: message.messageId,
        body: message.body,
        contentType: message.contentType,
        correlationId: message.correlationId,
        subject: message.subject,
        applicationProperties: message.applicationProperties,
      });
    } finally {
      await sender.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    // The admin client is HTTP; peeks close their own connections; only the sender's connection is held.
    const client = this.sendClient;
    this.sendClient = undefined;
    await client?.close();
  }
}

export function createQueueOperations(auth: ConnectionAuth, options: ServiceBusOperationsOptions = {}): QueueOperations {
  // The admin client first: it is the one that can refuse (emulator without its certificate).
  const admin = createAdministrationClient(auth, options.emulatorCertificatePem);
  return new ServiceBusOperations(admin, () => createServiceBusClient(auth), { pageSize: options.pageSize });
}

function toDeadLettered(message: ServiceBusReceivedMessage): DeadLetteredMessage {
  return {
    sequenceNumber: message.sequenceNumber?.toString() ?? "",
    messageId: message.messageId === undefined ? undefined : String(message.messageId),
    correlationId: message.correlationId === undefined ? undefined : String(message.correlationId),
    subject: message.subject,
    enqueuedTime: message.enqueuedTimeUtc?.toISOString(),
    deliveryCount: message.deliveryCount,
    deadLetterReason: message.deadLetterReason,
    deadLetterErrorDescription: message.deadLetterErrorDescription,
    deadLetterSource: message.deadLetterSource,
    contentType: message.contentType,
    applicationProperties: { ...(message.applicationProperties ?? {}) },
    body: message.body,
  };
}
