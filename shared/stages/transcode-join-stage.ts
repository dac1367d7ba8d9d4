/**
 * The last run of the segment-parallel transcode (a `join-request` from the index, sent once
 * every segment of the plan succeeded): join the segments by stream copy — no re-encoding —
 * into the progressive proxy (`proxy.mp4`, `proxy.m4a` for audio-only recordings) and an HLS
 * playlist over fMP4 (`proxy.m3u8`, its media in one `proxy.m4s` by byte ranges), verify both
 * before anything is published (shared/media/verify-join.ts: the proxy checks, duration within
 * a frame of the source's, frames equal to the segments' sum, audio/video drift within a
 * frame), upload them, and write the segment manifest (`segments.json`): the plan and, per
 * segment, its range, files with their digests, frames and the encode's arguments — the
 * provenance of every segment in one verifiable file. The outcome is the transcode stage's
 * ordinary `stage-result`.
 *
 * Renditions: the proxy (kind proxy / audio-proxy); the playlist as two files of kind
 * `playlist` — the `.m3u8` first, then the fMP4 media it names (a player needs both; a
 * consumer that wants the progressive download takes the proxy, never the `.m4s`); the
 * manifest (kind `segment-manifest`, `segmentCount`).
 *
 * A segment file that is missing, or whose bytes are not the ones its result claimed, fails the
 * join for good: no partial or different proxy is ever published.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { JoinRequestMessage, MediaToolRun, Rendition, SegmentPlanBody, StageProvenance } from "../contracts/messages";
import { canonicalJson } from "../evidence/canonical-json";
import { planIdOf } from "../evidence/segment-run";
import { CustodyError } from "../errors";
import type { MediaProbe } from "../media/probe";
import { mediaRunLimits } from "../media/run-limits";
import { joinArguments, joinLists, planSegmentEncode, playlistArguments, type EncodedSegment, type SegmentPlan } from "../media/segment-plan";
import { planTranscode } from "../media/transcode-plan";
import { aacStatedSlack, frameTolerance, verifyJoin, type JoinExpectation } from "../media/verify-join";
import { verificationFailure, verifyProxy } from "../media/verify-output";
import { DERIVED_CONTAINER, derivedBlobName, type MediaBlobStore } from "../ports/blob-store";
import type { SegmentMediaTool } from "../ports/media-tool";
import { MediaSession } from "./media-session";
import type { StageWork } from "./report-stage";
import type { StageContext } from "./stage-context";
import { probeFromStreams, segmentPlanOf } from "./transcode-segment-stage";

/** HLS target fragment length: Apple's recommendation for VOD (seeking granularity in review). */
export const HLS_SEGMENT_SECONDS = 6;
export const SEGMENT_MANIFEST_NAME = "segments.json";
const PLAYLIST_NAME = "proxy.m3u8";
/** ffmpeg's HLS muxer writes the single fMP4 file as `<playlist name>.m4s`. */
const PLAYLIST_MEDIA_NAME = "proxy.m4s";

export interface JoinStageDeps {
  blobs: MediaBlobStore;
  media: SegmentMediaTool;
}

export interface JoinOptions {
  /** How long ffmpeg may make no progress (CUSTODY_MEDIA_STALL_TIMEOUT_MS); default the media tool's. */
  stallTimeoutInMs?: number;
}

/** What a join produces: the published renditions (proxy, playlist and its media) and the runs that made and checked them. */
export interface JoinedSegments {
  renditions: Rendition[];
  runs: MediaToolRun[];
}

/** The join run's work (the caller reports it with runAndReportStage). */
export async function joinTranscode(request: JoinRequestMessage, deps: JoinStageDeps, context: StageContext, options: JoinOptions = {}): Promise<StageWork> {
  const session = new MediaSession(request, "transcode", deps, context);
  try {
    await session.loadVersions();
    const body = planBody(request);
    if (planIdOf(body) !== request.planId) {
      throw new CustodyError("Internal", `the join request's segments are not those of plan ${request.planId} (its ranges hash to ${planIdOf(body)})`, { retryable: false });
    }
    const plan = segmentPlanOf(request.plan, body.segments);
    const probe = probeFromStreams(request.streams, plan);
    const joined = await joinSegmentsLocally(session, deps.media, request, plan, probe, options);
    const manifest = await writeManifest(session, request, body, plan, probe);
    const provenance: StageProvenance = { ...session.provenance(), runs: joined.runs.slice(0, 32) };
    session.log.info("proxy joined and published", { segments: request.segments.length, renditions: joined.renditions.map((r) => r.name) });
    return { outcome: "succeeded", renditions: [...joined.renditions, manifest], provenance };
  } catch (error) {
    throw session.failure(error);
  } finally {
    await session.cleanup();
  }
}

