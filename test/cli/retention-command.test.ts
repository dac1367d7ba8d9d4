/**
 * Retention commands on the embedded stack (the index records them), by
 * both routes: an operator through the CLI (`custody retention set`, `custody hold`, `custody
 * release`, `custody retention show` — audited, dry run sends nothing, a command the index would
 * refuse is said and not sent) and a case-management system sending to the `retention-commands`
 * queue (the same command twice is recorded once; a refused one is dead-lettered with the reason;
 * a release is accepted only from `retention-releases`, the records officers' queue).
 * Storage enforces what the record says: the original's legal hold and retention policy (the
 * local stack's emulated store, which refuses a delete as Azure does).
 */
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import type { RetentionResult } from "../../cli/commands/retention";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { openRetentionStore } from "../../shared/adapters/factories";
import type { RetentionStore, VersionProtection, VersionRef } from "../../shared/ports/retention-store";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import type { RetentionCommandMessage } from "../../shared/contracts/messages";
import type { EvidenceRecord } from "../../shared/evidence/record";
import type { RetentionState } from "../../shared/evidence/retention";
import { createLogger, silentLogger } from "../../shared/logging";
import type { AuditRecord } from "../../shared/ports/audit-log";
import { ENTITIES } from "../../shared/topology";
import { evidenceIdForBlob, waitForRecord } from "../support/polling";
import { waitForQuietPipeline } from "../support/quiet";
import { runCli } from "./run-cli";

const FIXTURE = path.resolve(__dirname, "..", "..", "fixtures", "media", "exo_fragmented_fmp4.mp4");
const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-retention-")), "data");
let stack: RunningStack;
let evidenceId: string;

function retentionStore(): RetentionStore {
  return openRetentionStore({ kind: "connectionString", connectionString: stack.environment.EvidenceStorage });
}

function originalRef(original: NonNullable<EvidenceRecord["original"]>): VersionRef {
  return { container: original.container, name: original.name };
}

async function storageProtection(): Promise<{ evidential: VersionProtection }> {
  return { evidential: await retentionStore().protection(originalRef((await record()).original!)) };
}

function record(): Promise<EvidenceRecord> {
  return stack.services!.index.read(evidenceId).then((stored) => stored!.record);
}

beforeAll(async () => {
  stack = await startStack({ dataDir, log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger, blobPollIntervalInMs: 100 });
  const blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
  const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), FIXTURE, { officerId: "PC4", deviceId: "BWV-4", recordedAt: "2026-11-26T08:00:00Z" });
  evidenceId = await evidenceIdForBlob(stack.services!.index, uploaded.blobName);
  await waitForRecord(stack.services!.index, evidenceId, (r) => r.status === "ready" && r.finalEvent?.publishedAt !== undefined, 60_000);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

test("a new recording is non-evidential, kept 31 days from capture; `retention show` says so", async () => {
  const shown = await runCli(["retention", "show", evidenceId, "--json", "--data-dir", dataDir]);
  expect(shown.code).toBe(0);
  expect(JSON.parse(shown.stdout)).toMatchObject({ category: "non-evidential", retainUntil: "2026-12-27T08:00:00.000Z", disposal: "automatic", holds: [] });
}, 60_000);

test("operator: a dry run shows the change and sends nothing; set evidential and hold for a case (audited); release; a release without a hold is refused before sending", async () => {
  const before = await record();
  const dry = await runCli(["retention", "set", evidenceId, "--category", "evidential", "--case", "CASE-1", "--reason", "charged", "--dry-run", "--json", "--data-dir", dataDir]);
  expect(dry.code).toBe(0);
  const dryResult = JSON.parse(dry.stdout) as RetentionResult;
  expect(dryResult).toMatchObject({ dryRun: true, count: 1, items: [{ sent: false, before: { category: "non-evidential" }, after: { category: "evidential", disposal: "review" } }] });
  expect(dryResult.audit).toBeUndefined();
  await waitForQuietPipeline(stack.serviceBus.namespace);
  expect((await record()).custodyLog).toEqual(before.custodyLog);

  const set = await runCli(["retention", "set", evidenceId, "--category", "evidential", "--case", "CASE-1", "--reason", "charged", "--wait", "--json", "--data-dir", dataDir]);
  expect(set.stderr).toBe("");
  expect(set.code).toBe(0);
  const setResult = JSON.parse(set.stdout) as RetentionResult;
  expect(setResult.items[0]).toMatchObject({ sent: true, outcome: "recorded", after: { category: "evidential", disposal: "review", holds: [] } });
  const held = await runCli(["hold", evidenceId, "--case", "CASE-1", "--reason", "pending trial", "--wait", "--data-dir", dataDir]);
  expect(held.code).toBe(0);
  expect(held.stdout).toContain("held for CASE-1 (recorded)");
  // Storage enforces it too: the original is under a legal hold and kept at least until its retention ends — deleting it is refused.
  const { evidential } = await storageProtection();
  expect(evidential.legalHold).toBe(true);
  expect(evidential.immutableUntil!.getTime()).toBeGreaterThanOrEqual(Date.parse((await record()).retention!.retainUntil));
  await expect(retentionStore().deleteVersion(originalRef((await record()).original!))).rejects.toMatchObject({ code: "RetentionProtected" });

  const audit = await runCli(["audit", "--json", "--data-dir", dataDir]);
  const records = JSON.parse(audit.stdout) as AuditRecord[];
  expect(records.find((r) => r.id === setResult.id)).toMatchObject({
    action: "retention-categorise",
    count: 1,
    evidenceIds: [evidenceId],
    filter: { category: "evidential", caseReference: "CASE-1", reason: "charged" },
  });
  expect(records.some((r) => r.action === "retention-hold")).toBe(true);

  const refused = await runCli(["release", evidenceId, "--case", "CASE-9", "--reason", "mistake", "--data-dir", dataDir]);
  expect(refused.code).toBe(2);
  expect(refused.stdout).toContain("NOT SENT: retention command");
  expect(refused.stdout).toContain('no hold for case "CASE-9" to release');

  const released = await runCli(["release", evidenceId, "--case", "CASE-1", "--reason", "trial over", "--wait", "--json", "--data-dir", dataDir]);
  expect(released.code).toBe(0);
  const state = (await record()).retention!;
  expect(state).toMatchObject({ category: "evidential", holds: [] });
  expect(state.history.map((h) => [h.action, h.source])).toEqual([
    ["categorise", "operator"],
    ["hold", "operator"],
    ["release", "operator"],
  ]);
  const shown = await runCli(["retention", "show", evidenceId, "--data-dir", dataDir]);
  expect(shown.stdout).toContain("release case CASE-1 by");
  expect((await storageProtection()).evidential.legalHold).toBe(false);
}, 120_000);

