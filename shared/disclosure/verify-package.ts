/**
 * Checks a disclosure package (layout.ts) with no Azure and no index: only the files and,
 * when given, the deployment's published keys and its Content Credentials CA certificate. Every
 * finding names the file, and where it can the byte range or the custody log line, so an
 * examiner can look at the bytes themselves.
 *
 * What anchors the checks is the signed manifest: the original's SHA-256 and segment digests,
 * each rendition's SHA-256 and the custody log's head are read from it once its signature has
 * been checked; SHA256SUMS is only a convenience list (whoever changes a file can rewrite it).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import * as path from "node:path";
import { verifyLedgerChain } from "../evidence/ledger-chain";
import { verifyContentCredentials } from "../media/content-credentials";
import { publicKeyPem, type JsonWebKeySet } from "../provenance/jwks";
import type { EvidenceManifest } from "../provenance/manifest";
import { verifyEvidenceManifest, type ManifestVerification } from "../provenance/manifest-signature";
import { parseTrustAnchors, type TrustAnchor } from "../provenance/trust-anchors";
import {
  CUSTODY_LOG,
  ISSUES_FOLDER,
  isTrustAnchorPath,
  JWKS_FILE,
  keyPemPath,
  MANIFEST_JSON,
  MANIFEST_JWS,
  MANIFEST_SIG,
  ORIGINAL_FOLDER,
  originalPath,
  RENDITIONS_FOLDER,
  renditionPath,
  SUMS_FILE,
} from "./layout";
import { parseSums } from "./sha256sums";

export type CheckArea = "files" | "manifest" | "keys" | "original" | "rendition" | "custody-log" | "content-credentials";

/** One line of the report: a check that passed, one that failed (a finding), or a note (neither: what was not checked and why). */
export interface PackageCheck {
  status: "ok" | "fail" | "note";
  area: CheckArea;
  /** The file it is about, relative to the recording's folder. */
  file?: string;
  /** A stable code for scripts (e.g. `SegmentMismatch`, `BrokenLink`, `KeyExpired`). */
  code: string;
  message: string;
  /** For a changed original: the bytes (inclusive) of each segment that differs. */
  byteRanges?: Array<{ segment: number; start: number; end: number }>;
  /** For the custody log: the 1-based line. */
  line?: number;
}

export interface RecordingPackageVerification {
  /** The folder's name (the evidence id the exporter wrote it under). */
  folder: string;
  /** The evidence id the signed manifest names (absent when no manifest could be read). */
  evidenceId?: string;
  verified: boolean;
  checks: PackageCheck[];
}

export interface PackageVerification {
  packagePath: string;
  /** Whose keys the signatures were checked with: the deployment's published JWKS (`--keys`), or the package's own (integrity only). */
  keys: "published" | "package";
  keysFile?: string;
  /**
   * What the images' Content Credentials were checked against: the CA certificates given
   * (`--trust`), or each recording's own keys/content-credentials-ca*.pem (signed under the CA in
   * the package, not proof it is the deployment's), when it has any.
   */
  trust: "given" | "package";
  trustFile?: string;
  /** The certificates given, when `trust` is "given". */
  trustAnchors?: Array<{ subject: string; sha256: string }>;
  verified: boolean;
  recordings: RecordingPackageVerification[];
}

export interface VerifyPackageOptions {
  /** The deployment's published JWKS, read by the caller; without it the package's own keys/jwks.json is used. */
  publishedKeys?: JsonWebKeySet;
  keysFile?: string;
  /** The deployment's Content Credentials CA certificates (PEM), read by the caller; without them each recording's own keys/content-credentials-ca*.pem is used. */
  trustAnchorPems?: readonly string[];
  trustFile?: string;
}

/** The package's recordings: `dir` itself when it is one recording's folder, else each sub-folder that has a manifest folder. */
async function findRecordingFolders(dir: string): Promise<string[]> {
  if (await exists(path.join(dir, MANIFEST_JSON))) return [dir];
  const entries = await readdir(dir, { withFileTypes: true });
  const folders: string[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const folder = path.join(dir, entry.name);
    if ((await exists(path.join(folder, MANIFEST_JSON))) || (await exists(path.join(folder, SUMS_FILE)))) folders.push(folder);
  }
  return folders;
}

