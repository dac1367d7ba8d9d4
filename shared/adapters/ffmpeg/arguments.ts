/**
 * The argument vectors ffmpeg and ffprobe are given. Every process gets the hardened input
 * options the adapter owns: a protocol allow-list for the input kind (`file` for a file,
 * `http,https,tcp,tls` for a URL) and a demuxer allow-list ({@link ALLOWED_DEMUXERS}), so an
 * upload that is really an HLS playlist, an ffconcat script, an image sequence pattern, … is
 * refused before it can open anything else; a file input is passed as `file:<absolute path>` so
 * no name is ever read as a protocol or an option. Pure.
 */
import * as path from "node:path";
import { CustodyError } from "../../errors";
import type { MediaInput, MediaJoinInput, MediaRunOptions } from "../../ports/media-tool";

/**
 * Demuxers an original may be read with (names as `ffmpeg -demuxers` lists them; a demuxer
 * whose name list contains one of these matches). Camera and phone containers only — no
 * playlists (`hls`, `dash`), scripts (`concat`), image sequences (`image2`), raw elementary
 * streams, `lavfi` or device inputs.
 */
export const ALLOWED_DEMUXERS: readonly string[] = [
  "mov",
  "mp4",
  "m4a",
  "3gp",
  "3g2",
  "mj2",
  "matroska",
  "webm",
  "mpegts",
  "mpeg",
  "avi",
  "asf",
  "flv",
  "mxf",
  "dv",
  "wav",
  "mp3",
  "aac",
  "ogg",
  "flac",
];

/** Protocols per input kind. `tls` is what `https` runs over; `crypto`, `data`, `subfile`, `concat`, … are never needed. */
export const ALLOWED_PROTOCOLS: Readonly<Record<MediaInput["kind"], string>> = {
  file: "file",
  url: "http,https,tcp,tls",
};

/** The hardened input options and the input argument itself. */
export function inputArguments(input: MediaInput, urlReadTimeoutInMs = 30_000): string[] {
  if (input.kind === "file") {
    if (!input.path) throw new CustodyError("Internal", "media input has an empty path", { retryable: false });
    return ["-protocol_whitelist", ALLOWED_PROTOCOLS.file, "-format_whitelist", ALLOWED_DEMUXERS.join(","), "-i", `file:${path.resolve(input.path)}`];
  }
  let url: URL;
  try {
    url = new URL(input.url);
  } catch (error) {
    throw new CustodyError("Internal", `media input URL is not a URL`, { cause: error, retryable: false });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CustodyError("Internal", `media input URL must be http(s), not ${url.protocol}`, { retryable: false });
  }
  return [
    "-protocol_whitelist",
    ALLOWED_PROTOCOLS.url,
    "-format_whitelist",
    ALLOWED_DEMUXERS.join(","),
    "-rw_timeout",
    String(Math.max(1, Math.round(urlReadTimeoutInMs)) * 1000),
    "-reconnect",
    "1",
    "-reconnect_delay_max",
    "5",
    "-i",
    input.url,
  ];
}

/** What fluent-ffmpeg writes as the target of a stream output: the value of our trailing `-progress`. */
const PROGRESS_TARGET = "pipe:1";

/** An ffmpeg command line, split the way fluent-ffmpeg assembles it (see fluent-run.ts). */
export interface FfmpegCommandLine {
  /** Everything before `-i`: global options and the hardened input options. */
  inputOptions: string[];
  /** The `-i` argument. */
  source: string;
  /** Further inputs (the join's second concat script), each with its own input options. */
  moreInputs?: Array<{ options: string[]; source: string }>;
  /** The caller's output arguments, then `-progress` (fluent-ffmpeg appends its value, `pipe:1`). */
  outputOptions: string[];
  /** The whole argument vector ffmpeg is given. */
  arguments: string[];
}

/**
 * `-hide_banner -nostdin -y -loglevel level+info -nostats <input options> -i <input>
 * <outputArguments> -progress pipe:1`.
 */
export function ffmpegArguments(input: MediaInput, outputArguments: string[], urlReadTimeoutInMs = 30_000, seek?: MediaRunOptions["seek"]): FfmpegCommandLine {
  const hardened = inputArguments(input, urlReadTimeoutInMs);
  const source = hardened[hardened.length - 1];
  const inputOptions = ["-hide_banner", "-nostdin", "-y", "-loglevel", "level+info", "-nostats", ...seekArguments(seek), ...hardened.slice(0, -2)];
  const outputOptions = [...outputArguments, "-progress"];
  return { inputOptions, source, outputOptions, arguments: [...inputOptions, "-i", source, ...outputOptions, PROGRESS_TARGET] };
}

/** `-ss`/`-t` input options; refused when not finite and non-negative (they would be read as something else). */
export function seekArguments(seek: MediaRunOptions["seek"]): string[] {
  if (seek === undefined) return [];
  const valid = (n: number) => Number.isFinite(n) && n >= 0;
  if (!valid(seek.startInSeconds) || (seek.durationInSeconds !== undefined && !(valid(seek.durationInSeconds) && seek.durationInSeconds > 0))) {
    throw new CustodyError("Internal", `invalid input seek ${JSON.stringify(seek)}`, { retryable: false });
  }
  const args = ["-ss", seek.startInSeconds.toFixed(6)];
  if (seek.durationInSeconds !== undefined) args.push("-t", seek.durationInSeconds.toFixed(6));
  return args;
}

/** Demuxers the join reads: the concat script and the MP4 segments it names. */
export const JOIN_DEMUXERS = "concat,mov,mp4,m4a,3gp,3g2,mj2";

/** The join's command line: each concat script as an input, local files only. */
export function joinArguments(inputs: MediaJoinInput[], outputArguments: string[]): FfmpegCommandLine {
  if (inputs.length === 0) throw new CustodyError("Internal", "a join needs at least one concat script", { retryable: false });
  const each = inputs.map((input) => {
    if (input.kind !== "concat" || !input.path) throw new CustodyError("Internal", "a join input must be a local concat script", { retryable: false });
    return { options: ["-protocol_whitelist", "file", "-format_whitelist", JOIN_DEMUXERS, "-f", "concat", "-safe", "1"], source: `file:${path.resolve(input.path)}` };
  });
  const [first, ...rest] = each;
  const inputOptions = ["-hide_banner", "-nostdin", "-y", "-loglevel", "level+info", "-nostats", ...first.options];
  const outputOptions = [...outputArguments, "-progress"];
  return {
    inputOptions,
    source: first.source,
    moreInputs: rest,
    outputOptions,
    arguments: [...inputOptions, "-i", first.source, ...rest.flatMap((i) => [...i.options, "-i", i.source]), ...outputOptions, PROGRESS_TARGET],
  };
}
