/**
 * Disposal on the embedded stack: recordings past their retention (non-evidential, captured long
 * ago) are listed by `custody disposal report`; a disposal run (the timer's stage) sends a
 * dispose for each that no case holds; the index deletes the original and every rendition and
 * keeps the tombstone; a held one stays — original, renditions and record — until its hold is
 * released, then goes at the next run; a recent one is never touched. Each disposal is announced
 * once on the `disposals` subscription (org.custody.evidence.disposed.v1), naming every rendition
 * the ready event named so downstream can delete its copies.
 */
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { openPublisher } from "../../shared/adapters/factories";
import { DERIVED_CONTAINER, ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import type { EvidenceRecord } from "../../shared/evidence/record";
import type { AuditRecord } from "../../shared/ports/audit-log";
import { createLogger, silentLogger } from "../../shared/logging";
import { sendDueDisposals, type DisposalCandidate } from "../../shared/stages/disposal-stage";
import { childTraceparent } from "../../shared/tracing";
import { ENTITIES } from "../../shared/topology";
import { evidenceIdForBlob, waitForRecord } from "../support/polling";
import { waitForQuietPipeline } from "../support/quiet";
import { drainEvents } from "../events/event-contract";
import { runCli } from "./run-cli";

const FIXTURE = path.resolve(__dirname, "..", "..", "fixtures", "media", "exo_fragmented_fmp4.mp4");
const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-disposal-")), "data");
let stack: RunningStack;
let blobService: BlobServiceClient;
const ids: Record<"old" | "held" | "recent", string> = { old: "", held: "", recent: "" };

async function ready(recordedAt: string, device: string): Promise<string> {
  const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), FIXTURE, { officerId: "PC9", deviceId: device, recordedAt });
  const evidenceId = await evidenceIdForBlob(stack.services!.index, uploaded.blobName);
  await waitForRecord(stack.services!.index, evidenceId, (r) => r.status === "ready" && r.finalEvent?.publishedAt !== undefined, 60_000);
  return evidenceId;
}

async function record(evidenceId: string): Promise<EvidenceRecord> {
  return (await stack.services!.index.read(evidenceId))!.record;
}

async function derivedNames(evidenceId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of blobService.getContainerClient(DERIVED_CONTAINER).listBlobsFlat({ prefix: `${evidenceId}/` })) names.push(item.name);
  return names;
}

async function disposalRun(): Promise<void> {
  const opened = openPublisher({ kind: "connectionString", connectionString: stack.environment.ServiceBusConnection });
  const { publisher } = opened;
  try {
    await sendDueDisposals(
      { index: stack.services!.index, publisher, audit: stack.services!.audit, queue: ENTITIES.retentionCommands.queueName },
      { actor: "custody/disposal@test", attempt: 1, maxAttempts: 1, traceparent: childTraceparent(), log: silentLogger },
      { maxPerRun: 100 },
    );
  } finally {
    await opened.close();
  }
  await waitForQuietPipeline(stack.serviceBus.namespace);
}

/** The evidence-disposed events the `disposals` subscription holds now (each checked against the published contract). */
async function disposedEvents(): Promise<Array<{ subject: string; kinds: string[]; paths: string[]; data: unknown }>> {
  const client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  try {
    return (await drainEvents(client, "disposals")).map(({ event }) => {
      if (event.type !== "org.custody.evidence.disposed.v1") throw new Error(`${event.type} on the disposals subscription`);
      return { subject: event.subject, kinds: event.data.renditions.map((r) => r.kind).sort(), paths: event.data.renditions.map((r) => r.path).sort(), data: event.data };
    });
  } finally {
    await client.close();
  }
}

/** The disposal runs' audit records, oldest first. */
async function disposalAudits(): Promise<AuditRecord[]> {
  const shown = await runCli(["audit", "--json", "--data-dir", dataDir]);
  expect(shown.code).toBe(0);
  return (JSON.parse(shown.stdout) as AuditRecord[]).filter((r) => r.action === "disposal").reverse();
}

async function report(): Promise<DisposalCandidate[]> {
  const shown = await runCli(["disposal", "report", "--json", "--data-dir", dataDir]);
  expect(shown.code).toBe(0);
  return (JSON.parse(shown.stdout) as { candidates: DisposalCandidate[] }).candidates;
}