/** Verifies every recording in the package (none found: an empty list, which the report says). */
export async function verifyDisclosurePackage(dir: string, options: VerifyPackageOptions = {}): Promise<PackageVerification> {
  // Given anchors are the caller's to check (a usage error, not a finding): parsing throws on one that is not a certificate.
  const given = options.trustAnchorPems?.flatMap((pem) => parseTrustAnchors(pem, options.trustFile ?? "the trust anchors"));
  const folders = await findRecordingFolders(dir);
  const recordings: RecordingPackageVerification[] = [];
  for (const folder of folders) recordings.push(await verifyRecordingFolder(folder, options));
  return {
    packagePath: dir,
    keys: options.publishedKeys === undefined ? "package" : "published",
    ...(options.keysFile === undefined ? {} : { keysFile: options.keysFile }),
    trust: given === undefined ? "package" : "given",
    ...(options.trustFile === undefined ? {} : { trustFile: options.trustFile }),
    ...(given === undefined ? {} : { trustAnchors: given.map(({ subject, sha256 }) => ({ subject, sha256 })) }),
    verified: recordings.length > 0 && recordings.every((r) => r.verified),
    recordings,
  };
}

async function verifyRecordingFolder(folder: string, options: VerifyPackageOptions = {}): Promise<RecordingPackageVerification> {
  const checks: PackageCheck[] = [];
  const ok = (check: Omit<PackageCheck, "status">): void => void checks.push({ status: "ok", ...check });
  const fail = (check: Omit<PackageCheck, "status">): void => void checks.push({ status: "fail", ...check });
  const note = (check: Omit<PackageCheck, "status">): void => void checks.push({ status: "note", ...check });
  const done = (evidenceId?: string): RecordingPackageVerification => ({
    folder: path.basename(folder),
    ...(evidenceId === undefined ? {} : { evidenceId }),
    verified: checks.every((c) => c.status !== "fail"),
    checks,
  });

  const links: string[] = [];
  const files = await listFiles(folder, links);
  for (const link of links) fail({ area: "files", file: link, code: "SymbolicLink", message: `${link} is a symbolic link, not a file: a package holds files only; it was not followed.` });
  // Each file is read once for its digest, however many checks need it (originals can be gigabytes).
  const digests = new Map<string, Promise<FileDigest>>();
  const digest: DigestOf = (file) => {
    let pending = digests.get(file);
    if (pending === undefined) digests.set(file, (pending = hashWithSegments(path.join(folder, file), 0)));
    return pending;
  };
  await checkSums(folder, files, digest, { ok, fail });

  // The keys: the deployment's when given, else the package's own (integrity, not origin).
  const packageKeys = await readJson<JsonWebKeySet>(path.join(folder, JWKS_FILE));
  let keys = options.publishedKeys;
  if (keys === undefined) {
    if (packageKeys === undefined || !Array.isArray(packageKeys.keys)) {
      fail({ area: "keys", file: JWKS_FILE, code: "NoKeys", message: `${JWKS_FILE} is missing or not a JWK Set, and no published keys were given (--keys): the signature cannot be checked.` });
      return done();
    }
    keys = packageKeys;
    note({
      area: "keys",
      file: JWKS_FILE,
      code: "PackageKeys",
      message:
        "Signatures checked with the keys in this package: this proves the files are unchanged since they were signed with that key, NOT who signed them. Check with the deployment's published keys (--keys FILE) to prove origin.",
    });
  }

  // The manifest (latest issue) and its signatures.
  const manifestJson = await readBytes(path.join(folder, MANIFEST_JSON));
  if (manifestJson === undefined) {
    fail({ area: "manifest", file: MANIFEST_JSON, code: "MissingManifest", message: `${MANIFEST_JSON} is missing: nothing in this folder is signed.` });
    return done();
  }
  const signature = await readBytes(path.join(folder, MANIFEST_SIG));
  const jws = (await readBytes(path.join(folder, MANIFEST_JWS)))?.toString("utf8");
  const checked = verifyEvidenceManifest({ manifest: manifestJson, ...(signature === undefined ? {} : { signature }), ...(jws === undefined ? {} : { jws }), keys });
  reportSignature(checked, MANIFEST_JSON, { ok, fail });
  const manifest = checked.manifest;
  if (manifest === undefined) return done();
  if (manifest.evidenceId !== path.basename(folder)) {
    // A renamed folder (exhibit-3/) is fine; the report says which recording it holds, by the signed manifest.
    note({ area: "manifest", file: MANIFEST_JSON, code: "FolderName", message: `The folder is named ${path.basename(folder)}; its signed manifest is for recording ${manifest.evidenceId}.` });
  }
  if (packageKeys !== undefined && Array.isArray(packageKeys.keys)) await checkPems(folder, packageKeys, files, { ok, fail });

  await checkIssues(folder, files, manifest, manifestJson, keys, { ok, fail });
  if (!isShapedManifest(manifest)) {
    fail({ area: "manifest", file: MANIFEST_JSON, code: "Malformed", message: "manifest.json lacks the original or the stages: the files cannot be checked against it." });
    return done(manifest.evidenceId);
  }
  await checkOriginal(folder, files, manifest, digest, { ok, fail });
  const jpegs = await checkRenditions(files, manifest, digest, { ok, fail });
  await checkCustodyLog(folder, manifest, { ok, fail });
  const anchors = await trustAnchorsFor(folder, files, options, { ok, fail, note });
  await checkContentCredentials(folder, jpegs, manifest, anchors, { ok, fail, note });
  return done(manifest.evidenceId);
}

