/**
 * Thumbnails against the recording's length: the thumbnail stage (`thumbnailOriginal`, called
 * directly against Azurite, reading through a read URL as in Azure) on a generated 10-minute
 * recording and on a 2-hour one made from it by stream copy (the same pictures 12 times, so
 * only the length differs). Goal: 2-hour time ≤ 1.3 × the 10-minute time.
 *
 *   npm run build && node dist/bench/thumbnail-length.js [--inputs DIR] [--rounds N] [--json]
 *
 * `--inputs DIR` reuses DIR/ten-gop61.mp4 and DIR/twohour-gop61.mp4 when they exist (generating
 * the first takes a minute). Inputs: 640×360 30 fps `testsrc2` + 440 Hz `sine`, H.264 ultrafast,
 * AAC, MP4 faststart — the picture size of the figures the old single-decode design was
 * measured with (5.7 s for 2 minutes, 48.9 s for 20 minutes). A keyframe every 61 frames, not
 * 60: the thumbnails fall every 5 s in 10 minutes and every 60 s in 2 hours, and with a 2 s
 * group of pictures those of the 2-hour recording would all land on keyframes (nothing to decode
 * before them) while half of the 10-minute ones land mid-group — 61 spreads both over every
 * position in the group, so the two do the same work per image and only the length differs.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startAzurite } from "../local/azurite";
import { AzureBlobStore } from "../shared/adapters/azure-blob-store";
import { createBlobServiceClient } from "../shared/adapters/blob-service-client";
import { createFfmpegMediaTool } from "../shared/adapters/ffmpeg/media-tool";
import { DERIVED_CONTAINER } from "../shared/ports/blob-store";
import { runBare } from "./media/bare-ffmpeg";
import { thumbnailsOnce, uploadOriginal, type ThumbnailRun } from "./media/thumbnail-item";
import { median } from "./support/statistics";
import { runMain } from "./support/standalone";

interface Figures {
  file: string;
  durationInSeconds: number;
  bytes: number;
  thumbnails: number;
  sheets: number;
  ffmpegRuns: number;
  path: ThumbnailRun["path"];
  excerptSamples?: number;
  excerptBytes?: number;
  stageSeconds: number[];
  medianStageSeconds: number;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const rounds = Number(flag("--rounds") ?? "2");
  const json = argv.includes("--json");
  const log = (line: string) => process.stderr.write(`[thumbnail-length] ${line}\n`);
  const inputs = flag("--inputs") ?? mkdtempSync(path.join(os.tmpdir(), "custody-bench-thumbs-"));
  mkdirSync(inputs, { recursive: true });
  const tool = await createFfmpegMediaTool();
  const ffmpeg = tool.binaries.ffmpeg.path;
  const ten = path.join(inputs, "ten-gop61.mp4");
  const twoHours = path.join(inputs, "twohour-gop61.mp4");
  if (!existsSync(ten)) {
    log(`generate 10 min → ${ten}`);
    await runBare(
      ffmpeg,
      ["-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30", "-f", "lavfi", "-i", "sine=f=440:r=48000", "-t", "600"].concat([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "61",
        "-c:a",
        "aac",
        "-movflags",
        "+faststart",
        ten,
      ]),
    );
  }
  if (!existsSync(twoHours)) {
    log(`concatenate 12 × by stream copy → ${twoHours}`);
    const list = path.join(inputs, "list.txt");
    writeFileSync(list, Array.from({ length: 12 }, () => `file '${ten}'\n`).join(""));
    await runBare(ffmpeg, ["-nostdin", "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i", list, "-c", "copy", "-movflags", "+faststart", twoHours]);
  }
  const azurite = await startAzurite({ location: mkdtempSync(path.join(os.tmpdir(), "custody-bench-thumbs-azurite-")) });
  try {
    const service = createBlobServiceClient({ connectionString: azurite.connectionString });
    await service.getContainerClient("originals").createIfNotExists();
    await service.getContainerClient(DERIVED_CONTAINER).createIfNotExists();
    const store = new AzureBlobStore(service);
    const results: Figures[] = [];
    const only = flag("--only");
    for (const file of [ten, twoHours].filter((f) => only === undefined || path.basename(f) === only)) {
      log(`upload ${file}`);
      const input = await uploadOriginal(service, file);
      const stageSeconds: number[] = [];
      let last: ThumbnailRun | undefined;
      for (let round = 1; round <= rounds; round++) {
        last = await thumbnailsOnce(input, store, tool, log);
        stageSeconds.push(last.seconds);
        log(`${path.basename(file)} round ${round}: ${stageSeconds.at(-1)!.toFixed(2)} s`);
      }
      results.push({
        file: path.basename(file),
        durationInSeconds: last?.durationInSeconds ?? 0,
        bytes: statSync(file).size,
        thumbnails: last?.thumbnails ?? 0,
        sheets: last?.sheets ?? 0,
        ffmpegRuns: last?.ffmpegRuns ?? 0,
        path: last?.path ?? "seeks",
        ...(last?.excerptSamples === undefined ? {} : { excerptSamples: last.excerptSamples, excerptBytes: last.excerptBytes }),
        stageSeconds,
        medianStageSeconds: median(stageSeconds),
      });
    }
    const ratio = results.length === 2 ? results[1].medianStageSeconds / results[0].medianStageSeconds : Number.NaN;
    if (json) process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), results, ratio }, null, 2)}\n`);
    else {
      for (const r of results) {
        process.stdout.write(
          `${r.file.padEnd(12)} ${(r.durationInSeconds / 60).toFixed(0).padStart(4)} min ${(r.bytes / 2 ** 20).toFixed(0).padStart(6)} MiB  ${r.thumbnails} thumbnails, ${r.sheets} sheets, ${r.ffmpegRuns} ffmpeg runs (${r.path === "excerpt" ? `excerpt: ${r.excerptSamples} frames, ${((r.excerptBytes ?? 0) / 2 ** 20).toFixed(1)} MiB` : "seeks"})  stage ${r.medianStageSeconds.toFixed(2)} s (median of ${r.stageSeconds.map((s) => s.toFixed(2)).join(", ")})\n`,
        );
      }
      process.stdout.write(`ratio 2 h / 10 min: ${ratio.toFixed(2)} (goal ≤ 1.3)\n`);
    }
  } finally {
    await azurite.stop();
    if (flag("--inputs") === undefined) rmSync(inputs, { recursive: true, force: true });
  }
}

runMain(main);
