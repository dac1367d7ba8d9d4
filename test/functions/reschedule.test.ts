/**
 * Ingest and the index own their input's retries: when the index cannot reach Cosmos DB (here a
 * real client against a stand-in that was stopped — connection refused), the function sends a
 * copy of its message to the same entity, scheduled after a backoff, and completes the
 * original, instead of abandoning it (Service Bus would redeliver it at once and use up
 * MaxDeliveryCount in seconds). Through the real SDK against the project's emulator.
 */
import { InvocationContext } from "@azure/functions";
import { ServiceBusClient, type ServiceBusReceivedMessage } from "@azure/service-bus";
import { indexReceivedHandler, indexResultsHandler } from "../../functions/index-evidence";
import { RESCHEDULE_FIRST_FAILED_AT_PROPERTY, RESCHEDULE_ROUND_PROPERTY } from "../../functions/invocation";
import { useServices, type FunctionServices } from "../../functions/services";
import { createLocalCosmosClient, LOCAL_COSMOS_KEY, startLocalCosmos, type CosmosInstance } from "../../local/cosmos";
import { startServiceBusEmulator, type ServiceBusEmulator } from "../../local/servicebus-emulator";
import { CosmosEvidenceIndex, ensureEvidenceContainer } from "../../shared/adapters/cosmos-evidence-index";
import { ServiceBusPublisher } from "../../shared/adapters/service-bus-publisher";
import type { EvidenceReceivedMessage, StageResultMessage } from "../../shared/contracts/messages";
import { loadSettings } from "../../shared/settings";
import { ENTITIES } from "../../shared/topology";

const EV = "ev-0123456789abcdef0123456789abcdef";
let emulator: ServiceBusEmulator;
let cosmos: CosmosInstance;
let client: ServiceBusClient;
let publisher: ServiceBusPublisher;