type Report = { ok: (check: Omit<PackageCheck, "status">) => void; fail: (check: Omit<PackageCheck, "status">) => void };

interface FileDigest {
  sha256: string;
  size: number;
}
type DigestOf = (file: string) => Promise<FileDigest>;

async function checkSums(folder: string, files: Set<string>, digest: DigestOf, { ok, fail }: Report): Promise<void> {
  const text = await readBytes(path.join(folder, SUMS_FILE));
  if (text === undefined) {
    fail({ area: "files", file: SUMS_FILE, code: "MissingFile", message: `${SUMS_FILE} is missing.` });
    return;
  }
  const { entries, malformedLines } = parseSums(text.toString("utf8"));
  for (const line of malformedLines) fail({ area: "files", file: SUMS_FILE, code: "Malformed", line, message: `${SUMS_FILE} line ${line} is not "<SHA-256>  <file>".` });
  const listed = new Set<string>();
  let matching = 0;
  for (const entry of entries) {
    listed.add(entry.path);
    if (!files.has(entry.path)) {
      fail({ area: "files", file: entry.path, code: "MissingFile", message: `${entry.path} is listed in ${SUMS_FILE} but is not in the package.` });
      continue;
    }
    const actual = (await digest(entry.path)).sha256;
    if (actual !== entry.sha256) fail({ area: "files", file: entry.path, code: "DigestMismatch", message: `${entry.path} has SHA-256 ${actual}; ${SUMS_FILE} lists ${entry.sha256}.` });
    else matching++;
  }
  for (const file of files) {
    if (file !== SUMS_FILE && !listed.has(file)) fail({ area: "files", file, code: "UnlistedFile", message: `${file} is in the package but not in ${SUMS_FILE}: it was added after export.` });
  }
  if (matching === entries.length && malformedLines.length === 0) ok({ area: "files", file: SUMS_FILE, code: "SumsMatch", message: `${SUMS_FILE}: all ${matching} files listed match.` });
}

function reportSignature(checked: ManifestVerification, file: string, { ok, fail }: Report): void {
  if (checked.valid && checked.manifest !== undefined) {
    ok({
      area: "manifest",
      file,
      code: "SignatureValid",
      message: `${file} is signed (ES256, manifest.sig and manifest.jws) by key ${checked.keyId ?? "?"}; issued ${checked.manifest.issuedAt}${checked.manifest.issuer ? ` by ${checked.manifest.issuer}` : ""}.`,
    });
    return;
  }
  for (const problem of checked.problems) {
    const subject = problem.subject === "keys" ? file : problem.subject === "manifest.json" ? file : file.replace("manifest.json", problem.subject);
    fail({ area: problem.subject === "keys" ? "keys" : "manifest", file: subject, code: problem.code, message: `${file}: ${problem.message}` });
  }
}

