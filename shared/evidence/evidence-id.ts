/**
 * The evidence id: the one identifier every stage, message id, blob path and index document of a
 * recording is derived from. It must be a pure function of *which bytes* the recording is — the
 * original's identity — so that every redelivery of the same BlobCreated event, every retry of
 * ingest and every host that runs it arrive at the same id (DESIGN.md §1: duplicates are made
 * harmless by deterministic ids, not by remembering what was seen).
 *
 * Identity = storage account + container + blob name + the exact version of the blob:
 *
 * - **Version id, where the store has one (Azure with blob versioning on).** A version id names one
 *   immutable version for as long as it exists: an overwrite makes a *new* version and leaves the
 *   old one readable under its own id (and, with version-level WORM on `originals`, undeletable).
 *   It is the strongest name for "these bytes" the service offers.
 * - **ETag otherwise (Azurite: no versioning, see LOCAL-STACK.md).** The ETag identifies the
 *   current state of the blob, and reads conditioned on it (`If-Match`) fail once the blob has
 *   been overwritten — good enough to tell versions apart, but weaker: the state it names is gone
 *   after an overwrite and metadata writes change it too. It is what we have without versioning.
 *
 * A deployment uses one or the other consistently (the adapter reports a version id whenever the
 * store has one), so one recording never gets two ids.
 */
import { createHash } from "node:crypto";

export interface OriginalIdentity {
  /** Storage account name. Azure account names are lower-case only, so case is normalised. */
  account: string;
  /** Container name. Azure container names are lower-case only, so case is normalised. */
  container: string;
  /** Blob name exactly as stored (not URL-encoded). Case-sensitive in Azure: kept as is. */
  name: string;
  /** Blob version id, when the store keeps versions. Wins over `etag` when present. */
  versionId?: string;
  /** ETag of the version (quoted or not: `"0x8D…"` and `0x8D…` are the same version). */
  etag: string;
}

/** `ev-` followed by 32 lower-case hex digits (128 bits of SHA-256). */
export const EVIDENCE_ID_PATTERN = /^ev-[0-9a-f]{32}$/;

/**
 * The encoding's version tag. Changing the encoding would change every id; a new tag makes such a
 * change explicit instead of silently re-identifying existing evidence.
 */
const ENCODING_TAG = "custody/evidence-id/v1";

export function deriveEvidenceId(original: OriginalIdentity): string {
  const versionId = original.versionId === undefined || original.versionId === "" ? undefined : original.versionId;
  // A JSON array of strings is an unambiguous encoding: every element is delimited and escaped,
  // so "a/b" + "c" and "a" + "b/c" (or a name containing the separator) can never collide the way
  // plain concatenation would. The kind marker keeps a version id and an ETag that happen to be
  // spelled alike from naming the same thing.
  const canonical = JSON.stringify([
    ENCODING_TAG,
    original.account.toLowerCase(),
    original.container.toLowerCase(),
    original.name,
    versionId === undefined ? "etag" : "version",
    versionId === undefined ? normalizeEtag(original.etag) : versionId,
  ]);
  const digest = createHash("sha256").update(canonical, "utf8").digest("hex");
  return `ev-${digest.slice(0, 32)}`;
}

/**
 * The ETag without its HTTP quotes. Event Grid has been seen sending both `"\"0x8D…\""` and
 * `"0x8D…"` for the same blob, and the SDK returns the quoted form: the version is the same.
 */
export function normalizeEtag(etag: string): string {
  const trimmed = etag.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
}

/** The ETag in the quoted form HTTP conditional headers use (RFC 9110 entity-tag). */
export function quotedEtag(etag: string): string {
  return `"${normalizeEtag(etag)}"`;
}
