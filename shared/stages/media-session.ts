/**
 * What the two media stages (transcode, thumbnail) share: reading the exact original through
 * a short-lived read-only URL (ffmpeg streams it with range requests — no local copy, memory
 * independent of the recording's size), probing it, running ffmpeg with a time limit and the
 * host's cancellation, recording every run for provenance, checking the original did not
 * change underneath, uploading renditions to their deterministic paths (a reprocess run to its
 * own folder: contracts/rendition-path.ts), and turning failures
 * into stage failures that keep the probe and the runs.
 *
 * Secrets: the URL carries a SAS. It is never logged, and it is redacted from the argument
 * vectors kept for provenance and from error messages (ffmpeg's stderr names its input).
 *
 * Time limits (shared/media/run-limits.ts): a run is killed when ffmpeg's progress stalls for
 * the stall window, or at a generous ceiling from the expected work — never for being slow
 * while it moves. The message lock is renewed by the host meanwhile (host.json
 * `maxAutoLockRenewalDuration`, also honoured by the dev host).
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { buffer } from "node:stream/consumers";
import * as os from "node:os";
import * as path from "node:path";
import type { EvidenceReceivedMessage, MediaToolRun, PipelineStage, Rendition, RenditionKind, ReportedMediaProbe, StageProvenance } from "../contracts/messages";
import { CustodyError, toCustodyError } from "../errors";
import type { Logger } from "../logging";
import { boundedProbe } from "../media/report-bounds";
import type { MediaRunLimits } from "../media/run-limits";
import type { BlobRef, MediaBlobStore, WrittenBlob } from "../ports/blob-store";
import type { MediaInput, MediaProbe, MediaRunOptions, MediaRunResult, MediaTool, MediaToolVersions } from "../ports/media-tool";
import { SecretRedactor } from "../text/redaction";
import { StageFailure } from "./report-stage";
import type { StageContext } from "./stage-context";

/** What a session needs of the message it runs for: the recording, the exact original, and the reprocess request whose folder it writes to. */
export type MediaSessionInput = Pick<EvidenceReceivedMessage, "evidenceId" | "original" | "reprocess">;

export interface MediaStageDeps {
  blobs: MediaBlobStore;
  media: MediaTool;
}

/**
 * ffprobe reads headers (and, for moov-at-end files, seeks once): a minute is plenty for any
 * size, even on a busy machine. It prints no progress, so this is its only limit; its network
 * reads have their own (the adapter's `-rw_timeout`).
 */
export const PROBE_TIMEOUT_IN_MS = 60_000;
/** Extra validity of the read URL beyond the run's own limit. */
const URL_MARGIN_IN_MS = 5 * 60_000;

export class MediaSession {
  readonly ref: BlobRef;
  readonly log: Logger;
  readonly runs: MediaToolRun[] = [];
  readonly startedAt = new Date().toISOString();
  probe: ReportedMediaProbe | undefined;
  private versions: MediaToolVersions | undefined;
  private readonly secrets = new SecretRedactor();
  private workDir: string | undefined;

  constructor(
    readonly input: MediaSessionInput,
    readonly stage: PipelineStage,
    readonly deps: MediaStageDeps,
    readonly context: StageContext,
  ) {
    const { original } = input;
    this.ref = { container: original.container, name: original.name, versionId: original.versionId, etag: original.etag };
    this.log = context.log.child({ evidenceId: input.evidenceId, stage });
  }

  /** Tool versions, then the probe of the original (through a fresh read URL). */
  async open(): Promise<ReportedMediaProbe> {
    await this.loadVersions();
    const url = await this.readUrl(PROBE_TIMEOUT_IN_MS);
    const started = new Date().toISOString();
    // Bounded: the probe travels in the stage result, and its strings come from the upload.
    this.probe = boundedProbe(await this.deps.media.probe({ kind: "url", url }, { timeoutInMs: PROBE_TIMEOUT_IN_MS, abortSignal: this.context.abortSignal }));
    this.runs.push({ purpose: "probe", arguments: [], startedAt: started, finishedAt: new Date().toISOString() });
    this.log.info("original probed", {
      container: this.probe.container,
      durationInSeconds: this.probe.durationInSeconds,
      streams: this.probe.streams.length,
      primaryVideoIndex: this.probe.primaryVideoIndex,
      primaryAudioIndex: this.probe.primaryAudioIndex,
      dataTracks: this.probe.dataTracks,
    });
    return this.probe;
  }