/** Each published key's PEM in the package must be that key (the VERIFY guide's openssl command reads the PEM). */
async function checkPems(folder: string, jwks: JsonWebKeySet, files: Set<string>, { fail }: Report): Promise<void> {
  for (const key of jwks.keys) {
    const file = keyPemPath(key.kid);
    if (!files.has(file)) continue;
    let expected: string;
    try {
      expected = publicKeyPem(key);
    } catch {
      fail({ area: "keys", file: JWKS_FILE, code: "Malformed", message: `Key ${key.kid} in ${JWKS_FILE} is not a valid P-256 public key.` });
      continue;
    }
    const pem = await readFile(path.join(folder, file), "utf8");
    if (pem.trim() !== expected.trim()) fail({ area: "keys", file, code: "PemMismatch", message: `${file} is not the key ${key.kid} of ${JWKS_FILE}.` });
  }
}

async function checkIssues(folder: string, files: Set<string>, latest: EvidenceManifest, latestJson: Buffer, keys: JsonWebKeySet, report: Report): Promise<void> {
  const sequences = [...new Set([...files].filter((f) => f.startsWith(`${ISSUES_FOLDER}/`)).map((f) => Number(f.split("/")[2])))].filter(Number.isInteger).sort((a, b) => a - b);
  // Issues form a chain: each names the SHA-256 of the one before it; the latest names the last earlier one.
  const chain: Array<{ name: string; json: Buffer; manifest: EvidenceManifest }> = [];
  for (const sequence of sequences) {
    const base = `${ISSUES_FOLDER}/${sequence}/`;
    const json = await readBytes(path.join(folder, `${base}manifest.json`));
    if (json === undefined) {
      report.fail({ area: "manifest", file: `${base}manifest.json`, code: "MissingManifest", message: `Issue ${sequence} has no manifest.json.` });
      continue;
    }
    const signature = await readBytes(path.join(folder, `${base}manifest.sig`));
    const jws = (await readBytes(path.join(folder, `${base}manifest.jws`)))?.toString("utf8");
    const checked = verifyEvidenceManifest({ manifest: json, ...(signature === undefined ? {} : { signature }), ...(jws === undefined ? {} : { jws }), keys });
    reportSignature(checked, `${base}manifest.json`, report);
    if (checked.manifest !== undefined) chain.push({ name: `${base}manifest.json`, json, manifest: checked.manifest });
  }
  chain.push({ name: MANIFEST_JSON, json: latestJson, manifest: latest });
  for (let i = 1; i < chain.length; i++) {
    const before = chain[i - 1];
    const after = chain[i];
    const digest = createHash("sha256").update(before.json).digest("hex");
    if (after.manifest.previousManifest?.sha256 !== digest) {
      report.fail({
        area: "manifest",
        file: after.name,
        code: "IssueChainBroken",
        message: `${after.name} should name the issue before it (${before.name}, SHA-256 ${digest}) as previousManifest, but names ${after.manifest.previousManifest?.sha256 ?? "none"}: an issue is missing or was replaced.`,
      });
    }
  }
  if (chain.length > 1 && latest.previousManifest !== undefined)
    report.ok({ area: "manifest", code: "IssuesChained", message: `${chain.length} issues of the manifest, each naming the one before it.` });
  else if (chain.length === 1 && latest.previousManifest !== undefined) {
    report.fail({
      area: "manifest",
      file: MANIFEST_JSON,
      code: "MissingIssue",
      message: `${MANIFEST_JSON} re-issues an earlier manifest (SHA-256 ${latest.previousManifest.sha256}) that is not in ${ISSUES_FOLDER}/.`,
    });
  }
}