beforeAll(async () => {
  emulator = await startServiceBusEmulator();
  client = new ServiceBusClient(emulator.connectionString);
  publisher = new ServiceBusPublisher(new ServiceBusClient(emulator.connectionString));
  cosmos = await startLocalCosmos();
  const cosmosClient = createLocalCosmosClient(cosmos.endpoint);
  const index = new CosmosEvidenceIndex(await ensureEvidenceContainer(cosmosClient));
  // The index is gone: every read and write is refused.
  await cosmos.stop();
  const settings = loadSettings({
    ServiceBusConnection: emulator.connectionString,
    EvidenceStorage: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${LOCAL_COSMOS_KEY};BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;`,
    EvidenceIndex: cosmos.connectionString,
    EvidenceIndex__allowSelfSignedCertificate: "true",
    CUSTODY_RETRY_FIRST_DELAY_MS: "1000",
    CUSTODY_RETRY_MAX_DELAY_MS: "4000",
    CUSTODY_RETRY_BUDGET_MINUTES: "30",
  });
  useServices({ settings, index, publisher } as unknown as FunctionServices);
}, 60_000);

afterAll(async () => {
  useServices(undefined);
  await publisher?.close();
  await client?.close();
  await emulator?.close();
});

function invocation(name: string, metadata: Record<string, unknown>): InvocationContext {
  return new InvocationContext({ invocationId: `test-${Math.random()}`, functionName: name, triggerMetadata: { deliveryCount: 1, ...metadata }, logHandler: () => undefined });
}

async function receiveOne(receiverPath: [string] | [string, string]): Promise<ServiceBusReceivedMessage> {
  const receiver =
    receiverPath.length === 1
      ? client.createReceiver(receiverPath[0], { receiveMode: "receiveAndDelete" })
      : client.createReceiver(receiverPath[0], receiverPath[1], { receiveMode: "receiveAndDelete" });
  try {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 1_000 });
      if (message) return message;
    }
    throw new Error(`nothing arrived on ${receiverPath.join("/")}`);
  } finally {
    await receiver.close();
  }
}

const failure: StageResultMessage = {
  schemaVersion: 1,
  kind: "stage-result",
  evidenceId: EV,
  stage: "hash",
  attempt: 1,
  outcome: "succeeded",
  final: true,
  startedAt: "2026-12-05T07:00:00.000Z",
  finishedAt: "2026-12-05T07:00:05.000Z",
  actor: "custody/hash@test",
  hash: { sha256: "a".repeat(64), size: 10, segmentSizeInBytes: 4194304, segmentSha256: ["b".repeat(64)] },
};

test("index unreachable: the stage result is re-scheduled on its queue with backoff, round by round, the budget counted from the first failure", async () => {
  const sentAt = Date.now();
  const outcome = await indexResultsHandler(
    failure,
    invocation("index-results", { messageId: `${EV}:hash:1:succeeded`, correlationId: EV, subject: "stage-result", applicationProperties: { evidenceId: EV, stage: "hash", outcome: "succeeded" } }),
  );
  expect(outcome).toEqual({ settle: "complete" });

  const copy = await receiveOne([ENTITIES.stageResults.queueName]);
  expect(copy.messageId).toBe(`${EV}:hash:1:succeeded:reschedule-1`);
  expect(copy.body).toEqual(failure);
  expect(copy.applicationProperties).toMatchObject({ stage: "hash", outcome: "succeeded", evidenceId: EV, [RESCHEDULE_ROUND_PROPERTY]: 1 });
  const firstFailedAt = copy.applicationProperties?.[RESCHEDULE_FIRST_FAILED_AT_PROPERTY] as string;
  expect(Date.parse(firstFailedAt)).toBeGreaterThanOrEqual(sentAt - 1000);
  // Not redelivered at once: enqueued after the first backoff (0.5–1 s with jitter).
  expect(copy.enqueuedTimeUtc!.getTime() - sentAt).toBeGreaterThanOrEqual(400);

  // The copy fails again: round 2, same first failure time, the id does not grow.
  await indexResultsHandler(copy.body, invocation("index-results", { messageId: copy.messageId, correlationId: EV, subject: copy.subject, applicationProperties: copy.applicationProperties }));
  const second = await receiveOne([ENTITIES.stageResults.queueName]);
  expect(second.messageId).toBe(`${EV}:hash:1:succeeded:reschedule-2`);
  expect(second.applicationProperties).toMatchObject({ [RESCHEDULE_ROUND_PROPERTY]: 2, [RESCHEDULE_FIRST_FAILED_AT_PROPERTY]: firstFailedAt });
}, 60_000);

test("past the retry budget the message is abandoned (the host's MaxDeliveryCount then dead-letters it) rather than re-scheduled", async () => {
  const longAgo = new Date(Date.now() - 31 * 60_000).toISOString();
  await expect(
    indexResultsHandler(
      failure,
      invocation("index-results", {
        messageId: `${EV}:hash:1:succeeded:reschedule-40`,
        correlationId: EV,
        applicationProperties: { [RESCHEDULE_ROUND_PROPERTY]: 40, [RESCHEDULE_FIRST_FAILED_AT_PROPERTY]: longAgo },
      }),
    ),
  ).rejects.toMatchObject({ code: "Transient" });
});

test("a subscription's copy goes back through its topic to that subscription only", async () => {
  const received: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: EV,
    original: { account: "devstoreaccount1", container: "originals", name: "x.mp4", etag: '"e"', url: "http://127.0.0.1:1/devstoreaccount1/originals/x.mp4", size: 10 },
    acceptance: { status: "accepted" },
    uploadedAt: "2026-12-05T07:00:00.000Z",
    sourceEventId: "evt-1",
  };
  const outcome = await indexReceivedHandler(
    received,
    invocation("index-received", { messageId: `${EV}:received`, correlationId: EV, subject: "evidence-received", applicationProperties: { evidenceId: EV, acceptance: "accepted" } }),
  );
  expect(outcome).toEqual({ settle: "complete" });
  const copy = await receiveOne([ENTITIES.evidenceReceivedTopic, ENTITIES.indexSubscription.subscriptionName]);
  expect(copy.messageId).toBe(`${EV}:received:reschedule-1`);
  expect(copy.applicationProperties).toMatchObject({ custodyRedriveTo: "index", [RESCHEDULE_ROUND_PROPERTY]: 1 });
  // Routed when it became active: the stage subscriptions got nothing (no re-hash, no re-transcode).
  for (const stage of [ENTITIES.hashSubscription, ENTITIES.transcodeSubscription, ENTITIES.thumbnailSubscription]) {
    const peeker = client.createReceiver(stage.topicName, stage.subscriptionName);
    expect(await peeker.peekMessages(10, { fromSequenceNumber: undefined })).toEqual([]);
    await peeker.close();
  }
}, 60_000);
