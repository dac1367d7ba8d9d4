/**
 * The join of a segment-parallel transcode without the proxy on local disk: the segments are
 * read where they are stored (Blob Storage, through short-lived read URLs named in two concat
 * scripts), joined by stream copy into ONE fragmented MP4 (moov first) that ffmpeg streams
 * straight into Blob Storage — the download/disclosure MP4 and, addressed by byte ranges, the
 * HLS media — while its boxes are indexed on the way (shared/media/fmp4-index.ts). From the
 * index: the checks and the HLS playlist. Local disk per run: the two scripts, a socket, and
 * the head of the output (moov + first fragment) kept for ffprobe — kilobytes to a few MB
 * whatever the length (measured: docs/decisions/0007). Memory: the upload's blocks in flight
 * (4 × 4 MiB) and the largest moof.
 *
 * Order, so nothing unverified is ever published (named in a result) and nothing unverified
 * is even committed:
 * 1. every segment file exists, with its recorded SHA-256 (streamed, hashed, not stored) —
 *    pinned to the ETag whose bytes were hashed; a missing or altered one fails naming it;
 * 2. the join runs; its output flows through the indexer into the upload of `proxy.<ext>`;
 * 3. when ffmpeg has exited 0 and the last byte is in, and before the upload commits: the
 *    index checks (tracks, frames = the segments' sum, per-track timestamps continuous to the
 *    tick, durations within one frame of the source's, A/V end drift within one frame) and
 *    ffprobe of the head (codecs, size, pixel format, rotation), and the segments' ETags again
 *    (none replaced while ffmpeg read them). A failure aborts the upload: no blob is committed;
 * 4. the playlist is written (from the index) — then both renditions are returned.
 *
 * Secrets: the scripts hold SAS URLs for the run's duration (private folder, mode 0600,
 * deleted in `finally`); URLs are redacted from the runs and every error message.
 */
