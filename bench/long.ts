/**
 * `npm run bench:long`: a segment-parallel transcode of a generated long recording against one
 * single run of the same encode, side by side in one run, with the bare tools (ffmpeg spawned
 * with the production command lines), and the thumbnail stage on the short vs the long
 * recording. Prints the tables of bench/long/report.ts and writes bench/results/long-<time>.json.
 *
 *   npm run bench:long                                   # 2 hours of 1280×720, 60 s segments
 *   node dist/bench/long.js --minutes 20                 # smoke run (20-minute recording)
 *   node dist/bench/long.js --segment-seconds 30 --size 640x360 --skip single,thumbnails
 *
 * Flags: --minutes (recording, default 120), --source-minutes (generated clip, default 10; the
 * recording is a whole number of clips), --size WxH (default 1280x720), --segment-seconds
 * (default DEFAULT_SEGMENT_SECONDS), --join stream[,…] (bench/long/joins.ts), --hours and
 * --instances (projection, default 10 h on 50), --max-segments (segments per plan before the
 * planner lengthens them, default 400), --cache DIR (generated inputs, kept; default
 * <tmp>/custody-bench-long), --skip single,thumbnails, --json; --report FILE prints the tables of
 * an earlier run's bench/results/long-*.json instead of running.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite, type AzuriteInstance } from "../local/azurite";
import { AzureBlobStore } from "../shared/adapters/azure-blob-store";
import { createBlobServiceClient } from "../shared/adapters/blob-service-client";
import { ffmpegArguments } from "../shared/adapters/ffmpeg/arguments";
import { createFfmpegMediaTool, type FfmpegMediaTool } from "../shared/adapters/ffmpeg/media-tool";
import type { MediaProbe } from "../shared/media/probe";
import { DEFAULT_SEGMENT_SECONDS, planSegmentEncode, planSegments, type EncodedSegment, type SegmentPlan } from "../shared/media/segment-plan";
import { DEFAULT_PROXY_MAX_SIDE, planTranscode } from "../shared/media/transcode-plan";
import { aacStatedSlack, type JoinExpectation } from "../shared/media/verify-join";
import { DERIVED_CONTAINER } from "../shared/ports/blob-store";
import { count, parseFlags } from "./args";
import { LONG_JOINS } from "./long/joins";
import { prepareInputs } from "./long/inputs";
import { runBare } from "./media/bare-ffmpeg";
import { measure, type RunFigures } from "./long/measure";
import type { MeasuredSegment } from "./long/projection";
import { combine, longReport, type KindFigures, type LongFigures, type ThumbnailFigures } from "./long/report";
import { thumbnailsOnce, uploadOriginal } from "./media/thumbnail-item";
import { writeResultFile } from "./support/results";
import { printResults, runMain } from "./support/standalone";

const MINUTES = 60_000;
/** HLS target duration of the joined playlist (the join stage's own choice is not built yet). */

interface LongOptions {
  recordingSeconds: number;
  clipSeconds: number;
  width: number;
  height: number;
  segmentSeconds: number;
  joins: string[];
  hours: number;
  instances: number;
  maxSegmentsPerPlan: number;
  cacheDir: string;
  skip: Set<string>;
  json: boolean;
  /** Print the tables of an earlier run's results file instead of running. */
  report?: string;
}

function parseOptions(): LongOptions {
  const values = parseFlags({
    minutes: { type: "string" },
    "source-minutes": { type: "string" },
    size: { type: "string" },
    "segment-seconds": { type: "string" },
    join: { type: "string" },
    hours: { type: "string" },
    instances: { type: "string" },
    "max-segments": { type: "string" },
    cache: { type: "string" },
    skip: { type: "string" },
    report: { type: "string" },
  });
  const size = /^(\d+)x(\d+)$/.exec(values.size ?? "1280x720");
  if (!size) throw new Error(`--size must be WIDTHxHEIGHT, not "${values.size}"`);
  const joins = (values.join ?? "stream").split(",");
  for (const join of joins) if (!(join in LONG_JOINS)) throw new Error(`--join: no join "${join}" (known: ${Object.keys(LONG_JOINS).join(", ")})`);
  const skip = new Set((values.skip ?? "").split(",").filter(Boolean));
  for (const part of skip) if (part !== "single" && part !== "thumbnails") throw new Error(`--skip takes single and/or thumbnails, not "${part}"`);
  const segmentSeconds = Number(values["segment-seconds"] ?? DEFAULT_SEGMENT_SECONDS);
  if (!(segmentSeconds > 0)) throw new Error(`--segment-seconds must be a positive number, not "${values["segment-seconds"]}"`);
  return {
    recordingSeconds: count(values.minutes, "--minutes", 120, 1) * 60,
    clipSeconds: count(values["source-minutes"], "--source-minutes", 10, 1) * 60,
    width: Number(size[1]),
    height: Number(size[2]),
    segmentSeconds,
    joins,
    hours: count(values.hours, "--hours", 10, 1),
    instances: count(values.instances, "--instances", 50, 1),
    maxSegmentsPerPlan: count(values["max-segments"], "--max-segments", 400, 1),
    cacheDir: values.cache ?? path.join(os.tmpdir(), "custody-bench-long"),
    skip,
    json: values.json ?? false,
    report: values.report,
  };
}

