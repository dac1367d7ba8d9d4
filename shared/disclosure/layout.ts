/**
 * The disclosure package: one folder per recording, named by its evidence id, that someone
 * without access to Custody can check byte by byte (docs/evidence-integrity.md):
 *
 *   <evidenceId>/original/<file name>                the original's bytes, exactly
 *   <evidenceId>/renditions/<stage>/<file name>      each current rendition
 *   <evidenceId>/manifest/manifest.json|.sig|.jws    the latest issue of the signed manifest
 *   <evidenceId>/manifest/issues/<n>/…               earlier issues (after a reprocess)
 *   <evidenceId>/custody-log.jsonl                   the custody ledger's lines, as stored
 *   <evidenceId>/keys/jwks.json, keys/<kid>.pem      the signer's published keys
 *   <evidenceId>/keys/content-credentials-ca-<id>.pem each published Content Credentials CA
 *                                                    certificate (id: first 16 hex of its DER's
 *                                                    SHA-256); none when the deployment has none
 *   <evidenceId>/SHA256SUMS                          `sha256sum -c` over every file above
 *   <evidenceId>/VERIFY.txt                          how to check it all with sha256sum and openssl
 *
 * Where each file goes is a function of the signed manifest alone, so the verifier finds the
 * renditions the manifest names without trusting anything else the package says.
 */
import type { ManifestRendition, ManifestStage } from "../provenance/manifest";
import { isTrustAnchorFileName, trustAnchorFileName, type TrustAnchor } from "../provenance/trust-anchors";

export const ORIGINAL_FOLDER = "original";
export const RENDITIONS_FOLDER = "renditions";
export const ISSUES_FOLDER = "manifest/issues";
export const MANIFEST_JSON = "manifest/manifest.json";
export const MANIFEST_SIG = "manifest/manifest.sig";
export const MANIFEST_JWS = "manifest/manifest.jws";
export const CUSTODY_LOG = "custody-log.jsonl";
export const KEYS_FOLDER = "keys";
export const JWKS_FILE = "keys/jwks.json";
export const SUMS_FILE = "SHA256SUMS";
export const GUIDE_FILE = "VERIFY.txt";

/** A name that is safe as one path segment on any file system and in a shell command: letters, digits, `.`, `_`, `-`. */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[.-]+/, "_");
  return cleaned === "" ? "_" : cleaned;
}

/** The original's place in the package: its blob name's last segment. */
export function originalPath(blobName: string): string {
  return `${ORIGINAL_FOLDER}/${safeFileName(blobName.split("/").pop() ?? blobName)}`;
}

/** A rendition's place: by stage and file name (a manifest names one current rendition per name and stage). */
export function renditionPath(stage: ManifestStage["stage"], rendition: Pick<ManifestRendition, "name">): string {
  return `${RENDITIONS_FOLDER}/${stage}/${safeFileName(rendition.name)}`;
}

/** The key's PEM file (key ids are RFC 7638 thumbprints, base64url; anything else is made safe). */
export function keyPemPath(kid: string): string {
  return `${KEYS_FOLDER}/${safeFileName(kid)}.pem`;
}

/** A Content Credentials trust anchor's place: beside the keys, named by its digest. */
export function trustAnchorPath(anchor: Pick<TrustAnchor, "id">): string {
  return `${KEYS_FOLDER}/${trustAnchorFileName(anchor)}`;
}

/** Whether a file in the package is a trust anchor: `keys/content-credentials-ca*.pem`. */
export function isTrustAnchorPath(file: string): boolean {
  const [folder, name, ...deeper] = file.split("/");
  return folder === KEYS_FOLDER && name !== undefined && deeper.length === 0 && isTrustAnchorFileName(name);
}

/** Where an earlier issue's files go. */
export function issueFolder(sequence: number): string {
  return `${ISSUES_FOLDER}/${sequence}`;
}
