/**
 * `custody verify` on the embedded stack (real Azurite, Cosmos stand-in, Service Bus emulator,
 * the app's functions): three real recordings processed to ready, then one original tampered
 * in Azurite with a block-level rewrite (one byte changed at a known offset), one deleted and
 * one left alone. verify names the modified segment and its byte range (exit 1), says intact
 * (exit 0) and missing (exit 1), `--all` covers them all; `--record` and the fixity-sample
 * timer (run by the dev host every CUSTODY_FIXITY_INTERVAL_MS) get the results recorded by the
 * index: custody log entries and one integrity finding each.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { createLogger, silentLogger } from "../../shared/logging";
import { rebuildRecord } from "../../shared/ledger/rebuild";
import { LEDGER_CONTAINER } from "../../shared/ports/custody-ledger";
import { waitForRecord as waitForIndexRecord } from "../support/polling";
import { runCli } from "./run-cli";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "media");
const MiB = 1024 * 1024;
const SEGMENT = 4 * MiB; // the hash stage's default segment size
/** The byte the test changes: inside segment 2 (bytes 8388608–12582911). */
const TAMPER_OFFSET = 9_000_000;

const workDir = mkdtempSync(path.join(os.tmpdir(), "custody-verify-"));
const dataDir = path.join(workDir, "data");
let stack: RunningStack;
let blobService: BlobServiceClient;
const ids = { tampered: "", untouched: "", deleted: "" };
let tamperedBytes: Buffer;

/**
 * A real clip made 13 MB long (4 segments) with a trailing MP4 `free` box — a box players and
 * ffmpeg skip — so the pipeline still makes it ready and a change deep in the file lands in a
 * known segment.
 */
function paddedClip(): Buffer {
  const clip = readFileSync(path.join(FIXTURES, "exo_fragmented_fmp4.mp4"));
  const boxSize = 13_000_000 - clip.length;
  const header = Buffer.alloc(8);
  header.writeUInt32BE(boxSize, 0);
  header.write("free", 4, "ascii");
  return Buffer.concat([clip, header, Buffer.alloc(boxSize - 8, 0x5a)]);
}

function waitForRecord(evidenceId: string, done: (record: EvidenceRecord) => boolean, timeoutInMs = 60_000): Promise<EvidenceRecord> {
  return waitForIndexRecord(stack.services!.index, evidenceId, done, timeoutInMs);
}