beforeAll(async () => {
  stack = await startStack({ dataDir, log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger, blobPollIntervalInMs: 100 });
  blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
  ids.old = await ready("2026-09-01T08:00:00Z", "BWV-91");
  ids.held = await ready("2026-09-02T08:00:00Z", "BWV-92");
  ids.recent = await ready(new Date().toISOString(), "BWV-93");
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

test("past retention and not held → disposed of: original and renditions deleted, tombstone kept; held → kept until released; recent → untouched", async () => {
  const hold = await runCli(["hold", ids.held, "--case", "CASE-5", "--reason", "complaint under investigation", "--wait", "--data-dir", dataDir]);
  expect(hold.code).toBe(0);
  expect((await report()).map((c) => [c.evidenceId, c.status, c.holds])).toEqual([
    [ids.old, "due", []],
    [ids.held, "held", ["CASE-5"]],
  ]);
  const old = await record(ids.old);
  expect(await derivedNames(ids.old)).not.toEqual([]);
  // Ready on the embedded stack: a signed evidence manifest was issued (it stays, like the ledger, as proof after disposal).
  expect(old.manifests?.map((m) => m.sequence)).toEqual([1]);

  await disposalRun();
  const tombstone = await record(ids.old);
  expect(tombstone.disposal).toMatchObject({ state: "disposed", category: "non-evidential", retainUntil: "2026-10-02T08:00:00.000Z", sha256: old.hash!.sha256, deleted: { original: "deleted" } });
  expect(tombstone.disposal!.deleted!.derivedVersions).toBeGreaterThan(0);
  expect(await blobService.getContainerClient(ORIGINALS_CONTAINER).getBlobClient(old.original!.name).exists()).toBe(false);
  expect(await derivedNames(ids.old)).toEqual([]);
  expect(await stack.services!.manifests.list(ids.old)).toEqual([1]);
  expect(tombstone.custodyLog.at(-1)).toMatchObject({ action: "retention-dispose", actor: "custody/disposal@test" });
  const status = await runCli(["status", ids.old, "--data-dir", dataDir]);
  expect(status.stdout).toContain(`DISPOSED   at ${tombstone.disposal!.deletedAt}`);
  // Announced once, naming every rendition the ready event named (proxy, poster, thumbnails, sprites…).
  const announced = old.stages.transcode!.renditions!.concat(old.stages.thumbnail!.renditions!);
  const disposed = await disposedEvents();
  expect(disposed.map((e) => e.subject)).toEqual([ids.old]);
  expect(disposed[0].paths).toEqual(announced.map((r) => r.path).sort());
  expect(new Set(disposed[0].kinds)).toEqual(new Set(["proxy", "playlist", "segment-manifest", "poster", "thumbnail", "sprite", "sprite-vtt"]));
  expect(disposed[0].data).toMatchObject({
    status: "disposed",
    original: { name: old.original!.name, sha256: old.hash!.sha256 },
    disposal: { category: "non-evidential", retainUntil: "2026-10-02T08:00:00.000Z", deletedAt: tombstone.disposal!.deletedAt, derivedBlobsDeleted: tombstone.disposal!.deleted!.derivedVersions },
  });

  const held = await record(ids.held);
  expect(held.disposal).toBeUndefined();
  expect(await blobService.getContainerClient(ORIGINALS_CONTAINER).getBlobClient(held.original!.name).exists()).toBe(true);
  expect(await derivedNames(ids.held)).not.toEqual([]);
  expect((await record(ids.recent)).disposal).toBeUndefined();

  const release = await runCli(["release", ids.held, "--case", "CASE-5", "--reason", "complaint closed", "--wait", "--data-dir", dataDir]);
  expect(release.code).toBe(0);
  expect((await report()).map((c) => [c.evidenceId, c.status])).toEqual([[ids.held, "due"]]);
  await disposalRun();
  expect((await record(ids.held)).disposal).toMatchObject({ state: "disposed", deleted: { original: "deleted" } });
  expect(await derivedNames(ids.held)).toEqual([]);
  expect((await disposedEvents()).map((e) => e.subject)).toEqual([ids.held]);
  // Each run that asked for a disposal is in the write-once audit log: who (the timer), what, which recordings.
  expect((await disposalAudits()).map((r) => [r.who, r.entity, r.count, r.evidenceIds])).toEqual([
    ["custody/disposal@test", "retention-commands", 1, [ids.old]],
    ["custody/disposal@test", "retention-commands", 1, [ids.held]],
  ]);
  expect(await report()).toEqual([]);
  expect((await record(ids.recent)).disposal).toBeUndefined();
  expect(await derivedNames(ids.recent)).not.toEqual([]);
}, 120_000);