async function checkOriginal(folder: string, files: Set<string>, manifest: EvidenceManifest, digest: DigestOf, { ok, fail }: Report): Promise<void> {
  const expected = manifest.original;
  const file = originalPath(expected.name);
  const others = [...files].filter((f) => f.startsWith(`${ORIGINAL_FOLDER}/`) && f !== file);
  for (const other of others) fail({ area: "original", file: other, code: "UnexpectedFile", message: `${other} is not the original the manifest names (${file}).` });
  if (!files.has(file)) {
    fail({ area: "original", file, code: "MissingFile", message: `The original ${file} (${expected.name}) is missing.` });
    return;
  }
  const { sha256, size } = await digest(file);
  if (sha256 === expected.sha256 && size === expected.size) {
    ok({
      area: "original",
      file,
      code: "OriginalMatches",
      message: `${file}: ${size} bytes, SHA-256 ${sha256}, as the manifest names (${expected.container}/${expected.name}${expected.versionId ? `, version ${expected.versionId}` : ""}).`,
    });
    return;
  }
  // Only a changed original is read again, segment by segment, to say where.
  // Segments within the length both share are compared; a longer or shorter file is said once, not segment by segment.
  const common = Math.min(size, expected.size);
  const { segments } = await hashWithSegments(path.join(folder, file), expected.segmentSizeInBytes, common);
  const byteRanges: NonNullable<PackageCheck["byteRanges"]> = [];
  const shared = Math.ceil(common / expected.segmentSizeInBytes);
  for (let segment = 0; segment < shared; segment++) {
    if (segments[segment] !== expected.segmentSha256[segment]) {
      const start = segment * expected.segmentSizeInBytes;
      byteRanges.push({ segment, start, end: Math.min(start + expected.segmentSizeInBytes, common) - 1 });
    }
  }
  const inSegments = byteRanges.map((r) => `segment ${r.segment} (bytes ${r.start}–${r.end})`).join(", ");
  const tail = size > expected.size ? `${size - expected.size} bytes added after byte ${expected.size - 1}` : size < expected.size ? `${expected.size - size} bytes missing from byte ${size} on` : "";
  const where = [inSegments === "" ? "" : `differs in ${inSegments}`, tail].filter(Boolean).join("; ") || "differs in no single segment";
  fail({
    area: "original",
    file,
    code: size === expected.size ? "SegmentMismatch" : "SizeMismatch",
    byteRanges,
    message: `${file} is NOT the original the manifest names: SHA-256 ${sha256} (${size} bytes), the manifest: ${expected.sha256} (${expected.size} bytes): it ${where}.`,
  });
}

interface JpegRendition {
  file: string;
}

async function checkRenditions(files: Set<string>, manifest: EvidenceManifest, digest: DigestOf, { ok, fail }: Report): Promise<JpegRendition[]> {
  const expectedFiles = new Set<string>();
  const jpegs: JpegRendition[] = [];
  for (const stage of manifest.stages) {
    for (const rendition of stage.renditions) {
      const file = renditionPath(stage.stage, rendition);
      expectedFiles.add(file);
      if (!files.has(file)) {
        fail({ area: "rendition", file, code: "MissingFile", message: `The ${rendition.kind} rendition ${file} the manifest names (${rendition.path}) is missing.` });
        continue;
      }
      const { sha256, size } = await digest(file);
      if (sha256 !== rendition.sha256 || size !== rendition.size) {
        fail({
          area: "rendition",
          file,
          code: "RenditionMismatch",
          message: `${file} is NOT the ${rendition.kind} the manifest names for ${rendition.path}: SHA-256 ${sha256} (${size} bytes), the manifest: ${rendition.sha256} (${rendition.size} bytes).`,
        });
        continue;
      }
      ok({ area: "rendition", file, code: "RenditionMatches", message: `${file}: ${rendition.kind}, ${size} bytes, SHA-256 ${sha256}, as the manifest names.` });
      if (rendition.contentType === "image/jpeg") jpegs.push({ file });
    }
  }
  for (const file of files) {
    if (file.startsWith(`${RENDITIONS_FOLDER}/`) && !expectedFiles.has(file)) fail({ area: "rendition", file, code: "UnexpectedFile", message: `${file} is not a rendition the manifest names.` });
  }
  return jpegs;
}