beforeAll(async () => {
  stack = await startStack({
    dataDir,
    log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger,
    blobPollIntervalInMs: 100,
    // The fixity-sample timer on the dev host: every second, every recording (no rest between checks).
    environment: { CUSTODY_FIXITY_INTERVAL_MS: "1000", CUSTODY_FIXITY_RECHECK_HOURS: "0" },
  });
  blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const files = {
    tampered: path.join(workDir, "long.mp4"),
    untouched: path.join(workDir, "clip.mp4"),
    deleted: path.join(workDir, "audio.m4a"),
  };
  writeFileSync(files.tampered, paddedClip());
  writeFileSync(files.untouched, readFileSync(path.join(FIXTURES, "exo_fragmented_fmp4.mp4")));
  writeFileSync(files.deleted, readFileSync(path.join(FIXTURES, "ft_aac_audio_only.m4a")));
  for (const key of Object.keys(files) as Array<keyof typeof files>) {
    const uploaded = await uploadRecording(container, files[key], { officerId: "PC9", deviceId: "BWV-9", recordedAt: "2026-11-26T08:00:00Z" });
    ids[key] = deriveEvidenceId({ account: blobService.accountName, container: ORIGINALS_CONTAINER, name: uploaded.blobName, versionId: uploaded.versionId, etag: uploaded.etag });
  }
  for (const id of Object.values(ids)) {
    const record = await waitForRecord(id, (r) => r.status !== "received" && r.finalEvent?.publishedAt !== undefined);
    expect(record.status).toBe("ready");
  }
  const long = await waitForRecord(ids.tampered, () => true);
  expect(long.hash?.segmentSha256).toHaveLength(4);

  // From here on the originals change under the index; a rewrite must not be announced as a
  // new recording (Event Grid would: that is a new version), so the blob-event source stops.
  await stack.blobEvents!.stop();

  // Tamper: rewrite the blob block by block with one byte changed, metadata and type kept.
  const blob = container.getBlockBlobClient(long.original!.name);
  const properties = await blob.getProperties();
  tamperedBytes = Buffer.from(readFileSync(files.tampered));
  tamperedBytes[TAMPER_OFFSET] ^= 0x01;
  const blockIds: string[] = [];
  for (let offset = 0, n = 0; offset < tamperedBytes.length; offset += SEGMENT, n++) {
    const blockId = Buffer.from(`block-${String(n).padStart(6, "0")}`).toString("base64");
    const chunk = tamperedBytes.subarray(offset, offset + SEGMENT);
    await blob.stageBlock(blockId, chunk, chunk.length);
    blockIds.push(blockId);
  }
  await blob.commitBlockList(blockIds, { metadata: properties.metadata, blobHTTPHeaders: { blobContentType: properties.contentType } });

  const gone = await waitForRecord(ids.deleted, () => true);
  await container.getBlobClient(gone.original!.name).delete();
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

interface Result {
  evidenceId: string;
  status: string;
  sha256Expected?: string;
  sha256Actual?: string;
  differingSegments: Array<{ index: number; offset: number; length: number }>;
  etagChanged?: boolean;
  reason?: string;
  recorded?: boolean;
}

async function verify(...args: string[]): Promise<{ code: number | null; results: Result[]; stdout: string; stderr: string }> {
  const run = await runCli(["verify", ...args, "--data-dir", dataDir]);
  return { ...run, results: args.includes("--json") && run.stdout.trim().startsWith("[") ? (JSON.parse(run.stdout) as Result[]) : [] };
}

test("a tampered original is MODIFIED: exit 1, the segment and its byte range, the ETag change", async () => {
  const run = await verify(ids.tampered, "--json");
  expect(run.stderr).toBe("");
  expect(run.code).toBe(1);
  expect(run.results).toHaveLength(1);
  const [result] = run.results;
  expect(result.status).toBe("modified");
  expect(result.sha256Actual).toBe(createHash("sha256").update(tamperedBytes).digest("hex"));
  expect(result.sha256Expected).not.toBe(result.sha256Actual);
  expect(result.differingSegments).toEqual([{ index: 2, offset: 2 * SEGMENT, length: SEGMENT }]);
  expect(TAMPER_OFFSET).toBeGreaterThanOrEqual(2 * SEGMENT);
  expect(TAMPER_OFFSET).toBeLessThan(3 * SEGMENT);
  expect(result.etagChanged).toBe(true);

  const human = await verify(ids.tampered);
  expect(human.code).toBe(1);
  expect(human.stdout).toMatch(new RegExp(`^MODIFIED +${ids.tampered}  segment 2 \\(bytes 8388608–12582911\\); sha256 [0-9a-f]{64} → [0-9a-f]{64}; ETag changed from`, "m"));
}, 60_000);

test("an untouched original is INTACT (exit 0); a deleted one is MISSING (exit 1)", async () => {
  const intact = await verify(ids.untouched, "--json");
  expect(intact.code).toBe(0);
  expect(intact.results).toEqual([expect.objectContaining({ evidenceId: ids.untouched, status: "intact", differingSegments: [], etagChanged: false })]);
  expect(intact.results[0].sha256Actual).toBe(intact.results[0].sha256Expected);

  const missing = await verify(ids.deleted, "--json");
  expect(missing.code).toBe(1);
  expect(missing.results).toEqual([expect.objectContaining({ evidenceId: ids.deleted, status: "missing", reason: expect.stringMatching(/does not exist/) })]);
}, 60_000);

test("--all covers every recording; unknown ids and usage errors exit 2", async () => {
  const all = await verify("--all", "--json");
  expect(all.code).toBe(1);
  const byId = Object.fromEntries(all.results.map((r) => [r.evidenceId, r.status]));
  expect(byId).toEqual({ [ids.tampered]: "modified", [ids.untouched]: "intact", [ids.deleted]: "missing" });

  const since = await verify("--all", "--since", "2999-01-01T00:00:00Z", "--json");
  expect(since.code).toBe(0);
  expect(since.results).toEqual([]);

  const unknown = await verify(`ev-${"0".repeat(32)}`, "--json");
  expect(unknown.code).toBe(2);
  expect(unknown.results).toEqual([expect.objectContaining({ status: "not-found" })]);

  expect((await verify()).code).toBe(2);
  expect((await verify("not-an-id")).code).toBe(2);
  expect((await verify(ids.untouched, "--all")).code).toBe(2);
}, 60_000);

test("--record: the index records each check (custody log entry) and one finding per change", async () => {
  const first = await verify(ids.tampered, ids.untouched, "--record", "--json");
  expect(first.code).toBe(1);
  expect(first.results.every((r) => r.recorded === true)).toBe(true);
  const tampered = await waitForRecord(ids.tampered, (r) => r.custodyLog.some((e) => e.action === "fixity-modified" && e.actor.startsWith("custody-cli/")));
  expect(tampered.status).toBe("ready"); // a later observation, not a pipeline outcome
  expect(tampered.integrityFindings.filter((f) => f.code === "OriginalModified")).toEqual([
    expect.objectContaining({ actual: createHash("sha256").update(tamperedBytes).digest("hex"), differingSegments: [{ index: 2, offset: 2 * SEGMENT, length: SEGMENT }] }),
  ]);
  const untouched = await waitForRecord(ids.untouched, (r) => r.custodyLog.some((e) => e.action === "fixity-intact" && e.actor.startsWith("custody-cli/")));
  expect(untouched.integrityFindings).toEqual([]);
}, 60_000);

test("the fixity-sample timer checks recordings on its own and the index records what it found", async () => {
  const tampered = await waitForRecord(ids.tampered, (r) => r.custodyLog.some((e) => e.action === "fixity-modified" && e.actor.startsWith("custody/fixity-sample@")));
  const deleted = await waitForRecord(ids.deleted, (r) => r.custodyLog.some((e) => e.action === "fixity-missing" && e.actor.startsWith("custody/fixity-sample@")));
  const untouched = await waitForRecord(ids.untouched, (r) => r.custodyLog.some((e) => e.action === "fixity-intact" && e.actor.startsWith("custody/fixity-sample@")));
  // However many times the timer saw the same change, it is one finding.
  expect(tampered.integrityFindings.map((f) => f.code)).toEqual(["OriginalModified"]);
  expect(deleted.integrityFindings.map((f) => f.code)).toEqual(["OriginalMissing"]);
  expect(untouched.integrityFindings).toEqual([]);
  expect(untouched.fixity?.lastStatus).toBe("intact");
  expect(deleted.fixity?.lastStatus).toBe("missing");
}, 60_000);

test("an index record whose fingerprint was altered: verified against the custody ledger's, the disagreement reported, exit 1, nothing recorded", async () => {
  const index = stack.services!.index;
  const stored = (await index.read(ids.untouched))!;
  const ledgerSha = stored.record.hash!.sha256;
  expect(await index.replace({ ...stored.record, hash: { ...stored.record.hash!, sha256: "b".repeat(64) } }, stored.etag)).not.toBe("conflict");
  const run = await verify(ids.untouched, "--record", "--json");
  expect(run.code).toBe(1);
  expect(run.results).toEqual([expect.objectContaining({ status: "intact", sha256Expected: ledgerSha, sha256Actual: ledgerSha, fingerprintFrom: "ledger", indexFingerprint: "b".repeat(64) })]);
  expect(run.results[0]).not.toHaveProperty("recorded");
  const text = await verify(ids.untouched);
  expect(text.stdout).toContain(`the index's fingerprint ${"b".repeat(64)}`);
}, 60_000);

test("the custody ledger's hash chain: intact, the index's head on it (exit 0); one ledger line edited → CHAIN BROKEN naming the line after it (exit 1)", async () => {
  const index = stack.services!.index;
  // Put back what the test above altered: the index record as the ledger has it.
  const stored = (await index.read(ids.untouched))!;
  const fromLedger = rebuildRecord(ids.untouched, await stack.services!.ledger.read(ids.untouched), { requiredStages: stored.record.requiredStages })!;
  expect(await index.replace({ ...stored.record, hash: fromLedger.hash }, stored.etag)).not.toBe("conflict");
  const clean = await runCli(["verify", ids.untouched, "--json", "--data-dir", dataDir]);
  expect(clean.code).toBe(0);
  const [result] = JSON.parse(clean.stdout) as Array<{ ledgerChain: { status: string; head: { entries: number }; indexHead: { entries: number }; problems: unknown[] } }>;
  expect(result.ledgerChain).toMatchObject({ status: "intact", problems: [] });
  expect(result.ledgerChain.indexHead.entries).toBeLessThanOrEqual(result.ledgerChain.head.entries);

  // Someone with write access to the ledger edits one entry (Azurite has no immutability; Azure's would refuse the rewrite).
  const blob = blobService.getContainerClient(LEDGER_CONTAINER).getAppendBlobClient(`${ids.untouched}.jsonl`);
  const lines = (await blob.downloadToBuffer()).toString("utf8").trimEnd().split("\n");
  lines[1] = lines[1].replace(/"recordedAt":"[^"]+"/, '"recordedAt":"2020-01-01T00:00:00.000Z"');
  await blob.delete();
  await blob.create();
  const text = Buffer.from(lines.map((line) => `${line}\n`).join(""), "utf8");
  await blob.appendBlock(text, text.length);
  const broken = await runCli(["verify", ids.untouched, "--data-dir", dataDir]);
  expect(broken.code).toBe(1);
  expect(broken.stdout).toMatch(/^INTACT +ev-/m);
  expect(broken.stdout).toContain("CUSTODY LEDGER CHAIN BROKEN");
  expect(broken.stdout).toContain("line 3 says the line before it has SHA-256");
  expect(broken.stderr).toContain("1 custody ledger chain(s) BROKEN");
}, 60_000);
