/**
 * The long bench's recordings, cheap to make and kept between runs: one generated clip
 * (`testsrc2` + a 440 Hz tone, H.264 veryfast with a 2 s GOP as cameras use, AAC 128k, MP4
 * faststart) and the long recording made of it repeated by stream copy (the concat demuxer: no
 * re-encode, so two hours cost a file copy). Files are written under a temporary name and renamed
 * when complete, so an interrupted run never leaves a half file to be reused.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { runBare } from "../media/bare-ffmpeg";

export interface LongInputs {
  /** The generated clip (also the short recording of the thumbnail comparison). */
  clip: string;
  /** The clip repeated to the recording's length. */
  recording: string;
  clipSeconds: number;
  recordingSeconds: number;
}

export interface PrepareInputsOptions {
  ffmpeg: string;
  cacheDir: string;
  width: number;
  height: number;
  clipSeconds: number;
  /** A whole multiple of clipSeconds. */
  recordingSeconds: number;
  progress: (line: string) => void;
}

export async function prepareInputs(options: PrepareInputsOptions): Promise<LongInputs> {
  const { ffmpeg, cacheDir, width, height, clipSeconds, recordingSeconds, progress } = options;
  const repeats = recordingSeconds / clipSeconds;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`the recording (${recordingSeconds} s) must be a whole number of clips (${clipSeconds} s)`);
  const clip = path.join(cacheDir, `clip-${width}x${height}-${clipSeconds}s.mp4`);
  const recording = repeats === 1 ? clip : path.join(cacheDir, `long-${width}x${height}-${clipSeconds}s-x${repeats}.mp4`);
  if (!existsSync(clip)) {
    progress(`generating the ${clipSeconds / 60}-minute ${width}×${height} clip (once; kept in ${cacheDir})`);
    const partial = `${clip}.part.mp4`;
    await runBare(ffmpeg, [
      "-hide_banner",
      "-nostdin",
      "-y",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=${width}x${height}:rate=30:duration=${clipSeconds}`,
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=440:sample_rate=48000:duration=${clipSeconds}`,
      "-map",
      "0:v",
      "-map",
      "1:a",
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-g",
      "60",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-b:a",
      "128k",
      "-shortest",
      "-movflags",
      "+faststart",
      "-f",
      "mp4",
      partial,
    ]);
    renameSync(partial, clip);
  }
  if (!existsSync(recording)) {
    progress(`repeating the clip ${repeats}× by stream copy → ${recording}`);
    const list = `${recording}.ffconcat`;
    writeFileSync(list, `ffconcat version 1.0\n${Array.from({ length: repeats }, () => `file '${path.basename(clip)}'\n`).join("")}`);
    const partial = `${recording}.part.mp4`;
    try {
      await runBare(ffmpeg, ["-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-f", "concat", "-safe", "1", "-i", list, "-c", "copy", "-movflags", "+faststart", "-f", "mp4", partial]);
      renameSync(partial, recording);
    } finally {
      rmSync(list, { force: true });
    }
  }
  return { clip, recording, clipSeconds, recordingSeconds };
}
