/**
 * Content Credentials on a recording's images (docs/decisions/0016): a `credentials-request`
 * from the index — sent once the recording's SHA-256 and the thumbnail result are both on the
 * record — names the thumbnail stage's files by digest and the original by SHA-256. Each image
 * (poster, thumbnails, sprite sheets) is read back, checked against the digest the thumbnail
 * stage recorded, and signed with a C2PA manifest naming that original as its ingredient and
 * ffmpeg's runs as the action; the WebVTT track is copied unchanged (it names the sheets by file
 * name, and the signed sheets keep their names). The signed set goes to the order's own folder
 * (`<thumbnail folder>c2pa-<request>/`), beside — never over — the unsigned files, and the
 * outcome is a `credentials-result` claim on stage-results (only the core app, which holds the
 * signing key, may send there).
 *
 * Idempotent without overwriting: every file is created only where no blob is
 * (If-None-Match: *). Signing is not deterministic (each manifest has its own instance id), so
 * a redelivered or duplicate run finds the first run's files and adopts them when they are what
 * this order makes — an image whose credentials verify under the signer's own CA, name this
 * original and carry the file's name as their title; the track byte for byte — and reports their
 * digests. Anything else at a target is not ours to replace: OutputVerificationFailed.
 */
import { createHash } from "node:crypto";
import { credentialsResultMessageId } from "../contracts/message-ids";
import type { CredentialsRequestMessage, CredentialsResultMessage, MediaToolRun, Rendition } from "../contracts/messages";
import { CustodyError, toCustodyError } from "../errors";
import { verifyContentCredentials, type ContentCredentials, type RenditionAction, type RenditionImageKind } from "../media/content-credentials";
import { CELLS_PER_SHEET } from "../media/thumbnail-plan";
import { credentialsFolder } from "../contracts/rendition-path";
import { isCredentialImage } from "../evidence/content-credentials-state";
import { DERIVED_CONTAINER, type DerivedFileStore } from "../ports/blob-store";
import type { Publisher } from "../ports/publisher";
import { reportedFailure, stageAttempt } from "./report-stage";
import type { StageContext } from "./stage-context";
import { mapLimited } from "./map-limited";

/** The largest source file read into memory: thumbnails are kilobytes, sprite sheets well under a megabyte. */
const MAX_SOURCE_BYTES = 64 * 1024 * 1024;
/** What a signed image may add to its source: the manifest (~4.5 kB, more with many long runs) — bounded all the same. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Images signed at once: each is a Key Vault call in Azure (the decision's "four at a time"). */
const CONCURRENCY = 4;

export interface CredentialsStageDeps {
  blobs: DerivedFileStore;
  /** The signer with its chain (functions/services.ts: only where the signing key is). */
  contentCredentials: ContentCredentials;
}

/** The signed set, one rendition per source in the order's order, and the key that signed. */
export interface SignedThumbnailImages {
  renditions: Rendition[];
  keyId: string;
  /** How many files an earlier run of the same order had written (adopted, not written again). */
  adopted: number;
}

/** The work of one run (the caller reports it: {@link signAndReportCredentials}). */
export async function signThumbnailImages(request: CredentialsRequestMessage, deps: CredentialsStageDeps, context: StageContext): Promise<SignedThumbnailImages> {
  checkOrder(request);
  // Every source is read and checked before anything is written: a changed file leaves no partial set behind.
  const sources = await mapLimited(request.sources, CONCURRENCY, (source) => readSource(deps.blobs, source, MAX_SOURCE_BYTES, context));
  const results = await mapLimited(request.sources, CONCURRENCY, (source, i) => writeSigned(request, deps, source, sources[i], MAX_SOURCE_BYTES, context));
  const adopted = results.filter((r) => r.adopted).length;
  context.log.info("images signed with Content Credentials", { evidenceId: request.evidenceId, files: results.length, adopted, keyId: deps.contentCredentials.keyId });
  return { renditions: results.map((r) => r.rendition), keyId: deps.contentCredentials.keyId, adopted };
}

export interface ReportCredentialsOptions {
  publisher: Publisher;
  /** Queue the result goes to (ENTITIES.stageResults: the core app's claims). */
  resultsEntity: string;
}

/**
 * Runs the signing and reports it, as report-stage.ts does for a stage: success →
 * `credentials-result` succeeded; a deterministic failure → failed, final; a transient one →
 * failed, not final (the index schedules the next round; the input is completed all the same).
 * Only when the report cannot be sent does the error propagate (the host redelivers the order).
 */