async function checkCustodyLog(folder: string, manifest: EvidenceManifest, { ok, fail }: Report): Promise<void> {
  const bytes = await readBytes(path.join(folder, CUSTODY_LOG));
  if (bytes === undefined) {
    fail({ area: "custody-log", file: CUSTODY_LOG, code: "MissingFile", message: `${CUSTODY_LOG} is missing: the custody log head the manifest names cannot be checked.` });
    return;
  }
  const text = bytes.toString("utf8");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const head = manifest.custodyLog;
  const chain = verifyLedgerChain(lines, head);
  for (const problem of chain.problems) fail({ area: "custody-log", file: CUSTODY_LOG, code: problem.kind, line: problem.line, message: `${CUSTODY_LOG}: ${problem.message}.` });
  // Each line must be about this recording: a log spliced from another recording's package is not this one's.
  for (const [index, line] of lines.entries()) {
    let entry: { evidenceId?: unknown };
    try {
      entry = JSON.parse(line) as { evidenceId?: unknown };
    } catch {
      continue;
    }
    if (entry.evidenceId !== manifest.evidenceId) {
      fail({
        area: "custody-log",
        file: CUSTODY_LOG,
        code: "WrongRecording",
        line: index + 1,
        message: `${CUSTODY_LOG} line ${index + 1} is about ${String(entry.evidenceId)}, not ${manifest.evidenceId}.`,
      });
    }
  }
  if (chain.problems.length === 0) {
    const legacy = chain.unchained > 0 ? ` (the first ${chain.unchained} written before the chain)` : "";
    ok({
      area: "custody-log",
      file: CUSTODY_LOG,
      code: "ChainIntact",
      message: `${CUSTODY_LOG}: ${lines.length} entries, each linked to the one before it${legacy}; the manifest's head (entry ${head.entries}, SHA-256 ${head.sha256}) is a point of the chain${lines.length > head.entries ? `, ${lines.length - head.entries} entries appended after the manifest was issued` : ""}.`,
    });
  }
}

/** A CA certificate the images are checked against, and where it came from (for the report). */
interface SourcedAnchor extends TrustAnchor {
  /** "--trust <file>" or the package file. */
  source: string;
  /** Came with the package (proves integrity, not origin). */
  inPackage: boolean;
}

/** The anchors for one recording: the given ones, else the package's own keys/content-credentials-ca*.pem (each must be a certificate). */
async function trustAnchorsFor(folder: string, files: Set<string>, options: VerifyPackageOptions, report: Report & { note: Report["ok"] }): Promise<SourcedAnchor[]> {
  if (options.trustAnchorPems !== undefined) {
    const source = `--trust ${options.trustFile ?? "(given)"}`;
    return options.trustAnchorPems.flatMap((pem) => parseTrustAnchors(pem, source)).map((anchor) => ({ ...anchor, source, inPackage: false }));
  }
  const anchors: SourcedAnchor[] = [];
  for (const file of [...files].filter(isTrustAnchorPath).sort()) {
    try {
      anchors.push(...parseTrustAnchors(await readFile(path.join(folder, file), "utf8"), file).map((anchor) => ({ ...anchor, source: file, inPackage: true })));
    } catch (error) {
      report.fail({ area: "keys", file, code: "MalformedTrustAnchor", message: `${file} should be the Content Credentials CA certificate: ${(error as Error).message}` });
    }
  }
  return anchors;
}

async function checkContentCredentials(folder: string, jpegs: JpegRendition[], manifest: EvidenceManifest, anchors: SourcedAnchor[], report: Report & { note: Report["ok"] }): Promise<void> {
  const trustAnchorPems = anchors.map((a) => a.pem);
  let carried = 0;
  for (const { file } of jpegs) {
    const bytes = await readFile(path.join(folder, file));
    const result = await verifyContentCredentials(bytes, { trustAnchorPems, expectedOriginalSha256: manifest.original.sha256 });
    // With no anchor, every signer is "untrusted": that check is left out (and the report says so) rather than failed.
    const failures = anchors.length === 0 ? result.failures.filter((f) => f.check !== "trust") : result.failures;
    if (result.failures.some((f) => f.code === "custody.manifest.absent")) {
      report.note({
        area: "content-credentials",
        file,
        code: "NoContentCredentials",
        message: `${file} carries no Content Credentials (C2PA): it was made by a deployment without a signing chain, or before JPEG renditions were signed; its SHA-256 is covered by the signed manifest.`,
      });
      continue;
    }
    carried++;
    if (failures.length > 0) {
      for (const failure of failures) {
        const against =
          failure.check === "trust"
            ? ` — its signing certificate${result.signer ? ` (${result.signer.subject}, issued by ${result.signer.issuer})` : ""} does not chain to ${describeAnchors(anchors)}`
            : "";
        report.fail({ area: "content-credentials", file, code: failure.code, message: `${file}: its Content Credentials fail (${failure.check}): ${failure.explanation ?? failure.code}${against}.` });
      }
    } else {
      const anchor = anchors.length === 0 ? undefined : await anchorUsed(bytes, anchors, manifest.original.sha256);
      const trust =
        anchors.length === 0
          ? " (certificate trust not checked: no CA certificate in the package and none given with --trust)"
          : `, and its certificate chains to ${anchor === undefined ? `one of ${describeAnchors(anchors)}` : `${anchor.subject} (${anchor.source})`}`;
      report.ok({
        area: "content-credentials",
        file,
        code: "ContentCredentialsValid",
        message: `${file}: Content Credentials valid, bound to these bytes, naming original ${result.ingredient?.sha256 ?? "?"} as ingredient${result.signer ? `, signed by ${result.signer.subject}` : ""}${trust}.`,
      });
    }
  }
  // Like the package's own keys: a CA that came with the package proves integrity, not origin.
  if (carried > 0 && anchors.some((a) => a.inPackage)) {
    report.note({
      area: "keys",
      file: anchors[0].source,
      code: "PackageTrustAnchor",
      message: `Content Credentials checked against the CA certificate in this package (${anchors.map((a) => `${a.source}: ${a.subject}`).join("; ")}): this proves the images were signed under that CA, NOT that it is the deployment's CA — anyone can make a CA. Check with the CA certificate obtained from the force separately (--trust FILE) to prove that.`,
    });
  }
}