  /** The tool versions (provenance), for a run that does not probe the original. */
  async loadVersions(): Promise<MediaToolVersions> {
    this.context.abortSignal?.throwIfAborted();
    this.versions ??= await this.deps.media.versions();
    return this.versions;
  }

  /**
   * Runs ffmpeg on the original with `args` (outputs), recorded as `purpose`. With `seeks`, the
   * original is opened once per entry, each with an input-side seek to that time (inputs 0, 1, …).
   */
  async run(purpose: string, args: string[], limits: MediaRunLimits, seeks?: readonly number[]): Promise<MediaRunResult> {
    const url = await this.readUrl(limits.ceilingInMs + URL_MARGIN_IN_MS);
    const inputs: MediaInput[] = seeks === undefined ? [{ kind: "url", url }] : seeks.map((seekInSeconds) => ({ kind: "url", url, seekInSeconds }));
    return this.runOn(purpose, inputs, args, limits);
  }

  /** Runs ffmpeg on one part of the original (input seeking through the read URL: only that part is read), recorded as `purpose`. */
  async runPart(purpose: string, args: string[], limits: MediaRunLimits, seek: { startInSeconds: number; durationInSeconds?: number }): Promise<MediaRunResult> {
    const url = await this.readUrl(limits.ceilingInMs + URL_MARGIN_IN_MS);
    return this.runOn(purpose, [{ kind: "url", url }], args, limits, seek);
  }

  /** Runs ffmpeg on local files this stage wrote (inputs 0, 1, … in order), recorded as `purpose`. */
  async runLocal(purpose: string, files: readonly string[], args: string[], limits: MediaRunLimits): Promise<MediaRunResult> {
    return this.runOn(
      purpose,
      files.map((file) => ({ kind: "file", path: file })),
      args,
      limits,
    );
  }

  private async runOn(purpose: string, inputs: MediaInput[], args: string[], limits: MediaRunLimits, seek?: MediaRunOptions["seek"]): Promise<MediaRunResult> {
    const started = new Date().toISOString();
    this.log.info(`${purpose} started`, { ceilingInMs: limits.ceilingInMs, stallTimeoutInMs: limits.stallTimeoutInMs, inputs: inputs.length });
    const result = await this.deps.media.run(inputs.length === 1 ? inputs[0] : inputs, args, {
      timeoutInMs: limits.ceilingInMs,
      stallTimeoutInMs: limits.stallTimeoutInMs,
      abortSignal: this.context.abortSignal,
      ...(seek === undefined ? {} : { seek }),
    });
    this.runs.push({ purpose, arguments: result.arguments.map((a) => this.redact(a)), startedAt: started, finishedAt: new Date().toISOString() });
    this.log.info(`${purpose} finished`, { durationInMs: result.durationInMs });
    return result;
  }

  /** The original's size in bytes (the exact version). */
  async originalSize(): Promise<number> {
    return (await this.deps.blobs.getProperties(this.ref)).size;
  }

  /** `count` bytes of the original from `offset` (a range read of the exact version). */
  async readOriginal(offset: number, count: number): Promise<Buffer> {
    const bytes = await buffer(await this.deps.blobs.openRead(this.ref, { offset, count, abortSignal: this.context.abortSignal }));
    if (bytes.length !== count) throw new CustodyError("OriginalChanged", `Read ${bytes.length} of ${count} bytes at ${offset} of ${this.ref.name}: the original is shorter than it was.`);
    return bytes;
  }

  /** Records work done here rather than by a tool (provenance): what, and the values it used. */
  record(purpose: string, details: string[], startedAt: string): void {
    this.runs.push({ purpose, arguments: details, startedAt, finishedAt: new Date().toISOString() });
  }

