/**
 * `custody reprocess` on the embedded stack with the media stages running: a ready recording's
 * transcode is re-run (as after an ffmpeg upgrade) — only the transcode, not the thumbnails or
 * the hash; the record shows the new proxy and provenance, keeps the replaced proxy's digest
 * under `superseded` and both runs in the custody log; downstream receives exactly one
 * evidence-updated event naming the new proxy and the replaced one, whose bytes are still where
 * the ready event said; the request is audited.
 * Requests that cannot be honoured (the hash stage, an unknown recording) exit 2 and send
 * nothing for them; a dry run sends nothing at all.
 */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient, type ServiceBusAdministrationClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import type { AuditRecord } from "../../shared/ports/audit-log";
import type { ReprocessResult } from "../../cli/commands/reprocess";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { createEmulatorAdministrationClient } from "../../local/servicebus-emulator";
import { DERIVED_CONTAINER, ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import { parseEvidenceEvent, type EvidenceEvent } from "../../shared/contracts/evidence-events";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { createLogger, silentLogger } from "../../shared/logging";
import { ENTITIES } from "../../shared/topology";
import { evidenceIdForBlob, waitForRecord } from "../support/polling";
import { waitForQuietPipeline } from "../support/quiet";
import { runCli } from "./run-cli";

const FIXTURE = path.resolve(__dirname, "..", "..", "fixtures", "media", "exo_fragmented_fmp4.mp4");
const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-reprocess-")), "data");
let stack: RunningStack;
let blobService: BlobServiceClient;
let admin: ServiceBusAdministrationClient;
let evidenceId: string;
let before: EvidenceRecord;

function waitFor(done: (record: EvidenceRecord) => boolean): Promise<EvidenceRecord> {
  return waitForRecord(stack.services!.index, evidenceId, done, 60_000);
}

async function announcements(subscription = "all-events"): Promise<number> {
  // Nothing consumes the example subscriptions on the embedded stack: every announcement stays there.
  return (await admin.getSubscriptionRuntimeProperties(ENTITIES.evidenceReadyTopic, subscription)).activeMessageCount;
}

/** The events waiting on an example subscription, parsed and checked as a consumer would (closed schemas: nothing undocumented). */
async function peekEvents(subscription: string): Promise<EvidenceEvent[]> {
  const client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  try {
    const receiver = client.createReceiver(ENTITIES.evidenceReadyTopic, subscription);
    const messages = await receiver.peekMessages(50);
    await receiver.close();
    return messages.map((m) => parseEvidenceEvent(m, { closed: true }));
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  stack = await startStack({ dataDir, log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger, blobPollIntervalInMs: 100 });
  blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
  admin = createEmulatorAdministrationClient(stack.environment.ServiceBusConnection, stack.serviceBus.certificatePem);
  const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), FIXTURE, { officerId: "PC4", deviceId: "BWV-4", recordedAt: "2026-11-26T08:00:00Z" });
  evidenceId = await evidenceIdForBlob(stack.services!.index, uploaded.blobName);
  before = await waitFor((r) => r.status === "ready" && r.finalEvent?.publishedAt !== undefined);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

test("a dry run lists the re-runs and sends nothing", async () => {
  const dry = await runCli(["reprocess", evidenceId, "--dry-run", "--json", "--data-dir", dataDir]);
  expect(dry.stderr).toBe("");
  expect(dry.code).toBe(0);
  const result = JSON.parse(dry.stdout) as ReprocessResult;
  expect(result).toMatchObject({ dryRun: true, count: 2, stages: ["transcode", "thumbnail"] });
  expect(result.items.map((i) => [i.stage, i.sent])).toEqual([
    ["transcode", false],
    ["thumbnail", false],
  ]);
  expect(result.audit).toBeUndefined();
  await waitForQuietPipeline(stack.serviceBus.namespace);
  expect((await stack.services!.index.read(evidenceId))?.record.custodyLog).toEqual(before.custodyLog);
}, 60_000);

test("re-running the transcode replaces the proxy and its provenance, keeps the old digest, and touches nothing else", async () => {
  const oldProxy = before.stages.transcode!.renditions![0];
  const run = await runCli(["reprocess", evidenceId, "--stage", "transcode", "--reason", "ffmpeg upgrade", "--wait", "--json", "--data-dir", dataDir]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const result = JSON.parse(run.stdout) as ReprocessResult;
  expect(result).toMatchObject({ dryRun: false, count: 1, stages: ["transcode"], reason: "ffmpeg upgrade" });
  expect(result.items).toEqual([
    expect.objectContaining({
      evidenceId,
      stage: "transcode",
      sent: true,
      outcome: "succeeded",
      primary: expect.objectContaining({ name: oldProxy.name }),
      replaced: { name: oldProxy.name, sha256: oldProxy.sha256 },
    }),
  ]);
  expect(result.audit).toMatch(/^audit\//);

  const after = (await stack.services!.index.read(evidenceId))!.record;
  const transcode = after.stages.transcode!;
  expect(transcode.resultKey).toBe(`${evidenceId}:transcode:reprocess-${result.id}:1:succeeded`);
  expect(transcode.provenance!.startedAt > before.stages.transcode!.provenance!.finishedAt).toBe(true);
  expect(transcode.superseded).toEqual([
    expect.objectContaining({
      resultKey: before.stages.transcode!.resultKey,
      renditions: before.stages.transcode!.renditions!.map((r): unknown => expect.objectContaining({ path: r.path, sha256: r.sha256 })),
    }),
  ]);
  // The proxy blob is the one the record now describes.
  const proxy = transcode.renditions![0];
  const bytes = await blobService.getContainerClient(DERIVED_CONTAINER).getBlobClient(proxy.path).downloadToBuffer();
  expect(createHash("sha256").update(bytes).digest("hex")).toBe(proxy.sha256);
  // Both runs are in the custody log, the re-run naming the request.
  const entries = after.custodyLog.filter((e) => e.stage === "transcode");
  // Each run: its plan, its segments encoded, its result (the join's).
  expect(entries.map((e) => e.key)).toEqual([
    expect.stringContaining(`${evidenceId}:plan:pipeline:`),
    expect.stringContaining(`${evidenceId}:segments-encoded:pipeline:`),
    before.stages.transcode!.resultKey,
    expect.stringContaining(`${evidenceId}:plan:rp-${result.id}:`),
    expect.stringContaining(`${evidenceId}:segments-encoded:rp-${result.id}:`),
    transcode.resultKey,
  ]);
  expect(entries[5].detail).toContain(`reprocess ${result.id} (asked by ${result.requestedBy}: ffmpeg upgrade)`);
  // Nothing else ran again; the recording stays ready, and its ready event is not sent again.
  expect(after.stages.thumbnail).toEqual(before.stages.thumbnail);
  expect(after.stages.hash).toEqual(before.stages.hash);
  expect(after.hash).toEqual(before.hash);
  expect(after.status).toBe("ready");
  expect(after.finalEvent).toEqual(before.finalEvent);

  // Downstream is told, once: the new proxy, the one it replaces, who asked and why.
  await waitFor((r) => r.updateEvents?.every((u) => u.publishedAt !== undefined) === true && r.updateEvents.length === 1);
  await waitForQuietPipeline(stack.serviceBus.namespace);
  expect(await announcements()).toBe(2);
  const updates = await peekEvents("updates");
  expect(updates.map((e) => e.type)).toEqual(["org.custody.evidence.updated.v1"]);
  const update = updates[0] as Extract<EvidenceEvent, { type: "org.custody.evidence.updated.v1" }>;
  expect(update.id).toBe(`${evidenceId}:updated:reprocess-${result.id}:transcode`);
  expect(update.data).toMatchObject({
    evidenceId,
    status: "ready",
    stage: "transcode",
    original: { sha256: before.hash!.sha256 },
    // The proxy first, then the playlist over it and the segment manifest.
    renditions: [expect.objectContaining({ kind: "proxy", path: proxy.path, sha256: proxy.sha256 }), ...["playlist", "segment-manifest"].map((kind): unknown => expect.objectContaining({ kind }))],
    replaced: [expect.objectContaining({ kind: "proxy", path: oldProxy.path, sha256: oldProxy.sha256 }), ...["playlist", "segment-manifest"].map((kind): unknown => expect.objectContaining({ kind }))],
    reprocess: { id: result.id, requestedBy: result.requestedBy, reason: "ffmpeg upgrade" },
    tools: transcode.provenance!.tools,
  });
  // The ready event names the proxy downstream already has; its bytes are still there, unchanged.
  const [ready] = (await peekEvents("ready")) as Array<Extract<EvidenceEvent, { type: "org.custody.evidence.ready.v1" }>>;
  expect(ready.data.renditions.find((r) => r.kind === "proxy")).toMatchObject({ path: oldProxy.path, sha256: oldProxy.sha256 });
  expect(proxy.path).not.toBe(oldProxy.path);
  const oldBytes = await blobService.getContainerClient(DERIVED_CONTAINER).getBlobClient(oldProxy.path).downloadToBuffer();
  expect(createHash("sha256").update(oldBytes).digest("hex")).toBe(oldProxy.sha256);

  // What an operator sees: the proxy shown now, and the one it replaced.
  const status = await runCli(["status", evidenceId, "--data-dir", dataDir]);
  expect(status.stdout).toContain(`${proxy.name} sha256 ${proxy.sha256}`);
  expect(status.stdout).toContain(`replaced: ${oldProxy.name} sha256 ${oldProxy.sha256}`);

  const audit = await runCli(["audit", "--json", "--data-dir", dataDir]);
  const records = JSON.parse(audit.stdout) as AuditRecord[];
  expect(records[0]).toMatchObject({ id: result.id, action: "reprocess", count: 1, evidenceIds: [evidenceId], filter: { stages: ["transcode"], reason: "ffmpeg upgrade" } });
}, 120_000);

test("the hash stage is refused with a pointer to verify; an unknown recording is reported and the others still run", async () => {
  const hash = await runCli(["reprocess", evidenceId, "--stage", "hash", "--data-dir", dataDir]);
  expect(hash.code).toBe(2);
  expect(hash.stderr).toContain("custody verify");

  const unknown = "ev-00000000000000000000000000000000";
  const run = await runCli(["reprocess", unknown, evidenceId, "--stage", "thumbnail", "--wait", "--json", "--data-dir", dataDir]);
  expect(run.code).toBe(2);
  const result = JSON.parse(run.stdout) as ReprocessResult;
  expect(result.items).toEqual([
    { evidenceId: unknown, stage: "thumbnail", sent: false, error: "no index record with this id" },
    expect.objectContaining({ evidenceId, stage: "thumbnail", sent: true, outcome: "succeeded" }),
  ]);
  const after = await waitFor((r) => r.updateEvents?.length === 2 && r.updateEvents.every((u) => u.publishedAt !== undefined));
  expect(after.stages.thumbnail!.superseded?.[0].resultKey).toBe(before.stages.thumbnail!.resultKey);
  await waitForQuietPipeline(stack.serviceBus.namespace);
  // One more event: the thumbnails' update (the ready event is still the only ready one).
  expect(await announcements()).toBe(3);
  expect(await announcements("ready")).toBe(1);
  const updates = await peekEvents("updates");
  expect(updates.map((e) => e.data.evidenceId === evidenceId && e.type === "org.custody.evidence.updated.v1" && e.data.stage)).toEqual(["transcode", "thumbnail"]);
}, 120_000);
