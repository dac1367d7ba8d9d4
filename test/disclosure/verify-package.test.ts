/**
 * The disclosure package, written from real bytes and checked offline: a clean package
 * verifies; one byte changed in the original (its segment and byte range named) or in a
 * rendition, a custody log entry removed, reordered or edited (even re-chained after the edit),
 * a rendition swapped in from another recording's package, a manifest re-signed with another
 * key, a key id nobody published, a key expired before the manifest's issue, a missing earlier
 * issue — each is a finding with a clear message.
 */
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { LocalKeySigner, rotateLocalSigningKey } from "../../shared/adapters/local-key-signer";
import { CUSTODY_LOG, JWKS_FILE, keyPemPath, MANIFEST_JSON, MANIFEST_JWS, MANIFEST_SIG, SUMS_FILE } from "../../shared/disclosure/layout";
import { describePackageVerification } from "../../shared/disclosure/report";
import { formatSums, parseSums } from "../../shared/disclosure/sha256sums";
import { verifyDisclosurePackage, type PackageCheck, type PackageVerification } from "../../shared/disclosure/verify-package";
import { parseManifestJson, writeDisclosurePackage } from "../../shared/disclosure/write-package";
import { chainLines, lineDigest } from "../../shared/evidence/ledger-chain";
import { COMMAND_PREFIX } from "../../shared/disclosure/verify-guide";
import { buildEvidenceManifest } from "../../shared/provenance/manifest";
import { signEvidenceManifest } from "../../shared/provenance/manifest-signature";
import { buildJwks, publicKeyPem, type JsonWebKeySet } from "../../shared/provenance/jwks";
import type { EvidenceManifest } from "../../shared/provenance/manifest";
import { manifestBytes } from "../../shared/provenance/manifest";
import { p1363ToDer } from "../../shared/provenance/signature-encoding";
import { testContentCredentials } from "../support/test-signer";
import { EVIDENCE_A, EVIDENCE_B, makeJpeg, makeRecording, SEGMENT, sourceFor, type FixtureRecording } from "./package-fixture";

let work: string;
let signer: LocalKeySigner;
let other: LocalKeySigner;
let published: JsonWebKeySet;
let recordingA: FixtureRecording;
let recordingB: FixtureRecording;
let clean: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "custody-disclosure-"));
  signer = await LocalKeySigner.open({ directory: path.join(work, "keys") });
  other = await LocalKeySigner.open({ directory: path.join(work, "other-keys") });
  published = buildJwks(await signer.publishedKeys());
  const cc = await testContentCredentials();
  recordingA = await makeRecording({ evidenceId: EVIDENCE_A, signer, poster: await makeJpeg(work, "a.jpg"), contentCredentials: cc, reissue: true });
  recordingB = await makeRecording({ evidenceId: EVIDENCE_B, signer, poster: await makeJpeg(work, "b.jpg", "640x360") });
  clean = path.join(work, "clean");
  await writeDisclosurePackage(clean, await sourceFor(recordingA, signer));
  await writeDisclosurePackage(clean, await sourceFor(recordingB, signer));
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

let copies = 0;
/** A copy of the clean package, changed by `mutate` (given recording A's folder). */
async function tampered(mutate: (folderA: string, root: string) => Promise<void>): Promise<string> {
  const root = path.join(work, `copy-${++copies}`);
  await cp(clean, root, { recursive: true });
  await mutate(path.join(root, EVIDENCE_A), root);
  return root;
}

const failures = (result: PackageVerification, evidenceId = EVIDENCE_A): PackageCheck[] => result.recordings.find((r) => r.folder === evidenceId)!.checks.filter((c) => c.status === "fail");
const codes = (result: PackageVerification, evidenceId = EVIDENCE_A): string[] => failures(result, evidenceId).map((c) => c.code);

async function flipByte(file: string, at: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[at] ^= 0x01;
  await writeFile(file, bytes);
}