export async function signAndReportCredentials(
  request: CredentialsRequestMessage,
  report: ReportCredentialsOptions,
  context: StageContext,
  work: () => Promise<SignedThumbnailImages>,
): Promise<CredentialsResultMessage> {
  const base = {
    schemaVersion: 1 as const,
    kind: "credentials-result" as const,
    evidenceId: request.evidenceId,
    requestId: request.requestId,
    attempt: stageAttempt(context, request.retry),
    startedAt: new Date().toISOString(),
    actor: context.actor,
    ...(request.reprocess === undefined ? {} : { reprocess: { ...request.reprocess } }),
    ...(request.retry === undefined ? {} : { retry: { ...request.retry } }),
  };
  let result: CredentialsResultMessage;
  try {
    const signed = await work();
    result = { ...base, outcome: "succeeded", final: true, finishedAt: new Date().toISOString(), renditions: signed.renditions, keyId: signed.keyId };
  } catch (error) {
    const fields = { evidenceId: request.evidenceId, requestId: request.requestId, attempt: base.attempt, round: request.retry?.round ?? 0 };
    const failure = reportedFailure(error, "content credentials", fields, context);
    result = { ...base, outcome: "failed", final: !failure.retryable, finishedAt: new Date().toISOString(), error: failure };
  }
  await report.publisher.publish(report.resultsEntity, {
    messageId: credentialsResultMessageId(result),
    body: result,
    subject: "credentials-result",
    correlationId: request.evidenceId,
    applicationProperties: { kind: "credentials-result", stage: "thumbnail", outcome: result.outcome },
    traceparent: context.traceparent,
  });
  return result;
}

/* ------------------------------------------------------------------------------------------ */

type Source = CredentialsRequestMessage["sources"][number];

/**
 * The order is a claim too: its files must be one folder of this recording's thumbnail stage in
 * the derived container, and its target that folder's `c2pa-<request>/` — nowhere else.
 */
function checkOrder(request: CredentialsRequestMessage): void {
  const refuse = (why: string): never => {
    throw new CustodyError("InvalidMessage", `The credentials request ${request.requestId.slice(0, 16)} for ${request.evidenceId} ${why}.`, { retryable: false });
  };
  const folder = request.sources[0].path.slice(0, request.sources[0].path.length - request.sources[0].name.length);
  // The thumbnail stage's own folder or one of its reprocess folders (contracts/rendition-path.ts) — what the signer's write condition in Azure allows too.
  if (!new RegExp(`^${request.evidenceId}/thumbnail/(reprocess-[A-Za-z0-9-]{1,64}/)?$`).test(folder)) refuse(`names ${request.sources[0].path}, not a file of the recording's thumbnail stage`);
  const names = new Set<string>();
  for (const source of request.sources) {
    if (source.container !== DERIVED_CONTAINER) refuse(`names ${source.container}/${source.path}: sources are in the ${DERIVED_CONTAINER} container`);
    if (source.path !== `${folder}${source.name}`) refuse(`names ${source.path}, not in the folder ${folder} of its other files`);
    if (names.has(source.name)) refuse(`names ${source.name} twice`);
    names.add(source.name);
    if (!isCredentialImage(source.kind) && source.kind !== "sprite-vtt") refuse(`names ${source.name} of kind ${source.kind}: only the thumbnail stage's images and track are signed or copied`);
  }
  const expected = credentialsFolder(folder, request.requestId);
  if (request.folder !== expected) refuse(`targets ${request.folder}, not ${expected}`);
}

/** A source's bytes, exactly those the thumbnail stage recorded (size and SHA-256); a file gone or changed is final. */
async function readSource(blobs: DerivedFileStore, source: Source, maxBytes: number, context: StageContext): Promise<Buffer> {
  if (source.size !== undefined && source.size > maxBytes) {
    throw new CustodyError("OutputVerificationFailed", `${source.name} is ${source.size} bytes, more than the ${maxBytes} an image to sign may have.`);
  }
  let bytes: Buffer;
  try {
    bytes = await blobs.readDerivedFile(source.path, { maxBytes, abortSignal: context.abortSignal });
  } catch (error) {
    const failure = toCustodyError(error);
    if (failure.code === "OriginalNotFound") {
      throw new CustodyError("OutputVerificationFailed", `${source.name} is no longer at ${DERIVED_CONTAINER}/${source.path}, where the thumbnail stage wrote it: nothing to sign.`, { cause: error });
    }
    throw failure;
  }
  const sha256 = sha256Of(bytes);
  if (sha256 !== source.sha256 || (source.size !== undefined && bytes.length !== source.size)) {
    throw new CustodyError(
      "OutputVerificationFailed",
      `${source.name} no longer matches the SHA-256 the thumbnail stage recorded (${source.sha256}, ${source.size ?? "?"} bytes): ${DERIVED_CONTAINER}/${source.path} now holds ${sha256}, ${bytes.length} bytes. Nothing was signed.`,
    );
  }
  return bytes;
}

