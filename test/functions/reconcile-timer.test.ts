/**
 * Reconcile recovering lost messages on the embedded stack, with the real functions running
 * in a dev host but no local Event Grid (the blob-event source is off: `runFunctions: false`
 * and the dev host is started by the test), so an upload is an original whose event was lost.
 *
 * - The reconcile timer (every second here) finds the unannounced original and re-sends its
 *   BlobCreated event; the recording reaches `ready`.
 * - A record stuck in `received` (its evidence-received reached the index but no stage — as if
 *   the stage messages were lost) is re-announced by `custody reconcile --stuck-after`, and
 *   then also reaches `ready`; the timer alone would wait its stuck-after (minutes).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import type { ReconcileResult } from "../../cli/commands/reconcile";
import { FUNCTION_DEFINITIONS } from "../../functions/definitions";
import { DEFAULT_RECONCILE_SCHEDULE, reconcileFunction } from "../../functions/reconcile";
import { useServices } from "../../functions/services";
import { startDevHost, type DevHost } from "../../local/dev-host/dev-host";
import { readHostJson } from "../../local/dev-host/host-json";
import { startTimers, type TimerRunner } from "../../local/dev-host/timers";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import type { EvidenceReceivedMessage } from "../../shared/contracts/messages";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { createLogger, silentLogger } from "../../shared/logging";
import { loadSettings } from "../../shared/settings";
import { ENTITIES, ROUTE_TO_SUBSCRIPTION_PROPERTY } from "../../shared/topology";
import { runCli } from "../cli/run-cli";
import { waitFor as waitForCondition, waitForRecord } from "../support/polling";
import { waitForQuietPipeline } from "../support/quiet";

const log = process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger;
const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-reconcile-timer-")), "data");
let stack: RunningStack;
let client: ServiceBusClient;
let originals: ContainerClient;
let devHost: DevHost;
let timers: TimerRunner | undefined;

async function upload(name: string): Promise<{ evidenceId: string; etag: string; size: number; url: string }> {
  const bytes = randomBytes(2048);
  const blob = originals.getBlockBlobClient(name);
  const uploaded = await blob.upload(bytes, bytes.length, {
    blobHTTPHeaders: { blobContentType: "video/mp4" },
    metadata: { officerid: "PC4711", deviceid: "BWV-0007", recordedat: "2026-11-26T08:00:00Z" },
  });
  return { evidenceId: deriveEvidenceId({ account: originals.accountName, container: ORIGINALS_CONTAINER, name, etag: uploaded.etag! }), etag: uploaded.etag!, size: bytes.length, url: blob.url };
}

function waitFor(evidenceId: string, done: (record: EvidenceRecord) => boolean): Promise<EvidenceRecord> {
  return waitForRecord(stack.services!.index, evidenceId, done, 60_000);
}

beforeAll(async () => {
  // Only hash is required, so recordings become ready without media tools.
  stack = await startStack({ dataDir, log, runFunctions: false, environment: { CUSTODY_REQUIRED_STAGES: "hash" } });
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  originals = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage).getContainerClient(ORIGINALS_CONTAINER);
  useServices(stack.services);
  devHost = startDevHost({ client, definitions: FUNCTION_DEFINITIONS, hostSettings: readHostJson(), log: log.child({ component: "dev-host" }) });
}, 120_000);

afterAll(async () => {
  await timers?.stop();
  await devHost?.stop();
  useServices(undefined);
  await client?.close();
  await stack?.stop();
});

test("the reconcile timer is scheduled every 30 minutes by default and validates its setting", () => {
  expect(reconcileFunction.schedule({})).toBe(DEFAULT_RECONCILE_SCHEDULE);
  expect(DEFAULT_RECONCILE_SCHEDULE).toBe("0 */30 * * * *");
  expect(() => reconcileFunction.schedule({ CUSTODY_RECONCILE_SCHEDULE: "*/5 * * * *" })).toThrow(/CUSTODY_RECONCILE_SCHEDULE must be an NCRONTAB expression with six fields/);
  expect(loadSettings({ ...stack.environment }).reconcile).toEqual({ stuckAfterMinutes: 60, lookbackHours: 72, localIntervalInMs: 0 });
  expect(() => loadSettings({ ...stack.environment, CUSTODY_RECONCILE_STUCK_AFTER_MINUTES: "0" })).toThrow(/CUSTODY_RECONCILE_STUCK_AFTER_MINUTES/);
});

