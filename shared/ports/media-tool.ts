/**
 * What the media stages need from ffmpeg/ffprobe. Implemented by shared/adapters/ffmpeg/
 * (media-tool.ts; fluent-run.ts there is the only file that may import fluent-ffmpeg, archived
 * upstream). Stages never build command lines for a specific binary path or spawn processes.
 */
import type { Readable } from "node:stream";
import type { MediaProbe } from "../media/probe";

// The probe is a domain type (shared/media/probe.ts); re-exported for the adapters that implement this port.
export type { MediaProbe, MediaStreamInfo, MediaStreamType } from "../media/probe";

/**
 * Where ffmpeg reads the original: a local file, or a short-lived read-only URL (no full local
 * copy). `seekInSeconds` (ffmpeg runs only) opens the input there — an input-side seek: the
 * demuxer jumps to the keyframe before that time and only that group of pictures is decoded,
 * so one frame costs the same at any position in any length of recording.
 */
export type MediaInput = ({ kind: "file"; path: string } | { kind: "url"; url: string }) & { seekInSeconds?: number };

export interface MediaRunOptions {
  /**
   * Ceiling: the process is killed (SIGKILL) when it passes, whatever its progress. For ffmpeg
   * runs a generous backstop derived from the expected work (shared/media/run-limits.ts); the
   * stall window is what catches a hung run.
   */
  timeoutInMs: number;
  /**
   * ffmpeg runs: killed when its `-progress` output (out_time, frame, total_size) has not
   * advanced for this long — a hung read or a stuck process, retried as transient. Default:
   * the adapter's (60 s). Probes print no progress and have only `timeoutInMs`.
   */
  stallTimeoutInMs?: number;
  abortSignal?: AbortSignal;
  /** Called with 0..1 as ffmpeg reports progress (for lock renewal/logging). */
  onProgress?: (fraction: number) => void;
  /**
   * ffmpeg runs: input seeking — read only this part of the input (`-ss`/`-t` before `-i`;
   * a segment of a long recording). Seconds from the input's start.
   */
  seek?: { startInSeconds: number; durationInSeconds?: number };
}

export interface MediaRunResult {
  /** The exact argument vector passed to the binary (provenance). */
  arguments: string[];
  /** Last lines of stderr (the real cause is often on the last line, not the first). */
  stderrTail: string;
  durationInMs: number;
}

export interface MediaToolVersions {
  ffmpeg: string;
  ffprobe: string;
}

export interface MediaTool {
  versions(): Promise<MediaToolVersions>;
  /** Probes the input; a crash (signal), a timeout or an unreadable file is a CustodyError with the stderr tail. */
  probe(input: MediaInput, options: MediaRunOptions): Promise<MediaProbe>;
  /**
   * Runs ffmpeg with `outputArguments` after the hardened input options the adapter owns
   * (protocol and demuxer allow-lists, `-nostdin`, …). The adapter adds `-i <input>` — for a
   * list, one per entry, each hardened, numbered 0, 1, … in order (several seeks into one
   * recording in one process); the caller gives everything after them, including the output path(s).
   */
  run(input: MediaInput | readonly MediaInput[], outputArguments: string[], options: MediaRunOptions): Promise<MediaRunResult>;
}

/**
 * An ffconcat script (local file, written by the caller) whose `file` entries are short-lived
 * http(s) read URLs of earlier runs' outputs in Blob Storage: the segments are read where they
 * are, never copied to local disk. The adapter checks every line before ffmpeg sees it (only
 * `ffconcat version 1.0`, `file '<http(s) URL>'`, `inpoint`, `outpoint`, `duration`).
 */
export interface MediaRemoteJoinInput {
  kind: "concat-urls";
  path: string;
}

export interface MediaStreamJoinOptions extends MediaRunOptions {
  /** A private directory of this run (mode 0700): the adapter makes the output's local socket there. */
  workDir: string;
}

/**
 * Takes ffmpeg's output as it is written. `finished` settles when ffmpeg has exited: it
 * resolves with the run, or rejects with its failure — so a consumer can hold back the end of
 * what it does with the bytes (committing an upload) until the run is known to have succeeded.
 */
export type MediaOutputConsumer<T> = (output: Readable, finished: Promise<MediaRunResult>) => Promise<T>;

/** The runs segment-parallel transcoding adds: the join of the segments by stream copy. */
export interface SegmentMediaTool extends MediaTool {
  /**
   * Runs ffmpeg over concat scripts naming read URLs (in order: input 0, 1, …) with
   * `outputArguments` (everything but the output's target, which the adapter adds: a local
   * socket whose bytes go to `consume` — no output file). Reads only what the scripts name
   * (`file` for the scripts, `http,https,tcp,tls` for the segments; concat and MP4 demuxers;
   * `-safe 0`, as URLs are not plain names). When `consume` fails, ffmpeg is killed; when
   * ffmpeg fails, the consumer's stream ends with an error. URL queries (SAS) are redacted from
   * the arguments, the stderr tail and error messages. The stall window applies as for `run`:
   * a consumer that stops reading stalls ffmpeg's output and so its progress.
   */
  joinToStream<T>(inputs: MediaRemoteJoinInput[], outputArguments: string[], consume: MediaOutputConsumer<T>, options: MediaStreamJoinOptions): Promise<{ run: MediaRunResult; output: T }>;
}
