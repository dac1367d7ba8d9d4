/**
 * The evidence manifest: what Custody signs for one recording when it becomes ready (and again
 * after a reprocess — each issue is kept), so someone without access to Custody can check every
 * byte they were given. Built from the index record alone, purely: the same record, log head,
 * time and key give the same bytes (RFC 8785, shared/provenance/jcs.ts).
 *
 * It names the original (the exact version, its size, SHA-256 and the SHA-256 of each segment,
 * so a changed byte can be located), every rendition with its own SHA-256 and how it was made
 * (the tool versions and the exact arguments), earlier renditions a reprocess replaced, the
 * capture metadata, integrity findings, the head of the custody log (its digest and length, so
 * the log given with it can be checked against it), and the key that signs it. Only names,
 * arrays and fixed keys: no member is named after data, so nothing depends on how a map sorts.
 */
import { PIPELINE_STAGES, type CaptureMetadata, type PipelineStage, type Rendition, type StageProvenance } from "../contracts/messages";
import type { EvidenceRecord, IntegrityFinding, StageState } from "../evidence/record";
import { CustodyError } from "../errors";
import type { SigningAlgorithm } from "../ports/evidence-signer";
import { jcsBytes } from "./jcs";

export const MANIFEST_VERSION = 1;
export const MANIFEST_TYPE = "custody.evidence-manifest";

/** The custody log's head as the ledger gives it: the SHA-256 (hex) of its last entry's chained digest, and how many entries it has. */
export interface CustodyLogHead {
  sha256: string;
  entries: number;
}

export interface ManifestOriginal {
  account: string;
  container: string;
  name: string;
  /** The blob version the recording is (absent where storage keeps no versions: the local emulator). */
  versionId?: string;
  etag: string;
  url: string;
  contentType?: string;
  size: number;
  sha256: string;
  segmentSizeInBytes: number;
  segmentSha256: string[];
  /** What the device said the SHA-256 was, and whether it matched. */
  deviceSha256?: string;
  matchesDevice?: boolean;
}

export type ManifestRendition = Pick<
  Rendition,
  "kind" | "name" | "container" | "path" | "contentType" | "size" | "sha256" | "width" | "height" | "durationInSeconds" | "timeInSeconds" | "segmentCount"
>;

/** One stage's renditions and how they were made (the stage result the record shows). */
export interface ManifestStage {
  stage: PipelineStage;
  /** The stage-result message the renditions came from (its custody log entry has this key). */
  resultKey?: string;
  renditions: ManifestRendition[];
  /** Source version and SHA-256, tool versions, every run's exact arguments and times. */
  provenance?: StageProvenance;
  /** Earlier runs a reprocess replaced at the same paths: what was there before (oldest first). */
  superseded?: NonNullable<StageState["superseded"]>;
}

export interface EvidenceManifest {
  type: typeof MANIFEST_TYPE;
  manifestVersion: typeof MANIFEST_VERSION;
  evidenceId: string;
  /** When this manifest was issued (ISO 8601, UTC). */
  issuedAt: string;
  /** Who issued it: the deployment (the evidence events' CloudEvents source), when given. */
  issuer?: string;
  /** The key that signs it: in the signed bytes, so neither can be swapped without breaking the signature. */
  signer: { alg: SigningAlgorithm; kid: string };
  /** The record's status when issued (normally `ready`). */
  status: EvidenceRecord["status"];
  original: ManifestOriginal;
  capture: Partial<CaptureMetadata>;
  uploadedAt?: string;
  stages: ManifestStage[];
  integrityFindings: IntegrityFinding[];
  custodyLog: CustodyLogHead;
  /** The manifest this one re-issues (after a reprocess): the SHA-256 of its manifest.json and when it was issued, so the issues form a chain. */
  previousManifest?: PreviousManifest;
}

export interface PreviousManifest {
  sha256: string;
  issuedAt: string;
}