import { createHash } from "node:crypto";
import { createWriteStream, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { MediaToolRun, Rendition, RenditionKind } from "../contracts/messages";
import { CustodyError, toCustodyError } from "../errors";
import { silentLogger, type Logger } from "../logging";
import { Fmp4Indexer, trackTotals, type Fmp4Index } from "../media/fmp4-index";
import { hlsPlaylist } from "../media/hls-playlist";
import { DEFAULT_FRAGMENT_SECONDS, fragmentedJoinArguments, joinLists, type EncodedSegment, type SegmentPlan } from "../media/segment-plan";
import { fragmentedJoinProblems, type JoinExpectation } from "../media/verify-join";
import { verificationFailure } from "../media/verify-output";
import type { BlobRef, MediaBlobStore, WrittenBlob } from "../ports/blob-store";
import type { MediaProbe, MediaRunResult, SegmentMediaTool } from "../ports/media-tool";
import { SecretRedactor } from "../text/redaction";
import { mapLimited } from "./map-limited";

/** One stored file of a segment, as the segment run reported it. */
export interface JoinSegmentFile {
  blob: BlobRef;
  /** SHA-256 of the bytes the segment run uploaded (lower-case hex). */
  sha256: string;
}

/** One segment as the join needs it (from the segment run's result). */
export interface JoinSegment {
  index: number;
  video?: JoinSegmentFile;
  audio?: JoinSegmentFile;
  audioPreRollInSeconds: number;
  /** Undefined: to the end of the recording. */
  lengthInSeconds?: number;
  /** Video frames the segment run wrote (summed: the proxy must have exactly these). */
  frames?: number;
}

export interface JoinSegmentsRequest {
  plan: SegmentPlan;
  segments: JoinSegment[];
  /** What the source promises (the planner's probe); `segmentFrames` is summed from the segments here. */
  expected: Omit<JoinExpectation, "segmentFrames">;
  /** Where the outputs go: derived/<evidenceId>/transcode/[reprocess-<id>/]. */
  target: { evidenceId: string; reprocessId?: string };
}

export interface JoinSegmentsDeps {
  blobs: MediaBlobStore;
  media: SegmentMediaTool;
}

export interface JoinSegmentsOptions {
  abortSignal?: AbortSignal;
  log?: Logger;
  /** ffmpeg's stall window (the adapter's default when undefined). */
  stallTimeoutInMs?: number;
  /** Fragment length (video: at least this, cut at the next keyframe); default {@link DEFAULT_FRAGMENT_SECONDS}. */
  fragmentSeconds?: number;
  /** Segment files hashed at once before the join; default 4. */
  digestConcurrency?: number;
  /** Parent of the run's private folder; default the OS temporary folder. */
  tempDir?: string;
  /** Called with each media run as it is recorded (SAS redacted): provenance also when the join then fails. */
  onRun?: (run: MediaToolRun) => void;
}

export interface SegmentJoinFigures {
  segments: number;
  /** Bytes of the segment files read (once to hash them, once by ffmpeg). */
  segmentBytes: number;
  proxyBytes: number;
  playlistBytes: number;
  fragments: number;
  /** Largest size of the run's private folder, sampled while it ran. */
  peakTempDiskBytes: number;
  digestInMs: number;
  joinInMs: number;
  totalInMs: number;
}

export interface SegmentJoinResult {
  /** `proxy.mp4` (kind `proxy`) or `proxy.m4a` (`audio-proxy`), then `proxy.m3u8` (`playlist`). */
  renditions: Rendition[];
  /** The media runs made, SAS redacted (provenance). */
  runs: MediaToolRun[];
  figures: SegmentJoinFigures;
}

/** Bytes of the output's head kept for ffprobe at most (moov + first fragment). */
const HEAD_LIMIT_BYTES = 32 * 1024 * 1024;
const PROBE_TIMEOUT_IN_MS = 60_000;
/** Read URLs stay valid this much beyond the join's ceiling. */
const URL_MARGIN_IN_MS = 60_000;

/**
 * The join's ceiling: stream copy moves at disk/network speed (measured ~15 s per GB), so a
 * tenth of the recording's length, at least 15 minutes — far above the work, far below the
 * decoding runs' (the stall window is what catches a hung read).
 */
export function joinCeilingInMs(durationInSeconds: number | undefined): number {
  if (durationInSeconds === undefined || !(durationInSeconds > 0)) return 2 * 3600_000;
  return Math.max(15 * 60_000, Math.round(durationInSeconds * 100));
}

/**
 * Joins the segments into `proxy.mp4` (or `proxy.m4a`) and `proxy.m3u8` in
 * derived/<evidenceId>/transcode/[reprocess-<id>/], verified before either is committed.
 * Errors: a missing or altered segment, or a check that fails, is CustodyError
 * OutputVerificationFailed (final) naming it; storage and network trouble keeps its transient
 * classification (the message is retried); an abort is Transient.
 */
export async function joinSegmentsToBlob(deps: JoinSegmentsDeps, request: JoinSegmentsRequest, options: JoinSegmentsOptions = {}): Promise<SegmentJoinResult> {
  const started = Date.now();
  const log = options.log ?? silentLogger;
  const secrets = new SecretRedactor();
  const runs: MediaToolRun[] = [];
  const record = (run: MediaToolRun) => {
    runs.push(run);
    options.onRun?.(run);
  };
  const { plan, target } = request;
  const audioOnly = plan.videoIndex === undefined;
  const proxyName = audioOnly ? "proxy.m4a" : "proxy.mp4";
  const work = await fs.mkdtemp(path.join(options.tempDir ?? os.tmpdir(), "custody-join-"));
  const disk = new DiskSampler(work);
  try {
    options.abortSignal?.throwIfAborted();
    // 1. Every file there, with the bytes the segment runs recorded.
    const digestStarted = Date.now();
    const files = segmentFiles(request);
    const pinned = await mapLimited(files, options.digestConcurrency ?? 4, (file) => checkSegmentFile(deps.blobs, file, options.abortSignal));
    const segmentBytes = pinned.reduce((sum, p) => sum + p.size, 0);
    const digestInMs = Date.now() - digestStarted;
    log.info("segment files verified", { files: pinned.length, bytes: segmentBytes, durationInMs: digestInMs });

    // 2. The scripts, naming read URLs valid for the run.
    const ceilingInMs = joinCeilingInMs(plan.durationInSeconds);
    const urls = new Map<string, string>();
    for (const file of pinned) urls.set(file.key, secrets.rememberUrl(await deps.blobs.readUrl(file.ref, ceilingInMs + URL_MARGIN_IN_MS)));
    const encoded: EncodedSegment[] = request.segments.map((s) => ({
      index: s.index,
      videoFile: s.video === undefined ? undefined : urls.get(fileKey(s.index, "video")),
      audioFile: s.audio === undefined ? undefined : urls.get(fileKey(s.index, "audio")),
      audioPreRollInSeconds: s.audioPreRollInSeconds,
      lengthInSeconds: s.lengthInSeconds,
    }));
    const lists = joinLists(plan, encoded, { names: "url" });
    const inputs = [];
    for (const [kind, text] of [
      ["video", lists.video],
      ["audio", lists.audio],
    ] as const) {
      if (text === undefined) continue;
      const file = path.join(work, `${kind}.ffconcat`);
      await fs.writeFile(file, text, { mode: 0o600 });
      inputs.push({ kind: "concat-urls" as const, path: file });
    }

    // 3. The join, streamed through the indexer into the upload; checked before the upload commits.
    const expected: JoinExpectation = { ...request.expected, segmentFrames: audioOnly ? undefined : request.segments.reduce((sum, s) => sum + (s.frames ?? 0), 0) };
    if (!audioOnly && request.segments.some((s) => s.frames === undefined)) expected.segmentFrames = undefined;
    const joinStarted = new Date().toISOString();
    const headFile = path.join(work, "head.mp4");
    let index: Fmp4Index | undefined;
    let headProbe: MediaProbe | undefined;
    const { output: proxy } = await deps.media
      .joinToStream(
        inputs,
        fragmentedJoinArguments(plan, { fragmentSeconds: options.fragmentSeconds ?? DEFAULT_FRAGMENT_SECONDS }),
        async (output, finished) => {
          const tap = new IndexingTap(headFile, async (built) => {
            index = built;
            record(joinRun(await finished, joinStarted, secrets)); // ffmpeg exited 0: the output is complete
            const probeStarted = new Date().toISOString();
            const head = await deps.media.probe({ kind: "file", path: headFile }, { timeoutInMs: PROBE_TIMEOUT_IN_MS, abortSignal: options.abortSignal });
            headProbe = head;
            record({ purpose: "verify-join", arguments: [], startedAt: probeStarted, finishedAt: new Date().toISOString() });
            const problems = fragmentedJoinProblems(head, built, plan, expected);
            if (problems.length > 0) throw verificationFailure(`joined ${proxyName}`, problems);
            await unchanged(deps.blobs, pinned);
          });
          const [, written] = await Promise.all([
            pipeline(output, tap),
            deps.blobs.writeDerived(derivedTarget(target, proxyName, audioOnly ? "audio/mp4" : "video/mp4"), { kind: "stream", stream: tap }, { abortSignal: options.abortSignal }),
          ]);
          return written;
        },
        { timeoutInMs: ceilingInMs, stallTimeoutInMs: options.stallTimeoutInMs, abortSignal: options.abortSignal, workDir: work },
      )
      .catch((error: unknown) => {
        throw redactedError(error, secrets);
      });
    if (index === undefined) throw new CustodyError("Internal", "the join finished without indexing its output", { retryable: false });
    if (proxy.size !== index.totalBytes) throw verificationFailure(`joined ${proxyName}`, [`${proxy.size} bytes were uploaded but ${index.totalBytes} indexed`]);
    const joinInMs = Date.now() - Date.parse(joinStarted);
    log.info("segments joined", { bytes: proxy.size, fragments: index.fragments.length, durationInMs: joinInMs });

    // 4. The playlist over the same file.
    const playlistText = hlsPlaylist(index, { mediaName: proxyName });
    const playlist = await deps.blobs.writeDerived(
      derivedTarget(target, "proxy.m3u8", "application/vnd.apple.mpegurl"),
      { kind: "stream", stream: Readable.from([Buffer.from(playlistText, "utf8")]) },
      { abortSignal: options.abortSignal },
    );
    const finished = index;
    // As a player states it: the longest track.
    const durationInSeconds = Math.max(0, ...index.tracks.map((t) => trackTotals(finished, t.id).duration / t.timescale)) || undefined;
    const picture = headPicture(headProbe);
    const renditions: Rendition[] = [
      rendition(audioOnly ? "audio-proxy" : "proxy", proxyName, proxy, { ...picture, ...(durationInSeconds === undefined ? {} : { durationInSeconds }) }),
      rendition("playlist", "proxy.m3u8", playlist, durationInSeconds === undefined ? {} : { durationInSeconds }),
    ];
    const figures: SegmentJoinFigures = {
      segments: request.segments.length,
      segmentBytes,
      proxyBytes: proxy.size,
      playlistBytes: playlist.size,
      fragments: index.fragments.length,
      peakTempDiskBytes: await disk.stop(),
      digestInMs,
      joinInMs,
      totalInMs: Date.now() - started,
    };
    log.info("join published", { ...figures });
    return { renditions, runs, figures };
  } catch (error) {
    if (options.abortSignal?.aborted === true && toCustodyError(error).code !== "OutputVerificationFailed") {
      throw new CustodyError("Transient", `the join of ${target.evidenceId} was aborted (host shutting down or lock lost); the message will be retried.`);
    }
    throw redactedError(error, secrets);
  } finally {
    await disk.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
}

interface PinnedFile {
  key: string;
  segment: JoinSegment;
  kind: "video" | "audio";
  /** The segment file at the ETag whose bytes were hashed. */
  ref: BlobRef;
  size: number;
  plan: SegmentPlan;
}

function segmentFiles(request: JoinSegmentsRequest): Array<{ segment: JoinSegment; kind: "video" | "audio"; file: JoinSegmentFile; plan: SegmentPlan }> {
  const out: Array<{ segment: JoinSegment; kind: "video" | "audio"; file: JoinSegmentFile; plan: SegmentPlan }> = [];
  for (const segment of request.segments) {
    for (const kind of ["video", "audio"] as const) {
      const wanted = kind === "video" ? request.plan.videoIndex !== undefined : request.plan.audioIndex !== undefined;
      const file = segment[kind];
      if (wanted && file === undefined) throw segmentFailure({ segment, kind, plan: request.plan }, `has no ${kind} file`);
      if (file !== undefined && wanted) out.push({ segment, kind, file, plan: request.plan });
    }
  }
  return out;
}

/** The file exists and its bytes hash to the recorded SHA-256; returns its ref pinned to that ETag. */
async function checkSegmentFile(
  blobs: MediaBlobStore,
  item: { segment: JoinSegment; kind: "video" | "audio"; file: JoinSegmentFile; plan: SegmentPlan },
  abortSignal?: AbortSignal,
): Promise<PinnedFile> {
  const described = { segment: item.segment, kind: item.kind, plan: item.plan };
  let properties;
  try {
    properties = await blobs.getProperties(item.file.blob);
  } catch (error) {
    const failure = toCustodyError(error);
    if (failure.code === "OriginalNotFound" || failure.code === "OriginalChanged")
      throw segmentFailure(described, failure.code === "OriginalNotFound" ? "does not exist" : "was replaced after its segment run");
    throw failure;
  }
  const ref: BlobRef = { ...item.file.blob, etag: properties.etag };
  const hash = createHash("sha256");
  try {
    await pipeline(await blobs.openRead(ref, { abortSignal }), async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) hash.update(chunk);
      yield* [];
    });
  } catch (error) {
    const failure = toCustodyError(error);
    if (failure.code === "OriginalNotFound" || failure.code === "OriginalChanged") throw segmentFailure(described, "was replaced or removed while it was being hashed");
    throw failure;
  }
  const digest = hash.digest("hex");
  if (digest !== item.file.sha256.toLowerCase()) throw segmentFailure(described, `has SHA-256 ${digest}, not the ${item.file.sha256} its segment run recorded`);
  return { key: fileKey(item.segment.index, item.kind), segment: item.segment, kind: item.kind, ref, size: properties.size, plan: item.plan };
}