test("case management: a command on the queue is recorded once however often sent; a refused one is dead-lettered with the reason and changes nothing", async () => {
  const client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  try {
    const sender = client.createSender(ENTITIES.retentionCommands.queueName);
    const command: RetentionCommandMessage = {
      schemaVersion: 1,
      kind: "retention-command",
      commandId: "cms-42",
      evidenceId,
      action: "hold",
      caseReference: "CASE-42",
      reason: "disclosure requested",
      requestedBy: "case-management",
      requestedAt: new Date().toISOString(),
      source: "system",
    };
    // Sent twice with different message ids (duplicate detection would drop the second otherwise): the index records it once.
    await sender.sendMessages({ body: command, messageId: "a", contentType: "application/json" });
    await sender.sendMessages({ body: command, messageId: "b", contentType: "application/json" });
    await sender.sendMessages({ body: { ...command, commandId: "cms-43", action: "categorise", category: "forever", caseReference: undefined }, messageId: "c", contentType: "application/json" });
    // A release is the records officers' right: on this queue (which case management may send to) it is refused, the hold stays.
    await sender.sendMessages({ body: { ...command, commandId: "cms-44", action: "release", reason: "case closed" }, messageId: "d", contentType: "application/json" });
    await sender.close();
    // And the records officers' queue carries releases only.
    const releases = client.createSender(ENTITIES.retentionReleases.queueName);
    await releases.sendMessages({ body: { ...command, commandId: "cms-45", caseReference: "CASE-45" }, messageId: "e", contentType: "application/json" });
    await releases.close();
    await waitForQuietPipeline(stack.serviceBus.namespace);
    const state: RetentionState = (await record()).retention!;
    expect(state.holds.map((h) => [h.caseReference, h.placedBy])).toEqual([["CASE-42", "case-management"]]);
    expect(state.history.filter((h) => h.commandId === "cms-42")).toHaveLength(1);
    expect(state.history.some((h) => ["cms-43", "cms-44", "cms-45"].includes(h.commandId))).toBe(false);
    const receiver = client.createReceiver(ENTITIES.retentionCommands.queueName, { subQueueType: "deadLetter" });
    const dead = await receiver.peekMessages(10);
    await receiver.close();
    expect(dead).toHaveLength(2);
    expect(dead.map((m) => m.deadLetterErrorDescription)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('no category "forever" in the retention schedule'),
        expect.stringContaining("wrong route: a release arrived on retention-commands, but releases are accepted only on retention-releases"),
      ]),
    );
    const releasesReceiver = client.createReceiver(ENTITIES.retentionReleases.queueName, { subQueueType: "deadLetter" });
    const deadReleases = await releasesReceiver.peekMessages(10);
    await releasesReceiver.close();
    expect(deadReleases.map((m) => m.deadLetterErrorDescription)).toEqual([expect.stringContaining("wrong route: a hold command arrived on retention-releases, which carries only releases")]);
    expect((await storageProtection()).evidential.legalHold).toBe(true);
    const status = await runCli(["status", evidenceId, "--data-dir", dataDir]);
    expect(status.stdout).toMatch(/retention {2}evidential, kept until \S+ then reviewed; HELD for CASE-42/);
  } finally {
    await client.close();
  }
}, 60_000);