/** Rewrites SHA256SUMS to match the files as they are now: what a careful forger does. */
async function resum(folder: string): Promise<void> {
  const { entries } = parseSums(await readFile(path.join(folder, SUMS_FILE), "utf8"));
  const present = await Promise.all(entries.map(async (e) => ({ path: e.path, bytes: await readFile(path.join(folder, e.path)).catch(() => undefined) })));
  const fresh = present.filter((e) => e.bytes !== undefined).map((e) => ({ path: e.path, sha256: createHash("sha256").update(e.bytes!).digest("hex") }));
  await writeFile(path.join(folder, SUMS_FILE), formatSums(fresh));
}

async function logLines(folder: string): Promise<string[]> {
  return (await readFile(path.join(folder, CUSTODY_LOG), "utf8")).split("\n").filter((l) => l !== "");
}

test("a clean package verifies, with the package's own keys (integrity only, said so) and with the deployment's published keys", async () => {
  const own = await verifyDisclosurePackage(clean);
  expect(own.recordings.map((r) => [r.evidenceId, r.verified])).toEqual([
    [EVIDENCE_A, true],
    [EVIDENCE_B, true],
  ]);
  expect(own.verified).toBe(true);
  expect(own.keys).toBe("package");
  const a = own.recordings[0].checks;
  expect(a.filter((c) => c.status === "ok").map((c) => c.code)).toEqual(
    expect.arrayContaining(["SumsMatch", "SignatureValid", "IssuesChained", "OriginalMatches", "RenditionMatches", "ChainIntact", "ContentCredentialsValid"]),
  );
  expect(a.find((c) => c.code === "PackageKeys")?.message).toMatch(/NOT who signed/);
  // The poster carries no Content Credentials: a note, not a failure (made where no signing chain was set up).
  expect(a.find((c) => c.code === "NoContentCredentials")).toMatchObject({ status: "note", file: "renditions/thumbnail/poster.jpg" });
  expect(a.find((c) => c.code === "ChainIntact")?.message).toMatch(/5 entries.*entry 4.*1 entries appended after/);
  expect(describePackageVerification(own)).toMatch(/RESULT: VERIFIED — 2 recording\(s\)/);

  const withPublished = await verifyDisclosurePackage(clean, { publishedKeys: published, keysFile: "jwks.json" });
  expect(withPublished.verified).toBe(true);
  expect(withPublished.keys).toBe("published");
  expect(withPublished.recordings[0].checks.some((c) => c.code === "PackageKeys")).toBe(false);
  // One recording's folder on its own is a package too.
  expect((await verifyDisclosurePackage(path.join(clean, EVIDENCE_B))).verified).toBe(true);
  // Renamed by whoever received it: still verified, and the report says which recording it holds.
  const exhibit = path.join(work, "exhibit-3");
  await cp(path.join(clean, EVIDENCE_B), exhibit, { recursive: true });
  const renamed = await verifyDisclosurePackage(exhibit);
  expect(renamed.recordings[0]).toMatchObject({ folder: "exhibit-3", evidenceId: EVIDENCE_B, verified: true });
  expect(describePackageVerification(renamed)).toMatch(new RegExp(`Recording ${EVIDENCE_B} in folder exhibit-3: VERIFIED`));
});

test("one byte changed in the original: the segment and its byte range are named, even when SHA256SUMS is rewritten to match", async () => {
  const root = await tampered(async (a) => {
    await flipByte(path.join(a, "original/2026-11-26T09-00-00Z.mp4"), SEGMENT + 10);
    await resum(a);
  });
  const result = await verifyDisclosurePackage(root);
  expect(result.verified).toBe(false);
  const [finding] = failures(result);
  expect(finding).toMatchObject({ code: "SegmentMismatch", file: "original/2026-11-26T09-00-00Z.mp4", byteRanges: [{ segment: 1, start: SEGMENT, end: 2 * SEGMENT - 1 }] });
  expect(finding.message).toMatch(/is NOT the original the manifest names.*segment 1 \(bytes 4096–8191\)/);
  expect(failures(result)).toHaveLength(1);
  expect(result.recordings[1].verified).toBe(true);
  expect(describePackageVerification(result)).toMatch(/NOT VERIFIED — 1 finding\(s\)[\s\S]*FAILED/);
});