export interface BuildManifestOptions {
  custodyLog: CustodyLogHead;
  issuedAt: string;
  /** The id of the key that will sign it (EvidenceSigner.keyId). */
  keyId: string;
  issuer?: string;
  /** When re-issuing: the manifest this one follows. */
  previousManifest?: PreviousManifest;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function buildEvidenceManifest(record: EvidenceRecord, options: BuildManifestOptions): EvidenceManifest {
  const { original, hash } = record;
  if (original === undefined || hash === undefined) {
    throw incomplete(record.evidenceId, original === undefined ? "its original is not known yet" : "its original has not been hashed yet");
  }
  if (!SHA256_HEX.test(options.custodyLog.sha256) || !Number.isInteger(options.custodyLog.entries) || options.custodyLog.entries < 1) {
    throw incomplete(record.evidenceId, "the custody log head must be a SHA-256 (hex) and a count of at least one entry");
  }
  if (Number.isNaN(Date.parse(options.issuedAt))) throw incomplete(record.evidenceId, `issuedAt ${options.issuedAt} is not a time`);
  const previous = options.previousManifest;
  if (previous !== undefined && (!SHA256_HEX.test(previous.sha256) || !(Date.parse(previous.issuedAt) <= Date.parse(options.issuedAt)))) {
    throw incomplete(record.evidenceId, "the previous manifest must be a SHA-256 (hex) issued no later than this one");
  }
  const stages: ManifestStage[] = [];
  for (const stage of PIPELINE_STAGES) {
    const state = record.stages[stage];
    if (state === undefined || state.status !== "succeeded") continue;
    const renditions = (state.renditions ?? []).map(manifestRendition);
    if (renditions.length === 0 && state.superseded === undefined) continue;
    stages.push(
      withoutUndefined({
        stage,
        resultKey: state.resultKey,
        renditions,
        provenance: state.provenance,
        superseded: state.superseded,
      }),
    );
  }
  return withoutUndefined({
    type: MANIFEST_TYPE,
    manifestVersion: MANIFEST_VERSION,
    evidenceId: record.evidenceId,
    issuedAt: options.issuedAt,
    issuer: options.issuer,
    signer: { alg: "ES256" as const, kid: options.keyId },
    status: record.status,
    original: withoutUndefined({
      account: original.account,
      container: original.container,
      name: original.name,
      versionId: original.versionId,
      etag: original.etag,
      url: original.url,
      contentType: original.contentType,
      size: hash.size,
      sha256: hash.sha256,
      segmentSizeInBytes: hash.segmentSizeInBytes,
      segmentSha256: [...hash.segmentSha256],
      deviceSha256: hash.deviceSha256,
      matchesDevice: hash.matchesDevice,
    }),
    capture: { ...record.capture },
    uploadedAt: record.uploadedAt,
    stages,
    integrityFindings: record.integrityFindings.map((finding) => ({ ...finding })),
    custodyLog: { sha256: options.custodyLog.sha256, entries: options.custodyLog.entries },
    previousManifest: previous === undefined ? undefined : { sha256: previous.sha256, issuedAt: previous.issuedAt },
  });
}

/** The manifest's signed bytes: RFC 8785 canonical JSON, UTF-8. */
export function manifestBytes(manifest: EvidenceManifest): Uint8Array {
  return jcsBytes(manifest);
}

function manifestRendition(rendition: Rendition): ManifestRendition {
  const { kind, name, container, path, contentType, size, sha256, width, height, durationInSeconds, timeInSeconds, segmentCount } = rendition;
  return withoutUndefined({ kind, name, container, path, contentType, size, sha256, width, height, durationInSeconds, timeInSeconds, segmentCount });
}

/** A copy without the members whose value is undefined (so the object equals its parsed JSON). */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

function incomplete(evidenceId: string, why: string): CustodyError {
  // The caller issues manifests for ready records only: this is a bug in the caller, final.
  return new CustodyError("Internal", `No evidence manifest for ${evidenceId}: ${why}.`, { retryable: false });
}