/** Non-idle share of all cores between two os.cpus() readings. */
function busyBetween(before: os.CpuInfo[], after: os.CpuInfo[]): number {
  let idle = 0;
  let total = 0;
  after.forEach((cpu, i) => {
    const was = before[i]?.times;
    if (was === undefined) return;
    const t = cpu.times;
    idle += t.idle - was.idle;
    total += t.user - was.user + (t.nice - was.nice) + (t.sys - was.sys) + (t.irq - was.irq) + (t.idle - was.idle);
  });
  return total > 0 ? 1 - idle / total : 0;
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.report !== undefined) {
    const saved = JSON.parse(readFileSync(options.report, "utf8")) as { long?: LongFigures };
    if (saved.long === undefined) throw new Error(`${options.report} holds no long bench figures`);
    printResults([longReport(saved.long)], options.json);
    return;
  }
  const started = performance.now();
  const loadBefore = os.loadavg();
  const log = (line: string): void => void process.stderr.write(`[long] ${new Date().toISOString().slice(11, 19)} ${line}\n`);
  mkdirSync(options.cacheDir, { recursive: true });
  const tool = await createFfmpegMediaTool();
  const ffmpeg = tool.binaries.ffmpeg.path;
  const inputs = await prepareInputs({ ffmpeg, ...options, progress: log });
  const runRoot = mkdtempSync(path.join(os.tmpdir(), "custody-bench-long-run-"));
  let lifetimePeak = process.memoryUsage().rss;
  const lifetime = setInterval(() => (lifetimePeak = Math.max(lifetimePeak, process.memoryUsage().rss)), 200);
  let azurite: AzuriteInstance | undefined;
  let service: BlobServiceClient | undefined;
  const blobStorage = async (): Promise<BlobServiceClient> => {
    if (service === undefined) {
      azurite = await startAzurite({ location: path.join(runRoot, "azurite") });
      service = createBlobServiceClient({ connectionString: azurite.connectionString });
      await service.getContainerClient("originals").createIfNotExists();
      await service.getContainerClient(DERIVED_CONTAINER).createIfNotExists();
    }
    return service;
  };
  try {
    const input = { kind: "file" as const, path: inputs.recording };

    log(`plan: probe ${inputs.recording}`);
    const planned = await measuredKind(async () => {
      const probe = await tool.probe(input, { timeoutInMs: 10 * MINUTES });
      return { probe, plan: planSegments(probe, { targetSeconds: options.segmentSeconds }) };
    });
    const { probe, plan } = planned.value;
    log(`plan: ${plan.segments.length} segments of ${options.segmentSeconds} s (${planned.kind.wallSeconds.toFixed(2)} s)`);

    const storeDir = path.join(runRoot, "store");
    mkdirSync(storeDir);
    const segmented = await encodeSegments(tool, probe, plan, inputs.recording, storeDir, runRoot, log);

    const expected = joinExpectation(probe, plan, segmented.frames);
    const joins: LongFigures["joined"][] = [];
    for (const name of options.joins) {
      log(`join (${name}): ${LONG_JOINS[name].description}`);
      const workDir = path.join(runRoot, `join-${name}`);
      const joined = await measuredKind(
        () => LONG_JOINS[name].run({ tool, plan, segments: segmented.encoded, storeDir, workDir, expected, segmentFrames: segmented.framesBySegment, blobStorage }),
        workDir,
      );
      log(
        `join (${name}): ${joined.kind.wallSeconds.toFixed(1)} s, proxy ${(joined.value.proxyBytes / 2 ** 20).toFixed(0)} MiB${joined.value.problems.length > 0 ? `, PROBLEMS: ${joined.value.problems.join("; ")}` : ""}`,
      );
      joins.push({ kind: joined.kind, steps: joined.value.steps, proxyBytes: joined.value.proxyBytes, playlistBytes: joined.value.playlistBytes, problems: joined.value.problems });
      rmSync(workDir, { recursive: true, force: true });
    }
    rmSync(storeDir, { recursive: true, force: true });

    let single: LongFigures["single"];
    if (!options.skip.has("single")) {
      log("single run: the whole recording in one ffmpeg (planTranscode)");
      const dir = path.join(runRoot, "single");
      mkdirSync(dir);
      const output = path.join(dir, "proxy.out");
      const transcode = planTranscode(probe, { maxSide: DEFAULT_PROXY_MAX_SIDE, outputPath: output });
      const run = await measuredKind(() => runBare(ffmpeg, ffmpegArguments(input, transcode.arguments).arguments), dir);
      single = { kind: run.kind, proxyBytes: statSync(output).size };
      log(`single run: ${run.kind.wallSeconds.toFixed(1)} s wall, ${run.kind.cpuSeconds.toFixed(1)} CPU s`);
      rmSync(dir, { recursive: true, force: true });
    }

    let thumbnails: LongFigures["thumbnails"];
    if (!options.skip.has("thumbnails")) thumbnails = await thumbnailRuns(tool, await blobStorage(), [inputs.clip, inputs.recording], runRoot, log);

    clearInterval(lifetime);
    const figures: LongFigures = {
      recording: { seconds: inputs.recordingSeconds, bytes: statSync(inputs.recording).size, width: options.width, height: options.height, clipSeconds: inputs.clipSeconds },
      targetSegmentSeconds: options.segmentSeconds,
      maxSide: DEFAULT_PROXY_MAX_SIDE,
      join: options.joins[0],
      plan: planned.kind,
      segments: { kind: segmented.kind, each: segmented.each, bytes: segmented.bytes },
      joined: joins[0],
      single,
      thumbnails,
      projection: { hours: options.hours, instances: options.instances, maxSegmentsPerPlan: options.maxSegmentsPerPlan },
      lifetimePeakHostRssBytes: lifetimePeak,
      totalSeconds: (performance.now() - started) / 1000,
      loadAverage: { before: loadBefore, after: os.loadavg() },
    };
    const result = longReport(figures);
    // Further joins (--join a,b): each one's figures next to the first's.
    if (joins.length > 1) result.data.otherJoins = Object.fromEntries(options.joins.slice(1).map((name, i) => [name, joins[i + 1]]));
    log(`figures written to ${writeResultFile("long", result.data)}`);
    printResults([result], options.json);
  } finally {
    clearInterval(lifetime);
    await azurite?.stop();
    rmSync(runRoot, { recursive: true, force: true });
  }
}