  /** Probes a local output file (verification). */
  async probeFile(file: string, purpose = "verify"): Promise<MediaProbe> {
    const started = new Date().toISOString();
    const probe = await this.deps.media.probe({ kind: "file", path: file }, { timeoutInMs: PROBE_TIMEOUT_IN_MS, abortSignal: this.context.abortSignal });
    this.runs.push({ purpose, arguments: [], startedAt: started, finishedAt: new Date().toISOString() });
    return probe;
  }

  /**
   * The read URL cannot carry If-Match: where the store keeps no versions (Azurite) the blob
   * could have been overwritten while ffmpeg read it. Checking the ETag after the run turns
   * that into OriginalChanged instead of renditions of other bytes. (In Azure the URL names
   * the version id, which is immutable.)
   */
  async checkOriginalUnchanged(): Promise<void> {
    await this.deps.blobs.getProperties(this.ref);
  }

  async tempDir(): Promise<string> {
    this.workDir ??= await mkdtemp(path.join(os.tmpdir(), `custody-${this.stage}-`));
    return this.workDir;
  }

  async cleanup(): Promise<void> {
    if (this.workDir !== undefined) await rm(this.workDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Uploads one local file as a rendition of this stage. */
  async upload(kind: RenditionKind, file: string, name: string, contentType: string, extra: Partial<Rendition> = {}): Promise<Rendition> {
    const written = await this.write(file, name, contentType);
    return { kind, name, container: written.container, path: written.name, contentType, size: written.size, sha256: written.sha256, ...extra };
  }

  /** Uploads one local file to this run's folder of the stage (a rendition, or a part of one such as a segment). */
  async write(file: string, name: string, contentType: string): Promise<WrittenBlob> {
    return this.deps.blobs.writeDerived(
      { evidenceId: this.input.evidenceId, stage: this.stage, name, contentType, ...(this.input.reprocess === undefined ? {} : { reprocessId: this.input.reprocess.id }) },
      { kind: "file", path: file },
      { abortSignal: this.context.abortSignal },
    );
  }

  /** The tool versions read by open() or loadVersions(). */
  tools(): MediaToolVersions {
    return { ffmpeg: this.versions?.ffmpeg ?? "unknown", ffprobe: this.versions?.ffprobe ?? "unknown" };
  }

  provenance(): StageProvenance {
    const { original } = this.input;
    const source: StageProvenance["source"] = { container: original.container, name: original.name, etag: original.etag };
    if (original.versionId !== undefined) source.versionId = original.versionId;
    return {
      source,
      tools: this.tools(),
      runs: this.runs.map((r) => ({ ...r, arguments: [...r.arguments] })),
      startedAt: this.startedAt,
      finishedAt: new Date().toISOString(),
    };
  }

  /**
   * Any failure as the stage reports it: classified, SAS redacted, carrying the probe and the
   * runs so far. An abort (host shutdown, lock lost) is transient: the message is retried.
   */
  failure(error: unknown): StageFailure {
    let classified = toCustodyError(error);
    if (this.context.abortSignal?.aborted && !(classified.code === "OriginalChanged" || classified.code === "OriginalNotFound")) {
      classified = new CustodyError("Transient", `${this.stage} of ${this.input.evidenceId} was aborted (host shutting down or lock lost); the message will be retried.`, { cause: error });
    }
    const message = this.redact(classified.message);
    const redacted = message === classified.message ? classified : new CustodyError(classified.code, message, { cause: classified.cause, retryable: classified.retryable });
    return new StageFailure(redacted, { media: this.probe, provenance: this.versions === undefined ? undefined : this.provenance() });
  }

  /** Size of a local file, or undefined when it was not written. */
  async sizeOf(file: string): Promise<number | undefined> {
    try {
      return (await stat(file)).size;
    } catch {
      return undefined;
    }
  }

  private async readUrl(validForInMs: number): Promise<string> {
    return this.secrets.rememberUrl(await this.deps.blobs.readUrl(this.ref, validForInMs));
  }

  /** Removes every SAS handed out (and any `sig=` left in other spellings) from `text`. */
  redact(text: string): string {
    return this.secrets.redact(text);
  }
}