test("a truncated or extended original: the size change is said once, with the last shared segment that differs", async () => {
  const file = "original/2026-11-26T09-00-00Z.mp4";
  const truncated = await verifyDisclosurePackage(
    await tampered(async (a) => {
      const bytes = await readFile(path.join(a, file));
      await writeFile(path.join(a, file), bytes.subarray(0, bytes.length - 100));
    }),
  );
  const [cut] = failures(truncated).filter((c) => c.area === "original");
  expect(cut).toMatchObject({ code: "SizeMismatch", byteRanges: [{ segment: 2, start: 2 * SEGMENT, end: 2 * SEGMENT + 899 }] });
  expect(cut.message).toMatch(/: it differs in segment 2 \(bytes 8192–9091\); 100 bytes missing from byte 9092 on\.$/);

  const extended = await verifyDisclosurePackage(await tampered((a) => writeFile(path.join(a, file), Buffer.alloc(50 * SEGMENT, 1), { flag: "a" })));
  const [longer] = failures(extended).filter((c) => c.area === "original");
  expect(longer).toMatchObject({ code: "SizeMismatch", byteRanges: [] });
  expect(longer.message).toMatch(/: it 204800 bytes added after byte 9191\.$/);
});

test("one byte changed in a rendition (SHA256SUMS left as it was): the file list and the manifest both say so", async () => {
  const result = await verifyDisclosurePackage(await tampered((a) => flipByte(path.join(a, "renditions/transcode/proxy.mp4"), 100)));
  expect(codes(result).sort()).toEqual(["DigestMismatch", "RenditionMismatch"]);
  expect(failures(result).find((c) => c.code === "RenditionMismatch")?.message).toMatch(/renditions\/transcode\/proxy\.mp4 is NOT the proxy the manifest names/);
});

test("a rendition swapped in from another recording's package is caught by the manifest's digest", async () => {
  const root = await tampered(async (a, r) => {
    await cp(path.join(r, EVIDENCE_B, "renditions/thumbnail/poster.jpg"), path.join(a, "renditions/thumbnail/poster.jpg"));
    await resum(a);
  });
  const result = await verifyDisclosurePackage(root);
  expect(codes(result)).toEqual(["RenditionMismatch"]);
  expect(failures(result)[0].file).toBe("renditions/thumbnail/poster.jpg");
});

test.each([
  ["removed", (lines: string[]) => lines.filter((_, i) => i !== 1), { code: "BrokenLink", line: 2 }],
  ["reordered", (lines: string[]) => [lines[0], lines[2], lines[1], ...lines.slice(3)], { code: "BrokenLink", line: 2 }],
  ["edited", (lines: string[]) => lines.map((l, i) => (i === 1 ? l.replace("2026-11-26T09:31:00Z", "2026-11-26T09:39:00Z") : l)), { code: "BrokenLink", line: 3 }],
])("a custody log entry %s: the broken link names the line", async (_what, change, expected) => {
  const root = await tampered(async (a) => {
    await writeFile(
      path.join(a, CUSTODY_LOG),
      change(await logLines(a))
        .map((l) => `${l}\n`)
        .join(""),
    );
    await resum(a);
  });
  const result = await verifyDisclosurePackage(root);
  expect(failures(result)).toContainEqual(expect.objectContaining({ area: "custody-log", ...expected }));
  expect(failures(result).every((c) => c.area === "custody-log")).toBe(true);
});

test("a custody log edited and then re-chained from the edit on: the manifest's signed head is no longer a point of it", async () => {
  const root = await tampered(async (a) => {
    const entries = (await logLines(a)).map((l) => {
      const { seq: _seq, prev: _prev, ...entry } = JSON.parse(l) as Record<string, unknown>;
      return entry;
    });
    entries[1] = { ...entries[1], recordedBy: "someone-else" };
    await writeFile(
      path.join(a, CUSTODY_LOG),
      chainLines(undefined, entries)
        .lines.map((l) => `${l}\n`)
        .join(""),
    );
    await resum(a);
  });
  const result = await verifyDisclosurePackage(root);
  expect(codes(result)).toEqual(["HeadNotInChain"]);
  expect(failures(result)[0]).toMatchObject({ line: 4 });
});