/** `work` measured as one run of its kind, with the machine's busy share while it ran. */
async function measuredKind<T>(work: () => Promise<T>, dir?: string): Promise<{ value: T; kind: KindFigures; figures: RunFigures }> {
  const cpus = os.cpus();
  const { value, figures } = await measure(work, { dir });
  return { value, kind: combine([figures], busyBetween(cpus, os.cpus())), figures };
}

interface Segmented {
  kind: KindFigures;
  each: MeasuredSegment[];
  encoded: EncodedSegment[];
  frames: number;
  /** Frames of each segment's video, by index. */
  framesBySegment: Record<number, number>;
  bytes: number;
}

/** Every segment's encode, one after another, each in its own folder; its files then move to `storeDir` (the segment run's upload). */
async function encodeSegments(tool: FfmpegMediaTool, probe: MediaProbe, plan: SegmentPlan, recording: string, storeDir: string, runRoot: string, log: (line: string) => void): Promise<Segmented> {
  const ffmpeg = tool.binaries.ffmpeg.path;
  const cpus = os.cpus();
  const figures: RunFigures[] = [];
  const each: MeasuredSegment[] = [];
  const encoded: EncodedSegment[] = [];
  let frames = 0;
  const framesBySegment: Record<number, number> = {};
  let bytes = 0;
  for (const segment of plan.segments) {
    const dir = path.join(runRoot, `segment-${segment.index}`);
    mkdirSync(dir);
    const names = { videoFile: `seg-${segment.index}.video.mp4`, audioFile: `seg-${segment.index}.audio.mp4` };
    const encode = planSegmentEncode(probe, plan, segment, { maxSide: DEFAULT_PROXY_MAX_SIDE, videoOutputPath: path.join(dir, names.videoFile), audioOutputPath: path.join(dir, names.audioFile) });
    const command = ffmpegArguments({ kind: "file", path: recording }, encode.arguments, undefined, encode.seek);
    const run = await measure(
      async () => {
        await runBare(ffmpeg, command.arguments);
        // The segment run reports its frame count (the join checks the sum): part of the run.
        if (plan.videoIndex === undefined) return 0;
        const out = await tool.probe({ kind: "file", path: path.join(dir, names.videoFile) }, { timeoutInMs: MINUTES });
        return out.streams.find((s) => s.type === "video")?.frames ?? 0;
      },
      { dir },
    );
    frames += run.value;
    framesBySegment[segment.index] = run.value;
    figures.push(run.figures);
    const lengthInSeconds = encode.lengthInSeconds ?? (plan.durationInSeconds ?? 0) - segment.startInMicroseconds / 1e6;
    each.push({ index: segment.index, lengthInSeconds, wallSeconds: run.figures.wallSeconds, cpuSeconds: run.figures.cpuSeconds });
    const files = { videoFile: plan.videoIndex === undefined ? undefined : names.videoFile, audioFile: plan.audioIndex === undefined ? undefined : names.audioFile };
    for (const file of [files.videoFile, files.audioFile]) {
      if (file === undefined) continue;
      bytes += statSync(path.join(dir, file)).size;
      renameSync(path.join(dir, file), path.join(storeDir, file));
    }
    rmSync(dir, { recursive: true, force: true });
    encoded.push({ index: segment.index, ...files, audioPreRollInSeconds: encode.audioPreRollInSeconds, lengthInSeconds: encode.lengthInSeconds });
    if (segment.index % 10 === 0 || segment.index === plan.segments.length - 1)
      log(`segment ${segment.index + 1}/${plan.segments.length}: ${run.figures.wallSeconds.toFixed(1)} s wall, ${run.figures.cpuSeconds.toFixed(1)} CPU s`);
  }
  return { kind: combine(figures, busyBetween(cpus, os.cpus())), each, encoded, frames, framesBySegment, bytes };
}

