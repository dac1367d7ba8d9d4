/**
 * What `custody export` does with what it reads from a deployment (cli/commands/export.ts
 * exportRecordings), with the deployment's parts as in-memory stand-ins holding real bytes: a
 * recording with issued manifests is written and verifies; one with none is refused saying why;
 * one the index does not hold is named; one whose original in storage is not what its manifest
 * names is refused, and the others are still written. The deployment's published Content
 * Credentials CA goes into each package, and its images are checked against it.
 */
import { mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { exportRecordings, type ExportSources } from "../../cli/commands/export";
import { LocalKeySigner } from "../../shared/adapters/local-key-signer";
import { SUMS_FILE } from "../../shared/disclosure/layout";
import { parseSums } from "../../shared/disclosure/sha256sums";
import { verifyDisclosurePackage } from "../../shared/disclosure/verify-package";
import { parseTrustAnchor } from "../../shared/provenance/trust-anchors";
import type { BlobRef } from "../../shared/ports/blob-store";
import { testContentCredentials, type TestContentCredentials } from "../support/test-signer";
import { InMemoryManifestStore } from "./in-memory-manifest-store";
import { EVIDENCE_A, EVIDENCE_B, makeJpeg, makeRecording, type FixtureRecording } from "./package-fixture";

const EVIDENCE_C = "ev-cccccccccccccccccccccccccccccccc";
const EVIDENCE_UNKNOWN = "ev-dddddddddddddddddddddddddddddddd";

let work: string;
let signer: LocalKeySigner;
let cc: TestContentCredentials;
const recordings = new Map<string, FixtureRecording>();

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "custody-export-"));
  signer = await LocalKeySigner.open({ directory: path.join(work, "keys") });
  const poster = await makeJpeg(work, "poster.jpg");
  cc = await testContentCredentials();
  for (const evidenceId of [EVIDENCE_A, EVIDENCE_B, EVIDENCE_C]) {
    const signed = evidenceId === EVIDENCE_A ? { contentCredentials: cc } : {};
    recordings.set(evidenceId, await makeRecording({ evidenceId, signer, poster, reissue: evidenceId === EVIDENCE_A, originalName: `unit-1/${evidenceId}.mp4`, ...signed }));
  }
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

/** The deployment: the index holds A, B and C; manifests were issued for A and C; C's original in storage was replaced by B's bytes; its Content Credentials CA published (unless `withoutCa`). */
async function deployment(withoutCa = false): Promise<ExportSources> {
  const manifests = new InMemoryManifestStore();
  if (!withoutCa) await manifests.publishTrustAnchor(cc.ca.certificatePem);
  for (const id of [EVIDENCE_A, EVIDENCE_C]) for (const issue of recordings.get(id)!.manifests) await manifests.put(id, issue.sequence, issue.files);
  const blobs = new Map<string, Buffer>();
  for (const recording of recordings.values()) {
    blobs.set(recording.record.original!.name, recording.original);
    for (const [at, bytes] of recording.renditions) blobs.set(at, bytes);
  }
  blobs.set(recordings.get(EVIDENCE_C)!.record.original!.name, recordings.get(EVIDENCE_B)!.original);
  return {
    index: { read: (id) => Promise.resolve(recordings.has(id) ? { record: recordings.get(id)!.record, etag: '"1"' } : undefined) },
    blobs: {
      openRead: (ref: BlobRef) => {
        const bytes = blobs.get(ref.name);
        return bytes === undefined ? Promise.reject(new Error(`no blob ${ref.name}`)) : Promise.resolve(Readable.from([bytes]));
      },
    },
    ledger: { lines: (id) => Promise.resolve(recordings.get(id)?.ledgerLines ?? []) },
    manifests,
    publishedKeys: () => signer.publishedKeys(),
    publishedTrustAnchors: () => manifests.publishedTrustAnchors(),
  };
}

test("each recording is written, refused or named as not found; what is written verifies", async () => {
  const out = path.join(work, "out");
  const results = await exportRecordings(await deployment(), [EVIDENCE_A, EVIDENCE_B, EVIDENCE_C, EVIDENCE_UNKNOWN], out);
  expect(results.map((r) => [r.evidenceId, r.status])).toEqual([
    [EVIDENCE_A, "written"],
    [EVIDENCE_B, "refused"],
    [EVIDENCE_C, "refused"],
    [EVIDENCE_UNKNOWN, "not-found"],
  ]);
  expect(results[0]).toMatchObject({ issues: 2, folder: path.join(out, EVIDENCE_A) });
  expect(results[1]).toMatchObject({ reason: expect.stringMatching(/no signed evidence manifest has been issued for it \(status ready\)/) });
  expect(results[2]).toMatchObject({ reason: expect.stringMatching(/the original read from storage is not what the manifest names/) });

  const verified = await verifyDisclosurePackage(out);
  expect(verified.recordings.map((r) => [r.evidenceId, r.verified])).toEqual([[EVIDENCE_A, true]]);
});

test("the deployment's published CA is in the package, listed in SHA256SUMS, and its images are checked against it; a deployment with none published writes none", async () => {
  const out = path.join(work, "with-ca");
  await exportRecordings(await deployment(), [EVIDENCE_A], out);
  const folder = path.join(out, EVIDENCE_A);
  const anchor = parseTrustAnchor(cc.ca.certificatePem, "the test CA");
  const caFile = `keys/content-credentials-ca-${anchor.id}.pem`;
  expect((await readdir(path.join(folder, "keys"))).filter((f) => f.startsWith("content-credentials-ca"))).toEqual([path.basename(caFile)]);
  expect(parseTrustAnchor(await readFile(path.join(folder, caFile), "utf8"), caFile).sha256).toBe(anchor.sha256);
  expect(parseSums(await readFile(path.join(folder, SUMS_FILE), "utf8")).entries.map((e) => e.path)).toContain(caFile);
  const verified = await verifyDisclosurePackage(out);
  expect(verified.verified).toBe(true);
  expect(verified.recordings[0].checks.find((c) => c.code === "ContentCredentialsValid")?.message).toContain(`chains to CN=Custody test CA, O=Custody (${caFile})`);

  const without = path.join(work, "without-ca");
  await exportRecordings(await deployment(true), [EVIDENCE_A], without);
  expect((await readdir(path.join(without, EVIDENCE_A, "keys"))).some((f) => f.startsWith("content-credentials-ca"))).toBe(false);
  const unanchored = await verifyDisclosurePackage(without);
  expect(unanchored.verified).toBe(true);
  expect(unanchored.recordings[0].checks.find((c) => c.code === "ContentCredentialsValid")?.message).toMatch(/certificate trust not checked/);
});

test("a symbolic link in a package is a finding, never followed", async () => {
  const out = path.join(work, "linked");
  await exportRecordings(await deployment(), [EVIDENCE_A], out);
  const proxy = path.join(out, EVIDENCE_A, "renditions/transcode/proxy.mp4");
  await rm(proxy);
  await symlink("/dev/zero", proxy);
  const result = await verifyDisclosurePackage(out);
  const fails = result.recordings[0].checks.filter((c) => c.status === "fail").map((c) => c.code);
  expect(fails).toEqual(expect.arrayContaining(["SymbolicLink", "MissingFile"]));
  expect(result.verified).toBe(false);
});
