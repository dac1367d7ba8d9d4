/**
 * Writes one recording's disclosure folder (layout.ts) from what the deployment holds: the
 * original's and renditions' bytes (streamed, hashed as they are written), the manifest's
 * issues exactly as stored, the custody ledger's lines exactly as stored, the signer's
 * published keys and the Content Credentials CA certificates it publishes. The writer checks
 * nothing it cannot vouch for — verifying is the verifier's job — but it refuses to write a
 * package that would not verify on arrival: bytes that differ from the manifest, or a manifest
 * not signed by a published key, are an error here.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CustodyError } from "../errors";
import { digestingTap } from "../streams/digesting-tap";
import type { PublishedSigningKey } from "../ports/evidence-signer";
import type { SignedManifestFiles } from "../ports/manifest-store";
import { buildJwks, publicKeyPem } from "../provenance/jwks";
import type { EvidenceManifest } from "../provenance/manifest";
import { verifyEvidenceManifest } from "../provenance/manifest-signature";
import { parseTrustAnchor, type TrustAnchor } from "../provenance/trust-anchors";
import { CUSTODY_LOG, GUIDE_FILE, issueFolder, JWKS_FILE, keyPemPath, MANIFEST_JSON, MANIFEST_JWS, MANIFEST_SIG, originalPath, renditionPath, SUMS_FILE, trustAnchorPath } from "./layout";
import { formatSums, type SumsEntry } from "./sha256sums";
import { verifyGuide } from "./verify-guide";

export interface DisclosureSource {
  evidenceId: string;
  /** Every issue of the manifest, oldest first, with its sequence number (the last is the one disclosed as current). */
  manifests: Array<{ sequence: number; files: SignedManifestFiles }>;
  /** The custody ledger's lines exactly as stored (without newlines). */
  ledgerLines: readonly string[];
  /** Every key the deployment publishes (the current and the retired ones). */
  publishedKeys: readonly PublishedSigningKey[];
  /** Every CA certificate (PEM) the deployment publishes as its Content Credentials trust anchor; none: the package carries none. */
  trustAnchorPems?: readonly string[];
  /** The original's bytes (the exact version the manifest names). */
  openOriginal(): Promise<Readable>;
  /** A rendition's bytes, by its place in the derived container. */
  openRendition(rendition: { container?: string; path: string }): Promise<Readable>;
}

export interface WrittenPackage {
  evidenceId: string;
  /** The recording's folder. */
  folder: string;
  files: SumsEntry[];
  issues: number;
  /** Bytes written (originals and renditions included). */
  bytes: number;
}