/** No segment file was replaced or removed while ffmpeg read it (the read URLs cannot carry If-Match). */
async function unchanged(blobs: MediaBlobStore, pinned: PinnedFile[]): Promise<void> {
  await mapLimited(pinned, 8, async (file) => {
    try {
      await blobs.getProperties(file.ref);
    } catch (error) {
      const failure = toCustodyError(error);
      if (failure.code === "OriginalNotFound" || failure.code === "OriginalChanged") throw segmentFailure(file, "was replaced or removed while it was being joined");
      throw failure;
    }
  });
}

function fileKey(index: number, kind: "video" | "audio"): string {
  return `${index}:${kind}`;
}

function segmentFailure(file: { segment: JoinSegment; kind: "video" | "audio"; plan: SegmentPlan; ref?: BlobRef }, what: string): CustodyError {
  const range = file.plan.segments.find((s) => s.index === file.segment.index);
  const span = range === undefined ? "" : ` (${(range.startInMicroseconds / 1e6).toFixed(3)}–${range.endInMicroseconds === undefined ? "end" : (range.endInMicroseconds / 1e6).toFixed(3)} s)`;
  const blob = file.segment[file.kind]?.blob;
  const where = blob === undefined ? "" : ` ${blob.container}/${blob.name}`;
  return new CustodyError("OutputVerificationFailed", `Cannot join: the ${file.kind} file of segment ${file.segment.index}${span}${where} ${what}; nothing was published.`);
}

