/**
 * A probe as it may travel in a stage-result message. Everything in a MediaProbe comes from
 * the uploaded file (tags, handler names, stream counts), so a crafted file could otherwise
 * make the result fail the message schema (over-long or empty strings, NaN) or exceed the
 * Service Bus message size — and a result the index dead-letters leaves the recording stuck.
 * Pure: strings are trimmed to the schema's limits (empty ones dropped), numbers that are not
 * finite and non-negative are dropped, and at most {@link MAX_REPORTED_STREAMS} streams are
 * kept (the primary video and audio always among them).
 */
import type { ReportedMediaProbe } from "../contracts/messages";
import type { MediaProbe, MediaStreamInfo } from "./probe";

type ReportedStream = ReportedMediaProbe["streams"][number];

export const MAX_REPORTED_STREAMS = 64;
export const MAX_REPORTED_DATA_TRACKS = 64;

export function boundedProbe(probe: MediaProbe): ReportedMediaProbe {
  const primary = new Set([probe.primaryVideoIndex, probe.primaryAudioIndex].filter((i): i is number => i !== undefined));
  const kept = [...probe.streams.filter((s) => primary.has(s.index)), ...probe.streams.filter((s) => !primary.has(s.index))]
    .slice(0, MAX_REPORTED_STREAMS)
    .sort((a, b) => a.index - b.index)
    .map(boundedStream)
    .filter((s): s is ReportedStream => s !== undefined);
  const out: ReportedMediaProbe = {
    container: text(probe.container, 256) ?? "unknown",
    streams: kept,
    dataTracks: probe.dataTracks
      .map((t) => text(t, 256))
      .filter((t): t is string => t !== undefined)
      .slice(0, MAX_REPORTED_DATA_TRACKS),
  };
  setNumber(out, "durationInSeconds", probe.durationInSeconds);
  setInteger(out, "sizeInBytes", probe.sizeInBytes);
  setNumber(out, "bitRate", probe.bitRate);
  setInteger(out, "primaryVideoIndex", probe.primaryVideoIndex);
  setInteger(out, "primaryAudioIndex", probe.primaryAudioIndex);
  setText(out, "creationTime", probe.creationTime, 64);
  setText(out, "location", probe.location, 256);
  if (probe.device !== undefined) {
    const device: NonNullable<ReportedMediaProbe["device"]> = {};
    setText(device, "make", probe.device.make, 256);
    setText(device, "model", probe.device.model, 256);
    if (Object.keys(device).length > 0) out.device = device;
  }
  return out;
}

function boundedStream(stream: MediaStreamInfo): ReportedStream | undefined {
  if (!isInteger(stream.index)) return undefined;
  const types: MediaStreamInfo["type"][] = ["video", "audio", "data", "subtitle", "attachment", "unknown"];
  const out: ReportedStream = { index: stream.index, type: types.includes(stream.type) ? stream.type : "unknown" };
  setText(out, "codec", stream.codec, 64);
  setText(out, "codecTag", stream.codecTag, 64);
  setText(out, "handlerName", stream.handlerName, 256);
  setInteger(out, "width", stream.width);
  setInteger(out, "height", stream.height);
  setNumber(out, "frameRate", stream.frameRate);
  if (stream.rotation === 0 || stream.rotation === 90 || stream.rotation === 180 || stream.rotation === 270) out.rotation = stream.rotation;
  setText(out, "pixelFormat", stream.pixelFormat, 64);
  setInteger(out, "bitDepth", stream.bitDepth);
  setText(out, "colorTransfer", stream.colorTransfer, 64);
  setText(out, "colorPrimaries", stream.colorPrimaries, 64);
  if (typeof stream.hdr === "boolean") out.hdr = stream.hdr;
  setInteger(out, "sampleRate", stream.sampleRate);
  setInteger(out, "channels", stream.channels);
  setNumber(out, "durationInSeconds", stream.durationInSeconds);
  setInteger(out, "frames", stream.frames);
  if (typeof stream.isDefault === "boolean") out.isDefault = stream.isDefault;
  if (typeof stream.isAttachedPicture === "boolean") out.isAttachedPicture = stream.isAttachedPicture;
  return out;
}

function text(value: unknown, max: number): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  return trimmed.length <= max ? trimmed : `${trimmed.slice(0, max - 1)}…`;
}

function isInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function setText<T extends object>(target: T, key: keyof T & string, value: unknown, max: number): void {
  const bounded = text(value, max);
  if (bounded !== undefined) (target as Record<string, unknown>)[key] = bounded;
}

function setNumber<T extends object>(target: T, key: keyof T & string, value: unknown): void {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) (target as Record<string, unknown>)[key] = value;
}

function setInteger<T extends object>(target: T, key: keyof T & string, value: unknown): void {
  if (isInteger(value)) (target as Record<string, unknown>)[key] = value;
}