/**
 * The join on local disk: download each segment file (its digest checked against its result's),
 * concat by stream copy into the MP4, the HLS playlist from the MP4, verify both, upload.
 * Needs the segments, the MP4 and the HLS media on one disk (about 3× the proxy).
 */
async function joinSegmentsLocally(session: MediaSession, tool: SegmentMediaTool, request: JoinRequestMessage, plan: SegmentPlan, probe: MediaProbe, options: JoinOptions): Promise<JoinedSegments> {
  const firstRun = session.runs.length;
  const dir = await session.tempDir();
  const encoded: EncodedSegment[] = [];
  for (const segment of request.segments) {
    for (const file of segment.files) await download(session, request, file, path.join(dir, file.name));
    encoded.push({
      index: segment.index,
      videoFile: segment.files.find((f) => f.stream === "video")?.name,
      audioFile: segment.files.find((f) => f.stream === "audio")?.name,
      audioPreRollInSeconds: segment.audioPreRollInSeconds ?? 0,
      lengthInSeconds: segment.lengthInSeconds,
    });
  }
  const scripts: string[] = [];
  const lists = joinLists(plan, encoded);
  for (const [kind, text] of [
    ["video", lists.video],
    ["audio", lists.audio],
  ] as const) {
    if (text === undefined) continue;
    const script = path.join(dir, `${kind}.ffconcat`);
    await writeFile(script, text);
    scripts.push(script);
  }
  const audioOnly = plan.videoIndex === undefined;
  const mp4 = path.join(dir, audioOnly ? "proxy.m4a" : "proxy.mp4");
  const video = probe.streams.find((s) => s.type === "video" && s.index === plan.videoIndex);
  const limits = mediaRunLimits({ durationInSeconds: plan.durationInSeconds, video }, options.stallTimeoutInMs);
  await session.joinLocal(tool, "join", scripts, joinArguments(plan, { mp4Path: mp4 }), limits);
  const playlist = path.join(dir, PLAYLIST_NAME);
  await session.runLocal("playlist", [mp4], playlistArguments(plan, { playlistPath: playlist, hlsSegmentSeconds: HLS_SEGMENT_SECONDS }), limits);

  const expected = joinExpectation(request, plan, probe);
  const joined = await session.probeFile(mp4);
  verifyJoin(joined, plan, expected);
  // The HLS media is a stream copy of the verified MP4 (the same packets). Its streams are checked
  // here; its timing by the playlist (ffprobe's stream durations of a fragmented MP4 are those of
  // its first fragments, not the file's).
  const media = path.join(dir, PLAYLIST_MEDIA_NAME);
  verifyProxy(await session.probeFile(media), { ...expected, durationInSeconds: undefined }, "HLS media");
  // The fragments are cut and timed on the first mapped stream (video when there is one).
  const timing = joined.streams.find((s) => s.type === (audioOnly ? "audio" : "video"))?.durationInSeconds ?? joined.durationInSeconds;
  verifyPlaylistText(await readFile(playlist, "utf8"), timing, frameTolerance(plan, expected));

  const joinedVideo = joined.streams.find((s) => s.type === "video");
  const picture: Partial<Rendition> = {};
  if (joinedVideo?.width !== undefined) picture.width = joinedVideo.width;
  if (joinedVideo?.height !== undefined) picture.height = joinedVideo.height;
  if (joined.durationInSeconds !== undefined) picture.durationInSeconds = joined.durationInSeconds;
  const mediaType = audioOnly ? "audio/mp4" : "video/mp4";
  const renditions = [
    await session.upload(audioOnly ? "audio-proxy" : "proxy", mp4, path.basename(mp4), mediaType, picture),
    await session.upload("playlist", playlist, PLAYLIST_NAME, "application/vnd.apple.mpegurl", picture.durationInSeconds === undefined ? {} : { durationInSeconds: picture.durationInSeconds }),
    await session.upload("playlist", media, PLAYLIST_MEDIA_NAME, mediaType, picture),
  ];
  return { renditions, runs: session.runs.slice(firstRun) };
}

/** What the joined proxy must be: the single-run proxy's expectation of these streams, held to the join's tolerances. */
function joinExpectation(request: JoinRequestMessage, plan: SegmentPlan, probe: MediaProbe): JoinExpectation {
  const proxy = planTranscode(probe, { maxSide: request.plan.maxSide, outputPath: "proxy" }).expected;
  const video = probe.streams.find((s) => s.index === plan.videoIndex);
  const audio = probe.streams.find((s) => s.index === plan.audioIndex);
  const frames = request.segments.map((s) => s.frames);
  return {
    ...proxy,
    durationInSeconds: plan.durationInSeconds,
    segmentFrames: video === undefined || frames.some((f) => f === undefined) ? undefined : frames.reduce<number>((sum, f) => sum + (f ?? 0), 0),
    frameRate: video?.frameRate,
    videoDurationInSeconds: video?.durationInSeconds,
    audioDurationInSeconds: audio?.durationInSeconds,
    audioStatedSlackInSeconds: aacStatedSlack(audio?.codec, audio?.sampleRate),
  };
}

