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
import type { MediaInput, MediaRemoteJoinInput, MediaRunOptions } from "../../ports/media-tool";

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

/** The hardened input options and the input argument itself (after `-ss` for an input-side seek). */
export function inputArguments(input: MediaInput, urlReadTimeoutInMs = 30_000): string[] {
  const seek = seekArguments(input.seekInSeconds);
  if (input.kind === "file") {
    if (!input.path) throw new CustodyError("Internal", "media input has an empty path", { retryable: false });
    return [...seek, "-protocol_whitelist", ALLOWED_PROTOCOLS.file, "-format_whitelist", ALLOWED_DEMUXERS.join(","), "-i", `file:${path.resolve(input.path)}`];
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
    ...seek,
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

/** `-ss` in plain decimal seconds (never exponent notation, which ffmpeg's time parser refuses). */
function seekArguments(seekInSeconds: number | undefined): string[] {
  if (seekInSeconds === undefined) return [];
  if (!Number.isFinite(seekInSeconds) || seekInSeconds < 0) throw new CustodyError("Internal", `input seek must be a non-negative number of seconds, not ${seekInSeconds}`, { retryable: false });
  return ["-ss", seekInSeconds.toFixed(6)];
}

/** What fluent-ffmpeg writes as the target of a stream output: the value of our trailing `-progress`. */
const PROGRESS_TARGET = "pipe:1";

/** One `-i` of an ffmpeg command line: the options before it, and its argument. */
export interface FfmpegCommandInput {
  /** Everything before this `-i`: (first input only) the global options, then the hardened input options. */
  options: string[];
  /** The `-i` argument. */
  source: string;
}

/** An ffmpeg command line, split the way fluent-ffmpeg assembles it (see fluent-run.ts). */
export interface FfmpegCommandLine {
  /** The inputs in order (at least one). */
  inputs: FfmpegCommandInput[];
  /** The caller's output arguments, then `-progress` (fluent-ffmpeg appends its value, `pipe:1`). */
  outputOptions: string[];
  /** The whole argument vector ffmpeg is given. */
  arguments: string[];
}

/**
 * `-hide_banner -nostdin -y -loglevel level+info -nostats [-ss T] <input options> -i <input>
 * [[-ss T] <input options> -i <input> …] <outputArguments> -progress pipe:1`.
 */
export function ffmpegArguments(input: MediaInput | readonly MediaInput[], outputArguments: string[], urlReadTimeoutInMs = 30_000, seek?: MediaRunOptions["seek"]): FfmpegCommandLine {
  const list: readonly MediaInput[] = Array.isArray(input) ? input : [input as MediaInput];
  if (list.length === 0) throw new CustodyError("Internal", "an ffmpeg run needs at least one input", { retryable: false });
  if (seek !== undefined && list.length !== 1) throw new CustodyError("Internal", "a time-range seek applies to a run with one input", { retryable: false });
  const inputs = list.map((one, k): FfmpegCommandInput => {
    const hardened = inputArguments(one, urlReadTimeoutInMs);
    const global = k === 0 ? ["-hide_banner", "-nostdin", "-y", "-loglevel", "level+info", "-nostats", ...rangeSeekArguments(seek)] : [];
    return { options: [...global, ...hardened.slice(0, -2)], source: hardened[hardened.length - 1] };
  });
  const outputOptions = [...outputArguments, "-progress"];
  return { inputs, outputOptions, arguments: [...inputs.flatMap((i) => [...i.options, "-i", i.source]), ...outputOptions, PROGRESS_TARGET] };
}

/** A time range's `-ss`/`-t` input options (MediaRunOptions.seek); refused when not finite and non-negative (they would be read as something else). */
export function rangeSeekArguments(seek: MediaRunOptions["seek"]): string[] {
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

/**
 * Protocols of a join over read URLs: `file` for the concat scripts (ours, checked line by
 * line by {@link checkRemoteConcatScript}); `http,https,tcp,tls` for the segments they name
 * (the concat demuxer passes its allow-lists on to each file it opens). `crypto`, `data`,
 * `subfile`, `concat`, … are never needed.
 */
export const STREAM_JOIN_PROTOCOLS = "file,http,https,tcp,tls";

/**
 * The command line of a join whose segments are read URLs and whose output goes to `target`
 * (the adapter's local socket, `unix:<path>`). `-safe 0`: a URL is not a "safe" plain name, so
 * what the scripts may name is enforced by {@link checkRemoteConcatScript} and the protocol
 * list instead. `-xerror`: a read error on a segment (network) ends ffmpeg with a failure
 * instead of ending that input early and writing a short proxy.
 */
export function streamJoinArguments(inputs: MediaRemoteJoinInput[], outputArguments: string[], target: string): FfmpegCommandLine {
  if (inputs.length === 0) throw new CustodyError("Internal", "a join needs at least one concat script", { retryable: false });
  if (!target.startsWith("unix:")) throw new CustodyError("Internal", "a streamed join writes only to its local socket", { retryable: false });
  const commandInputs = inputs.map((input, k): FfmpegCommandInput => {
    if (input.kind !== "concat-urls" || !input.path) throw new CustodyError("Internal", "a streamed join input must be a local concat script of read URLs", { retryable: false });
    const global = k === 0 ? ["-hide_banner", "-nostdin", "-y", "-loglevel", "level+info", "-nostats", "-xerror"] : [];
    return { options: [...global, "-protocol_whitelist", STREAM_JOIN_PROTOCOLS, "-format_whitelist", JOIN_DEMUXERS, "-f", "concat", "-safe", "0"], source: `file:${path.resolve(input.path)}` };
  });
  const outputOptions = [...outputArguments, target, "-progress"];
  return { inputs: commandInputs, outputOptions, arguments: [...commandInputs.flatMap((i) => [...i.options, "-i", i.source]), ...outputOptions, PROGRESS_TARGET] };
}

/** A concat script line a join over read URLs may have. */
const REMOTE_SCRIPT_LINE = [/^ffconcat version 1\.0$/, /^file 'https?:\/\/[^'\\\s]+'$/, /^(inpoint|outpoint|duration) \d+\.\d{6}$/];

/**
 * Refuses a script with anything but the header, `file '<http(s) URL>'` (no quote, backslash
 * or white space inside) and `inpoint`/`outpoint`/`duration` lines: with `-safe 0` and `file` in
 * the protocol list, a `file '/etc/…'` line would otherwise be read.
 */
export function checkRemoteConcatScript(text: string): void {
  const lines = text.split("\n").filter((line) => line !== "");
  if (lines[0] !== "ffconcat version 1.0") throw new CustodyError("Internal", "a concat script of read URLs must start with `ffconcat version 1.0`", { retryable: false });
  lines.forEach((line, k) => {
    if (!REMOTE_SCRIPT_LINE.some((pattern) => pattern.test(line))) {
      throw new CustodyError("Internal", `line ${k + 1} of a concat script of read URLs is not a read URL, inpoint, outpoint or duration`, { retryable: false });
    }
  });
}