/** Writes `<outDir>/<evidenceId>/`; refuses an existing non-empty folder (a package is never written over). */
export async function writeDisclosurePackage(outDir: string, source: DisclosureSource): Promise<WrittenPackage> {
  const latest = source.manifests[source.manifests.length - 1];
  if (latest === undefined) throw refused(source.evidenceId, "it has no issued evidence manifest: a package without a signed manifest proves nothing");
  const jwks = buildJwks(source.publishedKeys);
  const manifests = source.manifests.map(({ sequence, files }) => {
    const checked = verifyEvidenceManifest({ manifest: files.manifestJson, signature: files.signature, jws: files.jws, keys: jwks });
    if (!checked.valid || checked.manifest === undefined)
      throw refused(source.evidenceId, `issue ${sequence} of its manifest does not verify with the published keys: ${checked.problems.map((p) => p.message).join(" ")}`);
    return { sequence, files, manifest: checked.manifest };
  });
  const manifest = manifests[manifests.length - 1].manifest;
  if (manifest.evidenceId !== source.evidenceId) throw refused(source.evidenceId, `its latest manifest is for ${manifest.evidenceId}`);
  const anchors = new Map<string, TrustAnchor>();
  for (const [index, pem] of (source.trustAnchorPems ?? []).entries()) {
    let anchor: TrustAnchor;
    try {
      anchor = parseTrustAnchor(pem, `published trust anchor ${index + 1}`);
    } catch (error) {
      throw refused(source.evidenceId, (error as Error).message.replace(/\.$/, ""));
    }
    anchors.set(anchor.sha256, anchor);
  }

  const folder = path.join(outDir, source.evidenceId);
  await mkdir(folder, { recursive: true });
  if ((await readdir(folder)).length > 0) throw new CustodyError("NotDisclosable", `${folder} already exists and is not empty: a disclosure package is written once, into a new folder.`);
  const files: SumsEntry[] = [];
  let bytes = 0;
  try {
    const put = async (relative: string, data: string | Uint8Array): Promise<void> => {
      await mkdir(path.dirname(path.join(folder, relative)), { recursive: true });
      await writeFile(path.join(folder, relative), data);
      files.push({ path: relative, sha256: createHash("sha256").update(data).digest("hex") });
      bytes += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
    };
    const stream = async (relative: string, input: Readable, expected: { sha256: string; size: number; what: string }): Promise<void> => {
      await mkdir(path.dirname(path.join(folder, relative)), { recursive: true });
      const digesting = digestingTap();
      await pipeline(input, digesting.tap, createWriteStream(path.join(folder, relative), { flags: "wx" }));
      const sha256 = digesting.sha256();
      const size = digesting.size();
      if (sha256 !== expected.sha256 || size !== expected.size) {
        throw refused(
          source.evidenceId,
          `${expected.what} read from storage is not what the manifest names (SHA-256 ${sha256}, ${size} bytes; the manifest: ${expected.sha256}, ${expected.size} bytes) — run custody verify on it`,
        );
      }
      files.push({ path: relative, sha256 });
      bytes += size;
    };

    const original = originalPath(manifest.original.name);
    await stream(original, await source.openOriginal(), { sha256: manifest.original.sha256, size: manifest.original.size, what: "the original" });
    const renditions: Array<{ file: string; manifestPath: string }> = [];
    for (const stage of manifest.stages) {
      for (const rendition of stage.renditions) {
        const file = renditionPath(stage.stage, rendition);
        await stream(file, await source.openRendition(rendition), { sha256: rendition.sha256, size: rendition.size, what: `rendition ${rendition.path}` });
        renditions.push({ file, manifestPath: rendition.path });
      }
    }
    await put(MANIFEST_JSON, latest.files.manifestJson);
    await put(MANIFEST_SIG, latest.files.signature);
    await put(MANIFEST_JWS, latest.files.jws);
    for (const issue of manifests.slice(0, -1)) {
      await put(`${issueFolder(issue.sequence)}/manifest.json`, issue.files.manifestJson);
      await put(`${issueFolder(issue.sequence)}/manifest.sig`, issue.files.signature);
      await put(`${issueFolder(issue.sequence)}/manifest.jws`, issue.files.jws);
    }
    await put(CUSTODY_LOG, source.ledgerLines.map((line) => `${line}\n`).join(""));
    await put(JWKS_FILE, `${JSON.stringify(jwks, null, 2)}\n`);
    for (const key of jwks.keys) await put(keyPemPath(key.kid), publicKeyPem(key));
    for (const anchor of anchors.values()) await put(trustAnchorPath(anchor), anchor.pem);
    await put(
      GUIDE_FILE,
      verifyGuide({
        evidenceId: source.evidenceId,
        keyId: manifest.signer.kid,
        keyPemPath: keyPemPath(manifest.signer.kid),
        originalPath: original,
        segmentSizeInBytes: manifest.original.segmentSizeInBytes,
        segmentCount: manifest.original.segmentSha256.length,
        renditions,
        earlierIssues: manifests.slice(0, -1).map((issue) => ({ sequence: issue.sequence, keyPemPath: keyPemPath(issue.manifest.signer.kid) })),
        trustAnchorPaths: [...anchors.values()].map(trustAnchorPath),
      }),
    );
    await writeFile(path.join(folder, SUMS_FILE), formatSums(files));
  } catch (error) {
    // Half a package must not be mistaken for one.
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
  return { evidenceId: source.evidenceId, folder, files, issues: manifests.length, bytes };
}

/** The issue's manifest as parsed (for callers that need its renditions before writing). */
export function parseManifestJson(bytes: Uint8Array): EvidenceManifest {
  try {
    const manifest = JSON.parse(Buffer.from(bytes).toString("utf8")) as EvidenceManifest;
    if (typeof manifest.original?.name !== "string") throw new Error("it names no original");
    return manifest;
  } catch (error) {
    throw new CustodyError("NotDisclosable", `A stored manifest is not an evidence manifest: ${(error as Error).message}.`, { retryable: false, cause: error });
  }
}

function refused(evidenceId: string, why: string): CustodyError {
  return new CustodyError("NotDisclosable", `No disclosure package for ${evidenceId}: ${why}.`, { retryable: false });
}