/** Signs (or copies) one source to its target, or adopts what an earlier run of this order left there. */
async function writeSigned(
  request: CredentialsRequestMessage,
  deps: CredentialsStageDeps,
  source: Source,
  bytes: Buffer,
  maxSourceBytes: number,
  context: StageContext,
): Promise<{ rendition: Rendition; adopted: boolean }> {
  const kind = source.kind;
  const output = isCredentialImage(kind) ? await deps.contentCredentials.signJpeg(bytes, { title: source.name, original: ingredientOf(request), action: actionOf(request, source, kind) }) : bytes;
  const target = `${request.folder}${source.name}`;
  const created = await deps.blobs.createDerivedFile(target, output, {
    contentType: source.contentType,
    metadata: { evidenceid: request.evidenceId, stage: "thumbnail" },
    abortSignal: context.abortSignal,
  });
  if (created.created) return { rendition: renditionOf(source, target, created.blob.size, created.blob.sha256), adopted: false };

  const existing = await deps.blobs.readDerivedFile(target, { maxBytes: maxSourceBytes + MAX_MANIFEST_BYTES, abortSignal: context.abortSignal });
  const problem = isCredentialImage(kind) ? await notOurImage(existing, source, request, deps.contentCredentials) : existing.equals(bytes) ? undefined : "it is not a byte-for-byte copy of the track";
  if (problem !== undefined) {
    throw new CustodyError("OutputVerificationFailed", `${DERIVED_CONTAINER}/${target} already exists and is not what this order makes (${problem}); it is left as it is.`);
  }
  context.log.info("adopted the file an earlier run of this order wrote", { evidenceId: request.evidenceId, name: source.name });
  return { rendition: renditionOf(source, target, existing.length, sha256Of(existing)), adopted: true };
}

/** Why an image at the target is not one this order would have made; undefined when it is. */
async function notOurImage(image: Buffer, source: Source, request: CredentialsRequestMessage, credentials: ContentCredentials): Promise<string | undefined> {
  const verification = await verifyContentCredentials(image, { trustAnchorPems: [...credentials.trustAnchorPems], expectedOriginalSha256: request.originalSha256 });
  if (!verification.valid) return `its Content Credentials do not verify: ${verification.failures.map((f) => f.explanation ?? f.code).join("; ")}`;
  if (verification.title !== source.name) return `its credentials are for ${verification.title ?? "an untitled image"}`;
  return undefined;
}

function renditionOf(source: Source, path: string, size: number, sha256: string): Rendition {
  return {
    kind: source.kind,
    name: source.name,
    container: DERIVED_CONTAINER,
    path,
    contentType: source.contentType,
    size,
    sha256,
    ...(source.width === undefined ? {} : { width: source.width }),
    ...(source.height === undefined ? {} : { height: source.height }),
    ...(source.timeInSeconds === undefined ? {} : { timeInSeconds: source.timeInSeconds }),
  };
}

function ingredientOf(request: CredentialsRequestMessage) {
  const { original } = request;
  return {
    name: original.name,
    sha256: request.originalSha256,
    size: original.size,
    ...(original.versionId === undefined ? {} : { versionId: original.versionId }),
    etag: original.etag,
    ...(original.contentType === undefined ? {} : { contentType: original.contentType }),
  };
}

/**
 * What made the image. The runs are those whose purpose made that kind (thumbnail-stage.ts):
 * `thumbnails` runs write the poster and the thumbnails (and, over an MP4 excerpt, the sheets
 * too); a `sprite` run tiles the thumbnails' cells into sheets — so a sheet names both. The
 * probe and the excerpt carry no image-making arguments. Should none match, every run with
 * arguments is named rather than none.
 */
function actionOf(request: CredentialsRequestMessage, source: Source, kind: RenditionImageKind): RenditionAction {
  const purposes = kind === "sprite" ? ["thumbnails", "sprite"] : ["thumbnails"];
  const made = request.runs.filter((r) => purposes.includes(r.purpose));
  const runs: MediaToolRun[] = made.length > 0 ? made : request.runs.filter((r) => r.arguments.length > 0);
  const parameters: Record<string, number> = {};
  if (source.timeInSeconds !== undefined) parameters.timeInSeconds = source.timeInSeconds;
  if (source.width !== undefined) parameters.width = source.width;
  if (source.height !== undefined) parameters.height = source.height;
  return {
    kind,
    description: describeImage(request, source, kind),
    tool: { name: "ffmpeg", version: request.tools.ffmpeg },
    runs: runs.map((r) => r.arguments),
    ...(Object.keys(parameters).length === 0 ? {} : { parameters }),
  };
}

/** One sentence: "poster: frame at 12.5 s, 1280×720", "sprite sheet 2 of 6: 20 frames, 800×360". */
function describeImage(request: CredentialsRequestMessage, source: Source, kind: RenditionImageKind): string {
  const size = source.width !== undefined && source.height !== undefined ? `, ${source.width}×${source.height}` : "";
  if (kind !== "sprite") return `${kind}: frame at ${source.timeInSeconds === undefined ? "an unrecorded time" : `${source.timeInSeconds} s`}${size}`;
  const sheets = request.sources.filter((s) => s.kind === "sprite");
  const frames = request.sources.filter((s) => s.kind === "thumbnail").length;
  const k = sheets.indexOf(source);
  const onSheet = Math.max(0, Math.min(CELLS_PER_SHEET, frames - k * CELLS_PER_SHEET));
  return `sprite sheet${sheets.length > 1 ? ` ${k + 1} of ${sheets.length}` : ""}: ${onSheet} frame${onSheet === 1 ? "" : "s"} at cell size${size}`;
}

function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