function derivedTarget(target: JoinSegmentsRequest["target"], name: string, contentType: string) {
  return { evidenceId: target.evidenceId, stage: "transcode" as const, name, contentType, ...(target.reprocessId === undefined ? {} : { reprocessId: target.reprocessId }) };
}

function rendition(kind: RenditionKind, name: string, written: WrittenBlob, extra: Partial<Rendition>): Rendition {
  return { kind, name, container: written.container, path: written.name, contentType: written.contentType, size: written.size, sha256: written.sha256, ...extra };
}

function headPicture(probe: MediaProbe | undefined): Partial<Rendition> {
  const video = probe?.streams.find((s) => s.type === "video");
  return video?.width === undefined || video.height === undefined ? {} : { width: video.width, height: video.height };
}

function joinRun(run: MediaRunResult, startedAt: string, secrets: SecretRedactor): MediaToolRun {
  return { purpose: "join", arguments: run.arguments.map((a) => secrets.redact(a)), startedAt, finishedAt: new Date().toISOString() };
}

function redactedError(error: unknown, secrets: SecretRedactor): CustodyError {
  const failure = toCustodyError(error);
  const message = secrets.redact(failure.message);
  return message === failure.message ? failure : new CustodyError(failure.code, message, { retryable: failure.retryable });
}