/** The playlist names only its own media file, is complete (VOD, ENDLIST), and lasts what the proxy lasts. */
function verifyPlaylistText(text: string, durationInSeconds: number | undefined, toleranceInSeconds: number): void {
  const problems: string[] = [];
  if (!text.startsWith("#EXTM3U")) problems.push("it does not start with #EXTM3U");
  if (!/^#EXT-X-ENDLIST$/m.test(text)) problems.push("it has no #EXT-X-ENDLIST (incomplete)");
  if (!new RegExp(`^#EXT-X-MAP:URI="${PLAYLIST_MEDIA_NAME.replace(".", "\\.")}"`, "m").test(text)) problems.push(`its init section is not in ${PLAYLIST_MEDIA_NAME}`);
  const uris = text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
  if (uris.length === 0) problems.push("it lists no media");
  const foreign = uris.filter((uri) => uri.trim() !== PLAYLIST_MEDIA_NAME);
  if (foreign.length > 0) problems.push(`it names other files: ${foreign.slice(0, 3).join(", ")}`);
  const total = [...text.matchAll(/^#EXTINF:([0-9.]+),/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  // EXTINF values are printed with 6 decimals: one frame plus their rounding.
  if (durationInSeconds !== undefined && Math.abs(total - durationInSeconds) > toleranceInSeconds + uris.length * 1e-6) {
    problems.push(`its fragments last ${total.toFixed(6)} s, the proxy ${durationInSeconds.toFixed(6)} s`);
  }
  if (problems.length > 0) throw verificationFailure("HLS playlist", problems);
}

/** Streams one segment file from the derived container to `target`, checking its size and SHA-256 against its result's claim. */
async function download(session: MediaSession, request: JoinRequestMessage, file: JoinRequestMessage["segments"][number]["files"][number], target: string): Promise<void> {
  const name = derivedBlobName({ evidenceId: request.evidenceId, stage: "transcode", name: file.name, reprocessId: request.reprocess?.id });
  const source = await session.deps.blobs.openRead({ container: DERIVED_CONTAINER, name }, { abortSignal: session.context.abortSignal });
  const hash = createHash("sha256");
  let size = 0;
  const digest = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(source, digest, createWriteStream(target), { signal: session.context.abortSignal });
  const sha256 = hash.digest("hex");
  if (sha256 !== file.sha256 || size !== file.size) {
    throw verificationFailure(`segment file ${file.name}`, [`it holds ${size} bytes with SHA-256 ${sha256}, its segment result claimed ${file.size} with ${file.sha256}`]);
  }
}

/** The plan as the plan run claimed it: the shape and the ranges (its canonical JSON hashes to the plan id). */
function planBody(request: JoinRequestMessage): SegmentPlanBody {
  const segments = request.segments.map((s) => ({
    index: s.index,
    startInMicroseconds: s.startInMicroseconds,
    ...(s.endInMicroseconds === undefined ? {} : { endInMicroseconds: s.endInMicroseconds }),
  }));
  return { ...request.plan, segments };
}

/**
 * The segment manifest: canonical JSON (sorted keys), so its digest is the same for the same
 * segments. Each segment's encode arguments are the ones its run was planned with, the output
 * paths named as the files were uploaded (the run itself wrote them to a temporary folder).
 */
async function writeManifest(session: MediaSession, request: JoinRequestMessage, body: SegmentPlanBody, plan: SegmentPlan, probe: MediaProbe): Promise<Rendition> {
  const segments = request.segments.map((segment, i) => {
    const range = body.segments[i];
    const named = (stream: "video" | "audio") => segment.files.find((f) => f.stream === stream)?.name ?? `segment-${stream}.mp4`;
    const encode = planSegmentEncode(probe, plan, range, { maxSide: request.plan.maxSide, videoOutputPath: named("video"), audioOutputPath: named("audio") });
    return {
      ...range,
      files: segment.files.map((f) => ({ stream: f.stream, name: f.name, size: f.size, sha256: f.sha256 })),
      frames: segment.frames,
      audioPreRollInSeconds: segment.audioPreRollInSeconds,
      lengthInSeconds: segment.lengthInSeconds,
      encode: { seek: encode.seek, arguments: encode.arguments },
    };
  });
  const manifest = {
    schemaVersion: 1,
    kind: "segment-manifest",
    evidenceId: request.evidenceId,
    planId: request.planId,
    plan: body,
    streams: request.streams,
    source: session.provenance().source,
    tools: session.tools(),
    segments,
  };
  const file = path.join(await session.tempDir(), SEGMENT_MANIFEST_NAME);
  await writeFile(file, canonicalJson(manifest));
  return session.upload("segment-manifest", file, SEGMENT_MANIFEST_NAME, "application/json", { segmentCount: segments.length });
}
