/**
 * ffprobe's JSON (`-show_format -show_streams -of json`) → {@link MediaProbe}. Pure: no I/O,
 * unit-tested on output captured from the real fixtures (test/media/probes/).
 *
 * Conventions:
 * - **Rotation** is the clockwise rotation, in degrees (0/90/180/270), to apply to the decoded
 *   frame to show it upright — the convention of the legacy `rotate` tag and of what a player
 *   does. ffprobe's display-matrix `rotation` is counter-clockwise (a portrait phone clip says
 *   −90), so it is negated: −90 → 90. A `tags.rotate` (older ffprobe builds) is already
 *   clockwise. Angles are snapped to the nearest quarter turn.
 * - **Primary video** is the real picture: video streams that are not cover art
 *   (`attached_pic`) and do not state 0 frames; among those the default-disposition stream,
 *   then the largest area, then the lowest index. Streams without a stated frame count
 *   (fragmented MP4, MPEG-TS, Matroska) stay candidates — ffprobe cannot tell empty from
 *   unknown there without reading the whole file.
 * - **Primary audio**: audio streams not stating 0 frames and with a non-zero sample rate and
 *   channel count; default first, then more channels, then the lowest index.
 * - **HDR** is a PQ (`smpte2084`) or HLG (`arib-std-b67`) transfer, or Dolby Vision / HDR10
 *   side data (a DOVI record, mastering-display or content-light metadata).
 * - **Data tracks** are the codec tags (`gpmd`, `tmcd`, `mett`, `mebx`, `fdsc`, …) of data
 *   streams, or their handler name when the tag is empty; de-duplicated, in stream order.
 * - Tag keys are matched case-insensitively (Matroska writes them upper-case); QuickTime
 *   handler names lose their Pascal-string length byte and padding (GoPro's `\vGoPro AVC  `).
 */
import type { MediaProbe, MediaStreamInfo, MediaStreamType } from "./probe";

/** The parts of ffprobe's JSON this module reads; everything else is ignored. */
export interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: FfprobeFormat;
}

export interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  pix_fmt?: string;
  bits_per_raw_sample?: string | number;
  color_transfer?: string;
  color_primaries?: string;
  sample_rate?: string | number;
  channels?: number;
  duration?: string | number;
  nb_frames?: string | number;
  disposition?: Record<string, number | undefined>;
  tags?: Record<string, string | undefined>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number | string } & Record<string, unknown>>;
}

export interface FfprobeFormat {
  format_name?: string;
  duration?: string | number;
  size?: string | number;
  bit_rate?: string | number;
  tags?: Record<string, string | undefined>;
}

const HDR_TRANSFERS = new Set(["smpte2084", "arib-std-b67"]);
const HDR_SIDE_DATA = /^(DOVI configuration record|Mastering display metadata|Content light level metadata)$/i;
/** Codec tags ffprobe prints for "no tag" (`[0][0][0][0]`) or unset. */
const EMPTY_TAG = /^(\[0\])+$|^0x0+$/;

export function normaliseProbe(output: FfprobeOutput): MediaProbe {
  const format = output.format ?? {};
  const streams = (output.streams ?? []).map((stream, position) => normaliseStream(stream, position));
  const formatTags = format.tags ?? {};
  const streamTags = (output.streams ?? []).map((stream) => stream.tags ?? {});

  const probe: MediaProbe = {
    container: format.format_name ?? "unknown",
    streams,
    dataTracks: dataTracks(streams),
  };
  assign(probe, "durationInSeconds", positiveNumber(format.duration));
  assign(probe, "sizeInBytes", nonNegativeInteger(format.size));
  assign(probe, "bitRate", positiveNumber(format.bit_rate));
  assign(probe, "primaryVideoIndex", primaryVideo(streams));
  assign(probe, "primaryAudioIndex", primaryAudio(streams));
  assign(probe, "creationTime", creationTime(formatTags, streamTags));
  assign(probe, "device", device(formatTags, streamTags, streams));
  assign(probe, "location", tag(formatTags, "com.apple.quicktime.location.ISO6709") ?? tag(formatTags, "location"));
  return probe;
}