/**
 * Passes the output through unchanged while indexing its boxes and keeping its head (the moov
 * and first fragment) in `headFile`. Before the end is passed on (and so before the upload
 * commits), `check` runs on the finished index: a failure there fails the stream.
 */
class IndexingTap extends Transform {
  private readonly indexer = new Fmp4Indexer();
  private readonly head;
  private headBytes = 0;

  constructor(
    private readonly headFile: string,
    private readonly check: (index: Fmp4Index) => Promise<void>,
  ) {
    super();
    this.head = createWriteStream(headFile, { mode: 0o600 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    // The head: up to the end of the first fragment (known once the box after it begins: this chunk may still hold its tail), at most HEAD_LIMIT_BYTES.
    const inHead = this.headBytes < HEAD_LIMIT_BYTES && this.indexer.firstFragmentEnd === undefined;
    try {
      this.indexer.push(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (inHead) {
      const part = chunk.subarray(0, HEAD_LIMIT_BYTES - this.headBytes);
      this.headBytes += part.length;
      this.head.write(part);
    }
    callback(null, chunk);
  }

  override _flush(callback: (error?: Error | null) => void): void {
    void (async () => {
      const index = this.indexer.end();
      await new Promise<void>((resolve, reject) => this.head.end((error?: Error | null) => (error ? reject(error) : resolve())));
      // Only the moov and the first fragment: what a player needs to start, and ffprobe to describe the streams.
      const first = index.fragments[0];
      if (first !== undefined) await fs.truncate(this.headFile, Math.min(this.headBytes, first.offset + first.size));
      await this.check(index);
    })().then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.head.destroy();
    callback(error);
  }
}

/** Samples the size of a folder while a run works in it; `stop()` returns the largest seen. */
class DiskSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  private sampling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly dir: string) {
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample());
    }, 100);
  }

  async stop(): Promise<number> {
    if (!this.stopped) {
      this.stopped = true;
      clearInterval(this.timer);
      await this.sampling;
      await this.sample();
    }
    return this.peak;
  }

  private async sample(): Promise<void> {
    let total = 0;
    try {
      for (const entry of await fs.readdir(this.dir, { withFileTypes: true })) {
        if (!entry.isFile()) continue;
        total += (await fs.stat(path.join(this.dir, entry.name)).catch(() => ({ size: 0 }))).size;
      }
    } catch {
      return;
    }
    this.peak = Math.max(this.peak, total);
  }
}
