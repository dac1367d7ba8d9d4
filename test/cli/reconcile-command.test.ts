/**
 * `custody reconcile` on the embedded stack: the functions (and so the blob-event source, the
 * local Event Grid) do not run, so an original uploaded with the blob SDK is one whose event
 * was never sent. `--dry-run` lists it and sends nothing; a real run sends exactly the
 * BlobCreated CloudEvent Event Grid would have sent (deterministic event id, valid contract) in a
 * message whose id names the run, and writes an audit record; a second run within the
 * duplicate-detection window is delivered too (its own id), not dropped while reported sent. Then the
 * functions run and the recording reaches a final state.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient, type ServiceBusAdministrationClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import type { AuditRecord } from "../../shared/ports/audit-log";
import type { ReconcileResult } from "../../cli/commands/reconcile";
import { FUNCTION_DEFINITIONS } from "../../functions/definitions";
import { useServices } from "../../functions/services";
import { listBlobsIsolatingFailures } from "../../shared/adapters/blob-listing";
import { blobCreatedEvent } from "../../shared/contracts/blob-created-cloud-event";
import { startDevHost, type DevHost } from "../../local/dev-host/dev-host";
import { readHostJson } from "../../local/dev-host/host-json";
import { createEmulatorAdministrationClient } from "../../local/servicebus-emulator";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import { parseBlobCreatedEvent } from "../../shared/contracts/blob-created-event";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { createLogger, silentLogger } from "../../shared/logging";
import { ENTITIES } from "../../shared/topology";
import { isFinal, waitForRecord } from "../support/polling";
import { runCli } from "./run-cli";

const BLOB_NAME = "PC4711/BWV-0007/never-announced.mp4";
const QUEUE = ENTITIES.blobCreated.queueName;

let stack: RunningStack;
let client: ServiceBusClient;
let admin: ServiceBusAdministrationClient;
let devHost: DevHost | undefined;
let dataDir: string;
let evidenceId: string;
let expectedEventId: string;
const log = process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger;

async function activeCount(): Promise<number> {
  return (await admin.getQueueRuntimeProperties(QUEUE)).activeMessageCount;
}

beforeAll(async () => {
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-reconcile-")), "data");
  // Only hash is required, so the recording can become ready without media tools.
  stack = await startStack({ dataDir, log, runFunctions: false, environment: { CUSTODY_REQUIRED_STAGES: "hash" } });
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  admin = createEmulatorAdministrationClient(stack.environment.ServiceBusConnection, stack.serviceBus.certificatePem);

  const container = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage).getContainerClient(ORIGINALS_CONTAINER);
  const bytes = randomBytes(4096);
  const blob = container.getBlockBlobClient(BLOB_NAME);
  const uploaded = await blob.upload(bytes, bytes.length, {
    blobHTTPHeaders: { blobContentType: "video/mp4" },
    metadata: { officerid: "PC4711", deviceid: "BWV-0007", recordedat: "2026-11-26T08:00:00Z" },
  });
  evidenceId = deriveEvidenceId({ account: container.accountName, container: ORIGINALS_CONTAINER, name: BLOB_NAME, etag: uploaded.etag! });
  // The id the local Event Grid (blob-event source) would have given it: from the listing's ETag.
  for await (const listed of listBlobsIsolatingFailures(container, () => undefined)) {
    if (listed.name === BLOB_NAME) expectedEventId = blobCreatedEvent(container, listed.name, listed.etag, listed).id;
  }
  expect(expectedEventId).toBeDefined();
}, 120_000);

afterAll(async () => {
  await devHost?.stop();
  useServices(undefined);
  await client?.close();
  await stack?.stop();
});

test("reconcile re-emits the BlobCreated event of an original whose event was never sent, once", async () => {
  expect(await activeCount()).toBe(0);
  expect(await stack.services!.index.read(evidenceId)).toBeUndefined();

  const dry = await runCli(["reconcile", "--dry-run", "--json", "--data-dir", dataDir]);
  expect(dry.stderr).toBe("");
  expect(dry.code).toBe(0);
  const dryResult = JSON.parse(dry.stdout) as ReconcileResult;
  expect(dryResult).toMatchObject({ dryRun: true, queue: QUEUE, count: 1, errors: [] });
  expect(dryResult.audit).toBeUndefined();
  expect(dryResult.items).toEqual([
    { evidenceId, blob: `${ORIGINALS_CONTAINER}/${BLOB_NAME}`, reason: "no record", eventId: expectedEventId, messageId: `${expectedEventId}:reconcile-${dryResult.id}:${QUEUE}`, sent: false },
  ]);
  const dryText = await runCli(["reconcile", "--dry-run", "--data-dir", dataDir]);
  expect(dryText.code).toBe(0);
  expect(dryText.stdout).toContain(`${evidenceId}  ${ORIGINALS_CONTAINER}/${BLOB_NAME}  no record`);
  expect(dryText.stdout).toContain("dry run: nothing sent");
  expect(await activeCount()).toBe(0);

  // --since after the upload skips it.
  const later = await runCli(["reconcile", "--dry-run", "--json", "--since", new Date(Date.now() + 60_000).toISOString(), "--data-dir", dataDir]);
  expect(later.code).toBe(0);
  expect(JSON.parse(later.stdout)).toMatchObject({ count: 0, items: [] });

  const run = await runCli(["reconcile", "--json", "--data-dir", dataDir]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const result = JSON.parse(run.stdout) as ReconcileResult;
  expect(result).toMatchObject({ dryRun: false, count: 1, errors: [] });
  const messageId = `${expectedEventId}:reconcile-${result.id}:${QUEUE}`;
  expect(result.items[0]).toMatchObject({ evidenceId, reason: "no record", eventId: expectedEventId, messageId, sent: true });
  expect(result.audit).toMatch(/^audit\//);

  const receiver = client.createReceiver(QUEUE);
  try {
    const peeked = await receiver.peekMessages(10);
    expect(peeked).toHaveLength(1);
    expect(peeked[0].messageId).toBe(messageId);
    // An original with no record: ingest announces it with the usual id (a first announcement
    // still in the topic's window means its event was only in flight).
    expect(peeked[0].applicationProperties ?? {}).not.toHaveProperty("custodyOperation");
    const event = parseBlobCreatedEvent(peeked[0].body);
    expect(event.id).toBe(expectedEventId);
    expect(event.subject).toBe(`/blobServices/default/containers/${ORIGINALS_CONTAINER}/blobs/${BLOB_NAME}`);
  } finally {
    await receiver.close();
  }

  // Again, within the duplicate-detection window: "sent" means delivered, so it is a message of
  // its own (ingest is idempotent), not a repeat the queue drops.
  const again = await runCli(["reconcile", "--json", "--data-dir", dataDir]);
  expect(again.code).toBe(0);
  const second = JSON.parse(again.stdout) as ReconcileResult;
  expect(second).toMatchObject({ count: 1 });
  expect(second.items[0]).toMatchObject({ eventId: expectedEventId, messageId: `${expectedEventId}:reconcile-${second.id}:${QUEUE}`, sent: true });
  expect(await activeCount()).toBe(2);

  const audit = await runCli(["audit", "--json", "--data-dir", dataDir]);
  expect(audit.code).toBe(0);
  const records = JSON.parse(audit.stdout) as AuditRecord[];
  expect(records).toHaveLength(2);
  expect(records[0]).toMatchObject({ id: second.id, action: "reconcile", entity: QUEUE, count: 1, messageIds: [second.items[0].messageId], evidenceIds: [evidenceId] });
}, 120_000);

test("with the functions running, the re-emitted event takes the recording to a final state; reconcile then finds nothing", async () => {
  useServices(stack.services);
  devHost = startDevHost({ client, definitions: FUNCTION_DEFINITIONS, hostSettings: readHostJson(), log: log.child({ component: "dev-host" }) });
  const { status } = await waitForRecord(stack.services!.index, evidenceId, isFinal, 60_000);
  expect(["ready", "failed", "rejected"]).toContain(status);

  const after = await runCli(["reconcile", "--json", "--stuck-after", "1s", "--data-dir", dataDir]);
  expect(after.code).toBe(0);
  expect(JSON.parse(after.stdout)).toMatchObject({ count: 0, items: [], errors: [] });
}, 120_000);