function normaliseStream(stream: FfprobeStream, position: number): MediaStreamInfo {
  const type = streamType(stream.codec_type);
  const tags = stream.tags ?? {};
  const info: MediaStreamInfo = { index: typeof stream.index === "number" ? stream.index : position, type };
  assign(info, "codec", nonEmpty(stream.codec_name));
  const codecTag = nonEmpty(stream.codec_tag_string);
  assign(info, "codecTag", codecTag !== undefined && !EMPTY_TAG.test(codecTag) ? codecTag : undefined);
  assign(info, "handlerName", cleanHandlerName(tag(tags, "handler_name")));
  if (type === "video") {
    // 0 kept: it is how ffprobe says it could not read the picture (plausible-media.ts refuses it).
    assign(info, "width", nonNegativeInteger(stream.width));
    assign(info, "height", nonNegativeInteger(stream.height));
    assign(info, "frameRate", rational(stream.avg_frame_rate) ?? rational(stream.r_frame_rate));
    assign(info, "rotation", rotation(stream));
    assign(info, "pixelFormat", nonEmpty(stream.pix_fmt));
    assign(info, "bitDepth", bitDepthOfPixelFormat(stream.pix_fmt) ?? positiveInteger(stream.bits_per_raw_sample));
    assign(info, "colorTransfer", known(stream.color_transfer));
    assign(info, "colorPrimaries", known(stream.color_primaries));
    const hdr = HDR_TRANSFERS.has(stream.color_transfer ?? "") || (stream.side_data_list ?? []).some((entry) => HDR_SIDE_DATA.test(entry.side_data_type ?? ""));
    if (hdr) info.hdr = true;
  } else if (type === "audio") {
    assign(info, "sampleRate", nonNegativeInteger(stream.sample_rate));
    assign(info, "channels", nonNegativeInteger(stream.channels));
    assign(info, "bitDepth", positiveInteger(stream.bits_per_raw_sample));
  }
  assign(info, "durationInSeconds", positiveNumber(stream.duration));
  assign(info, "frames", nonNegativeInteger(stream.nb_frames));
  const disposition = stream.disposition ?? {};
  if (disposition["default"] === 1) info.isDefault = true;
  if (disposition["attached_pic"] === 1) info.isAttachedPicture = true;
  return info;
}

function streamType(codecType: string | undefined): MediaStreamType {
  switch (codecType) {
    case "video":
    case "audio":
    case "data":
    case "subtitle":
    case "attachment":
      return codecType;
    default:
      return "unknown";
  }
}

/** Clockwise degrees to display upright, in {0, 90, 180, 270}; see the module comment. */
export function rotation(stream: Pick<FfprobeStream, "side_data_list" | "tags">): number | undefined {
  for (const entry of stream.side_data_list ?? []) {
    if (!/display ?matrix/i.test(entry.side_data_type ?? "")) continue;
    const counterClockwise = finite(entry.rotation);
    if (counterClockwise !== undefined) return quarterTurn(-counterClockwise);
  }
  const rotateTag = finite(tag(stream.tags ?? {}, "rotate"));
  return rotateTag === undefined ? undefined : quarterTurn(rotateTag);
}

function quarterTurn(degrees: number): number {
  const snapped = Math.round(degrees / 90) * 90;
  return ((snapped % 360) + 360) % 360;
}

/**
 * Bits per component from an FFmpeg pixel format name: `yuv420p10le` → 10, `p010le` → 10,
 * `yuvj420p`/`nv12`/`rgb24` → 8, `gray16be` → 16. Undefined when the name says nothing.
 */
export function bitDepthOfPixelFormat(pixelFormat: string | undefined): number | undefined {
  if (!pixelFormat) return undefined;
  if (/^(rgb|bgr)48(le|be)?$|^(rgba|bgra)64(le|be)?$/.test(pixelFormat)) return 16;
  const semiPlanar = /^p\d(\d{2})(le|be)?$/.exec(pixelFormat); // p010le, p016le, p210le, p410le
  if (semiPlanar) return Number(semiPlanar[1]);
  if (/^nv20(le|be)$/.test(pixelFormat)) return 10;
  const suffixed = /[a-z](\d{1,2})(le|be)$/.exec(pixelFormat); // yuv420p10le, gbrp12le, gray16be, x2rgb10le
  if (suffixed) {
    const bits = Number(suffixed[1]);
    return bits >= 8 && bits <= 16 ? bits : undefined;
  }
  const eightBit = /^(yuva?j?\d{3}p|nv(12|21|16|24|42)|gray|ya8|pal8|rgb24|bgr24|rgba|bgra|argb|abgr|rgb0|bgr0|0rgb|0bgr|gbrap?|uyvy422|yuyv422|yvyu422)$/;
  return eightBit.test(pixelFormat) ? 8 : undefined;
}