function joinExpectation(probe: MediaProbe, plan: SegmentPlan, segmentFrames: number): JoinExpectation {
  const video = probe.streams.find((s) => s.index === plan.videoIndex);
  const audio = probe.streams.find((s) => s.index === plan.audioIndex);
  return {
    hasVideo: video !== undefined,
    hasAudio: audio !== undefined,
    durationInSeconds: plan.durationInSeconds,
    maxSide: DEFAULT_PROXY_MAX_SIDE,
    segmentFrames: video === undefined ? undefined : segmentFrames,
    frameRate: video?.frameRate,
    videoDurationInSeconds: video?.durationInSeconds,
    audioDurationInSeconds: audio?.durationInSeconds,
    audioStatedSlackInSeconds: aacStatedSlack(audio?.codec, audio?.sampleRate),
  };
}

/** The thumbnail stage once on each recording (short first), its temporary folder (TMPDIR) measured. */
async function thumbnailRuns(tool: FfmpegMediaTool, service: BlobServiceClient, files: [string, string], runRoot: string, log: (line: string) => void): Promise<[ThumbnailFigures, ThumbnailFigures]> {
  const store = new AzureBlobStore(service);
  const out: ThumbnailFigures[] = [];
  for (const file of files) {
    log(`thumbnails: upload ${path.basename(file)}`);
    const message = await uploadOriginal(service, file);
    const tmp = path.join(runRoot, `thumbnails-${out.length}`);
    mkdirSync(tmp);
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = tmp; // the stage's work folder is made under os.tmpdir()
    try {
      const run = await measuredKind(() => thumbnailsOnce(message, store, tool, log), tmp);
      const t = run.value;
      out.push({
        label: `${Math.round(t.durationInSeconds / 60)} min`,
        durationInSeconds: t.durationInSeconds,
        bytes: statSync(file).size,
        thumbnails: t.thumbnails,
        sheets: t.sheets,
        ffmpegRuns: t.ffmpegRuns,
        figures: run.kind,
      });
      log(`thumbnails: ${path.basename(file)} ${t.seconds.toFixed(1)} s (${t.thumbnails} thumbnails, ${t.sheets} sheets, ${t.ffmpegRuns} ffmpeg runs)`);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  }
  return [out[0], out[1]];
}

if (require.main === module) runMain(main);
