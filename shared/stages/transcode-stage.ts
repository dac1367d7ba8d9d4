/**
 * The single-run transcode (the pipeline transcodes in segments: transcode-plan-stage.ts,
 * transcode-segment-stage.ts, transcode-join-stage.ts; this one whole-recording encode is what
 * the benchmarks compare them with, same filters and codecs): a browser-playable proxy of the exact original version, verified
 * before it is published to `derived/<evidenceId>/transcode/proxy.mp4` (or `proxy.m4a` for
 * audio-only recordings). See shared/media/transcode-plan.ts for what the proxy is and why.
 *
 * Flow: probe the original through a short-lived read URL → plan (implausible probe values are
 * UnsupportedMedia) → ffmpeg (killed when its progress stalls, or at a generous ceiling from the
 * expected work: shared/media/run-limits.ts) → probe the proxy and verify it (video iff the source has video, h264
 * yuv420p / aac, upright, capped, duration within max(0.5 s, 2 %)) → check the original's ETag
 * is unchanged → upload (SHA-256 computed while uploading). A redelivery overwrites the same
 * blob; a `custody reprocess` run writes its own folder (contracts/rendition-path.ts). The
 * record's renditions are replaced, never appended.
 *
 * Failures: corrupt, truncated, encrypted or unsupported input (UnsupportedMedia), a crash
 * (MediaToolCrashed) or a proxy that fails verification (OutputVerificationFailed) are final;
 * storage and network trouble, stalls, ceilings and aborts are retried. Every failure keeps the probe
 * and the exact runs on the record.
 */
import * as path from "node:path";
import type { EvidenceReceivedMessage, Rendition } from "../contracts/messages";
import { mediaRunLimits } from "../media/run-limits";
import { DEFAULT_PROXY_MAX_SIDE, planTranscode } from "../media/transcode-plan";
import { verificationFailure, verifyProxy } from "../media/verify-output";
import { MediaSession, type MediaStageDeps } from "./media-session";
import type { StageWork } from "./report-stage";
import type { StageContext } from "./stage-context";

export interface TranscodeOptions {
  /** Longest side of the proxy (CUSTODY_PROXY_MAX_SIDE); default 1280. */
  maxSide?: number;
  /** How long ffmpeg may make no progress (CUSTODY_MEDIA_STALL_TIMEOUT_MS); default the media tool's (60 s). */
  stallTimeoutInMs?: number;
}

export async function transcodeOriginal(input: EvidenceReceivedMessage, deps: MediaStageDeps, context: StageContext, options: TranscodeOptions = {}): Promise<StageWork> {
  const session = new MediaSession(input, "transcode", deps, context);
  try {
    const probe = await session.open();
    const dir = await session.tempDir();
    const plan = planTranscode(probe, { maxSide: options.maxSide ?? DEFAULT_PROXY_MAX_SIDE, outputPath: path.join(dir, "proxy.out") });
    session.log.info("transcode planned", { kind: plan.kind, videoIndex: plan.videoIndex, audioIndex: plan.audioIndex, toneMapped: plan.toneMapped, expected: plan.expected });
    const output = path.join(dir, "proxy.out");
    const video = probe.streams.find((s) => s.type === "video" && s.index === plan.videoIndex);
    await session.run("transcode", plan.arguments, mediaRunLimits({ durationInSeconds: plan.expected.durationInSeconds, video }, options.stallTimeoutInMs));

    const size = await session.sizeOf(output);
    if (size === undefined || size === 0) throw verificationFailure("proxy", [size === undefined ? "ffmpeg wrote no file" : "the file is empty"]);
    const proxy = await session.probeFile(output);
    verifyProxy(proxy, plan.expected);
    await session.checkOriginalUnchanged();

    const proxyVideo = proxy.streams.find((s) => s.type === "video");
    const extra: Partial<Rendition> = {};
    if (proxyVideo?.width !== undefined) extra.width = proxyVideo.width;
    if (proxyVideo?.height !== undefined) extra.height = proxyVideo.height;
    if (proxy.durationInSeconds !== undefined) extra.durationInSeconds = proxy.durationInSeconds;
    const rendition = await session.upload(plan.renditionKind, output, plan.fileName, plan.contentType, extra);
    session.log.info("proxy published", { path: `${rendition.container}/${rendition.path}`, bytes: rendition.size, sha256: rendition.sha256, width: extra.width, height: extra.height });
    return { outcome: "succeeded", media: probe, renditions: [rendition], provenance: session.provenance() };
  } catch (error) {
    throw session.failure(error);
  } finally {
    await session.cleanup();
  }
}