test("a manifest changed and re-signed with another key: refused by the deployment's keys (unknown key), and a forged signature under the real key id is a bad signature", async () => {
  const forge = async (a: string, kid: string): Promise<void> => {
    const manifest = JSON.parse(await readFile(path.join(a, MANIFEST_JSON), "utf8")) as EvidenceManifest;
    manifest.stages[0].renditions[0].sha256 = "0".repeat(64);
    manifest.signer.kid = kid;
    // The changed bytes, signed with the other key whatever key id they name.
    const json = manifestBytes(manifest);
    await writeFile(path.join(a, MANIFEST_JSON), json);
    await writeFile(path.join(a, MANIFEST_SIG), p1363ToDer(await other.sign(json)));
    await rm(path.join(a, MANIFEST_JWS));
    if (kid === other.keyId) {
      // The forger ships their own key too: the package's keys then agree with the manifest.
      await writeFile(path.join(a, JWKS_FILE), JSON.stringify(buildJwks(await other.publishedKeys())));
      await writeFile(path.join(a, keyPemPath(other.keyId)), publicKeyPem(await other.publicKey()));
    }
    await resum(a);
  };
  const ownKey = await tampered((a) => forge(a, other.keyId));
  const byDeployment = await verifyDisclosurePackage(ownKey, { publishedKeys: published });
  expect(codes(byDeployment)).toContain("UnknownKey");
  expect(failures(byDeployment).find((c) => c.code === "UnknownKey")?.message).toMatch(new RegExp(`No published key has the id ${other.keyId}`));
  // With only the package's keys a forger's own key "verifies" — which is why the report says it proves integrity, not origin.
  const byPackage = await verifyDisclosurePackage(ownKey);
  expect(byPackage.recordings[0].checks.find((c) => c.code === "PackageKeys")?.status).toBe("note");

  const realKid = await tampered((a) => forge(a, signer.keyId));
  expect(codes(await verifyDisclosurePackage(realKid, { publishedKeys: published }))).toContain("BadSignature");
  expect(codes(await verifyDisclosurePackage(realKid))).toContain("BadSignature");
});

test("an unknown key id and an expired key are named", async () => {
  const unknown = await verifyDisclosurePackage(clean, { publishedKeys: buildJwks(await other.publishedKeys()) });
  expect(codes(unknown)).toContain("UnknownKey");
  expect(codes(unknown, EVIDENCE_B)).toContain("UnknownKey");

  const [key] = published.keys;
  const expired = await verifyDisclosurePackage(clean, { publishedKeys: { keys: [{ ...key, exp: Math.floor(Date.parse("2026-01-01T00:00:00Z") / 1000) }] } });
  expect(codes(expired, EVIDENCE_B)).toEqual(["KeyExpired"]);
  expect(failures(expired, EVIDENCE_B)[0].message).toMatch(/was retired at 2026-01-01T00:00:00.000Z/);
});

test("a missing earlier issue, and a key PEM that is not the published key, are findings", async () => {
  const root = await tampered(async (a) => {
    await rm(path.join(a, "manifest/issues"), { recursive: true });
    await writeFile(path.join(a, keyPemPath(signer.keyId)), publicKeyPem(await other.publicKey()));
    await resum(a);
  });
  expect(codes(await verifyDisclosurePackage(root)).sort()).toEqual(["MissingIssue", "PemMismatch"]);
});

test("Content Credentials naming another original fail; a file added to the package is named", async () => {
  const cc = await testContentCredentials();
  const recording = await makeRecording({ evidenceId: EVIDENCE_A, signer, poster: await makeJpeg(work, "c.jpg"), contentCredentials: cc, ingredientSha256: "f".repeat(64) });
  const root = path.join(work, "wrong-ingredient");
  const written = await writeDisclosurePackage(root, await sourceFor(recording, signer));
  await writeFile(path.join(written.folder, "renditions/transcode/extra.mp4"), "not disclosed");
  const result = await verifyDisclosurePackage(root);
  expect(codes(result).sort()).toEqual(["UnexpectedFile", "UnlistedFile", "custody.ingredient.mismatch"]);
});