test("the timer re-announces an original whose event was lost, and the recording becomes ready", async () => {
  const lost = await upload("PC4711/BWV-0007/lost-event.mp4");
  // Without the timer nothing announces it: the pipeline has settled with no record for it.
  await waitForQuietPipeline(stack.serviceBus.namespace);
  expect(await stack.services!.index.read(lost.evidenceId)).toBeUndefined();

  const settings = loadSettings({ ...stack.environment, CUSTODY_RECONCILE_INTERVAL_MS: "1000" });
  timers = startTimers([reconcileFunction], settings, log.child({ component: "timers" }));
  const record = await waitFor(lost.evidenceId, (r) => r.status === "ready" && r.finalEvent?.publishedAt !== undefined);
  expect(record.original).toMatchObject({ container: ORIGINALS_CONTAINER, name: "PC4711/BWV-0007/lost-event.mp4", etag: lost.etag });
  expect(record.custodyLog.map((e) => e.action)).toEqual(expect.arrayContaining(["received", "hashed", "ready"]));
  await timers.stop();
  timers = undefined;
}, 240_000);

test("a record stuck in received (its stage messages lost) is re-announced by reconcile --stuck-after and becomes ready", async () => {
  const stuck = await upload("PC4711/BWV-0007/stuck.mp4");
  // evidence-received for the index only — as if every stage's copy had been lost.
  const message: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: stuck.evidenceId,
    original: { account: originals.accountName, container: ORIGINALS_CONTAINER, name: "PC4711/BWV-0007/stuck.mp4", etag: stuck.etag, url: stuck.url, size: stuck.size, contentType: "video/mp4" },
    capture: { officerId: "PC4711", deviceId: "BWV-0007", recordedAt: "2026-11-26T08:00:00Z" },
    acceptance: { status: "accepted" },
    uploadedAt: new Date().toISOString(),
    sourceEventId: "test-stuck",
  };
  const sender = client.createSender(ENTITIES.evidenceReceivedTopic);
  await sender.sendMessages({
    messageId: "test-stuck-received",
    body: message,
    subject: "evidence-received",
    correlationId: stuck.evidenceId,
    applicationProperties: { [ROUTE_TO_SUBSCRIPTION_PROPERTY]: "index" },
  });
  await sender.close();
  const received = await waitFor(stuck.evidenceId, (r) => r.original !== undefined);
  expect(received.status).toBe("received");
  // Nothing else comes for it: with the pipeline settled, it is still received.
  // Stage runs the timer's repeated re-announcements started may have scheduled retries (backoff from 5 s, doubling): let them settle.
  await waitForQuietPipeline(stack.serviceBus.namespace, { timeoutInMs: 150_000 });
  expect((await stack.services!.index.read(stuck.evidenceId))!.record.status).toBe("received");
  // --stuck-after 2s below: the record must be that old.
  await waitForCondition("the record to be older than 2 s", () => (Date.now() - Date.parse(received.updatedAt) > 2_000 ? true : undefined));

  const dry = await runCli(["reconcile", "--dry-run", "--json", "--stuck-after", "2s", "--data-dir", dataDir]);
  expect(dry.code).toBe(0);
  const dryResult = JSON.parse(dry.stdout) as ReconcileResult;
  expect(dryResult.items).toEqual([expect.objectContaining({ evidenceId: stuck.evidenceId, reason: `stuck since ${received.updatedAt}`, sent: false })]);

  const run = await runCli(["reconcile", "--json", "--stuck-after", "2s", "--data-dir", dataDir]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  expect((JSON.parse(run.stdout) as ReconcileResult).items).toEqual([expect.objectContaining({ evidenceId: stuck.evidenceId, sent: true })]);
  const record = await waitFor(stuck.evidenceId, (r) => r.status === "ready" && r.finalEvent?.publishedAt !== undefined);
  expect(record.stages.hash?.status).toBe("succeeded");
}, 240_000);