/** Which anchor a valid image chains to (the report names it): the only one, or the first that alone makes its trust check pass. */
async function anchorUsed(jpeg: Uint8Array, anchors: SourcedAnchor[], expectedOriginalSha256: string): Promise<SourcedAnchor | undefined> {
  if (anchors.length === 1) return anchors[0];
  for (const anchor of anchors) {
    const alone = await verifyContentCredentials(jpeg, { trustAnchorPems: [anchor.pem], expectedOriginalSha256 });
    if (!alone.failures.some((f) => f.check === "trust")) return anchor;
  }
  return undefined;
}

function describeAnchors(anchors: SourcedAnchor[]): string {
  return anchors.map((a) => `${a.subject} (${a.source}, SHA-256 ${a.sha256})`).join(" or ");
}

function isShapedManifest(manifest: EvidenceManifest): boolean {
  const original = manifest.original as Partial<EvidenceManifest["original"]> | undefined;
  return (
    original !== undefined &&
    typeof original.sha256 === "string" &&
    typeof original.size === "number" &&
    Number.isInteger(original.segmentSizeInBytes) &&
    (original.segmentSizeInBytes ?? 0) > 0 &&
    Array.isArray(original.segmentSha256) &&
    Array.isArray(manifest.stages) &&
    manifest.stages.every((s) => Array.isArray(s.renditions)) &&
    typeof manifest.custodyLog?.sha256 === "string"
  );
}

/** The file's SHA-256 and size, and — with a segment size — the SHA-256 of each segment of its first `limit` bytes, in one streamed read. */
async function hashWithSegments(file: string, segmentSizeInBytes: number, limit = Number.POSITIVE_INFINITY): Promise<{ sha256: string; size: number; segments: string[] }> {
  const whole = createHash("sha256");
  const segments: string[] = [];
  let segment = createHash("sha256");
  let inSegment = 0;
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    whole.update(chunk);
    const before = size;
    size += chunk.length;
    if (segmentSizeInBytes <= 0) continue;
    const usable = Math.max(0, Math.min(chunk.length, limit - before));
    let offset = 0;
    while (offset < usable) {
      const take = Math.min(usable - offset, segmentSizeInBytes - inSegment);
      segment.update(chunk.subarray(offset, offset + take));
      inSegment += take;
      offset += take;
      if (inSegment === segmentSizeInBytes) {
        segments.push(segment.digest("hex"));
        segment = createHash("sha256");
        inSegment = 0;
      }
    }
  }
  if (inSegment > 0) segments.push(segment.digest("hex"));
  return { sha256: whole.digest("hex"), size, segments };
}

/** Every file under `folder`, as `/`-separated relative paths; symbolic links are reported, never followed (a package holds files, and a link could point anywhere). */
async function listFiles(folder: string, links: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(path.join(folder, relative), { withFileTypes: true })) {
      const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isSymbolicLink()) links.push(child);
      else out.add(child);
    }
  };
  await walk("");
  return out;
}

async function readBytes(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "EISDIR") return undefined;
    throw error;
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  const bytes = await readBytes(file);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString("utf8")) as T;
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