test("the writer refuses a recording with no manifest, bytes that are not what the manifest names, and an existing package", async () => {
  const source = await sourceFor(recordingB, signer);
  await expect(writeDisclosurePackage(path.join(work, "none"), { ...source, manifests: [] })).rejects.toThrow(/has no issued evidence manifest/);
  const swapped = { ...source, openOriginal: () => sourceFor(recordingA, signer).then((s) => s.openOriginal()) };
  await expect(writeDisclosurePackage(path.join(work, "swapped"), swapped)).rejects.toThrow(/the original read from storage is not what the manifest names/);
  await expect(readFile(path.join(work, "swapped", EVIDENCE_B, SUMS_FILE))).rejects.toThrow(/ENOENT/);
  await expect(writeDisclosurePackage(clean, source)).rejects.toMatchObject({ code: "NotDisclosable", retryable: false, message: expect.stringMatching(/already exists and is not empty/) });
});

test("after a key rotation each issue verifies with the key that signed it, by the verifier and by the guide's openssl commands", async () => {
  const directory = path.join(work, "rotating-keys");
  const first = await LocalKeySigner.open({ directory });
  const recording = await makeRecording({ evidenceId: EVIDENCE_B, signer: first, poster: await makeJpeg(work, "rotating.jpg") });
  // The successor is created (and the first key retired) a few seconds on, and signs the re-issue after that.
  const later = Date.now() + 5_000;
  await rotateLocalSigningKey({ directory, now: () => new Date(later) });
  const second = await LocalKeySigner.open({ directory });
  const [issue1] = recording.manifests;
  const reissued = await signEvidenceManifest(
    buildEvidenceManifest(recording.record, {
      custodyLog: { sha256: lineDigest(recording.ledgerLines[3]), entries: 4 },
      issuedAt: new Date(later + 1_000).toISOString(),
      keyId: second.keyId,
      previousManifest: {
        sha256: createHash("sha256").update(issue1.files.manifestJson).digest("hex"),
        issuedAt: parseManifestJson(issue1.files.manifestJson).issuedAt,
      },
    }),
    second,
  );
  const source = await sourceFor({ ...recording, manifests: [issue1, { sequence: 2, files: reissued }] }, second);
  const written = await writeDisclosurePackage(path.join(work, "rotated"), source);

  const result = await verifyDisclosurePackage(written.folder, { publishedKeys: buildJwks(await second.publishedKeys()) });
  expect(failures(result, EVIDENCE_B)).toEqual([]);
  expect(result.recordings[0].checks.filter((c) => c.code === "SignatureValid").map((c) => c.message)).toEqual([
    expect.stringContaining(`manifest/manifest.json is signed (ES256, manifest.sig and manifest.jws) by key ${second.keyId}`),
    expect.stringContaining(`manifest/issues/1/manifest.json is signed (ES256, manifest.sig and manifest.jws) by key ${first.keyId}`),
  ]);
  const guide = (await readFile(path.join(written.folder, "VERIFY.txt"), "utf8")).split("\n").filter((l) => l.startsWith(`${COMMAND_PREFIX}openssl`));
  expect(guide).toHaveLength(2);
  for (const command of guide) expect(execFileSync("sh", ["-c", command.slice(COMMAND_PREFIX.length)], { cwd: written.folder, encoding: "utf8" })).toBe("Verified OK\n");

  // The first key signing after its retirement is refused.
  const late = await signEvidenceManifest(
    buildEvidenceManifest(recording.record, { custodyLog: { sha256: lineDigest(recording.ledgerLines[2]), entries: 3 }, issuedAt: new Date(later + 60_000).toISOString(), keyId: first.keyId }),
    {
      algorithm: "ES256",
      keyId: first.keyId,
      sign: (data) => first.sign(data),
      publicKey: () => first.publicKey(),
    },
  );
  const lateSource = await sourceFor({ ...recording, manifests: [{ sequence: 1, files: late }] }, second);
  await expect(writeDisclosurePackage(path.join(work, "late"), lateSource)).rejects.toThrow(/does not verify with the published keys: Key .* was retired at/);
});