function primaryVideo(streams: MediaStreamInfo[]): number | undefined {
  const candidates = streams.filter((stream) => stream.type === "video" && !stream.isAttachedPicture && stream.frames !== 0);
  candidates.sort((a, b) => Number(b.isDefault === true) - Number(a.isDefault === true) || area(b) - area(a) || a.index - b.index);
  return candidates[0]?.index;
}

function primaryAudio(streams: MediaStreamInfo[]): number | undefined {
  const candidates = streams.filter((stream) => stream.type === "audio" && stream.frames !== 0 && stream.sampleRate !== 0 && stream.channels !== 0);
  candidates.sort((a, b) => Number(b.isDefault === true) - Number(a.isDefault === true) || (b.channels ?? 0) - (a.channels ?? 0) || a.index - b.index);
  return candidates[0]?.index;
}

function area(stream: MediaStreamInfo): number {
  return (stream.width ?? 0) * (stream.height ?? 0);
}

function dataTracks(streams: MediaStreamInfo[]): string[] {
  const names: string[] = [];
  for (const stream of streams) {
    if (stream.type !== "data") continue;
    const name = stream.codecTag ?? stream.handlerName ?? stream.codec;
    if (name !== undefined && !names.includes(name)) names.push(name);
  }
  return names;
}

type Tags = Record<string, string | undefined>;

function creationTime(formatTags: Tags, streamTags: Tags[]): string | undefined {
  return (
    tag(formatTags, "creation_time") ??
    tag(formatTags, "com.apple.quicktime.creationdate") ??
    tag(formatTags, "date") ??
    streamTags.map((tags) => tag(tags, "creation_time")).find((value) => value !== undefined)
  );
}

/** Make/model from QuickTime/Android/Matroska tags, else a maker named in an encoder or handler name. */
function device(formatTags: Tags, streamTags: Tags[], streams: MediaStreamInfo[]): MediaProbe["device"] {
  let make = tag(formatTags, "com.apple.quicktime.make") ?? tag(formatTags, "com.android.manufacturer") ?? tag(formatTags, "make");
  const model = tag(formatTags, "com.apple.quicktime.model") ?? tag(formatTags, "com.android.model") ?? tag(formatTags, "model");
  if (make === undefined) {
    const hints = [tag(formatTags, "encoder"), ...streamTags.map((tags) => tag(tags, "encoder")), ...streams.map((stream) => stream.handlerName)];
    for (const hint of hints) {
      const maker = hint === undefined ? undefined : /\b(GoPro|DJI|Insta360|Axon|Motorola|Reveal|Zepcam|Edesix|Panasonic|Sony|Canon)\b/i.exec(hint);
      if (maker) {
        make = maker[1];
        break;
      }
    }
  }
  if (make === undefined && model === undefined) return undefined;
  const result: NonNullable<MediaProbe["device"]> = {};
  assign(result, "make", make);
  assign(result, "model", model);
  return result;
}

function tag(tags: Tags, key: string): string | undefined {
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(tags)) {
    if (name.toLowerCase() === wanted) return nonEmpty(value);
  }
  return undefined;
}

/** QuickTime handler names may keep a Pascal length byte and padding: `\vGoPro AVC  ` → `GoPro AVC`. */
function cleanHandlerName(value: string | undefined): string | undefined {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return nonEmpty(value?.replace(/[\u0000-\u001f\u007f]/g, "").trim());
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

function known(value: string | undefined): string | undefined {
  return value === undefined || value === "unknown" || value === "reserved" ? undefined : nonEmpty(value);
}

function finite(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function positiveNumber(value: unknown): number | undefined {
  const parsed = finite(value);
  return parsed !== undefined && parsed > 0 ? parsed : undefined;
}

function positiveInteger(value: unknown): number | undefined {
  const parsed = finite(value);
  return parsed !== undefined && Number.isInteger(parsed) && parsed > 0 ? parsed : undefined;
}

function nonNegativeInteger(value: unknown): number | undefined {
  const parsed = finite(value);
  return parsed !== undefined && Number.isInteger(parsed) && parsed >= 0 ? parsed : undefined;
}

/** `30000/1001` → 29.97…; `0/0` and nonsense → undefined. */
function rational(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const [numerator, denominator = "1"] = value.split("/");
  const result = Number(numerator) / Number(denominator);
  return Number.isFinite(result) && result > 0 ? result : undefined;
}

/** Sets optional properties only when defined (exactOptionalPropertyTypes-friendly, and keeps snapshots free of `undefined`). */
function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
