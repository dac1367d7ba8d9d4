/** The long bench's figures as tables and JSON. Pure. */
import { GiB, MiB } from "../support/sizes";
import type { BenchResult, BenchTable } from "../types";
import type { RunFigures } from "./measure";
import { criticalPathSeconds, projectTimeToReady, type MeasuredSegment, type Projection } from "./projection";

/** Several runs of one kind, summed (wall, CPU) and maximised (peaks). */
export interface KindFigures {
  runs: number;
  wallSeconds: number;
  longestWallSeconds: number;
  cpuSeconds: number;
  peakChildRssBytes: number;
  peakDiskBytes: number;
  peakHostRssBytes: number;
  /** Non-idle share of all the machine's cores while these runs ran (other work included). */
  machineBusyFraction?: number;
}

export function combine(figures: readonly RunFigures[], machineBusyFraction?: number): KindFigures {
  return {
    runs: figures.length,
    wallSeconds: sum(figures.map((f) => f.wallSeconds)),
    longestWallSeconds: Math.max(0, ...figures.map((f) => f.wallSeconds)),
    cpuSeconds: sum(figures.map((f) => f.cpuSeconds)),
    peakChildRssBytes: Math.max(0, ...figures.map((f) => f.peakChildRssBytes)),
    peakDiskBytes: Math.max(0, ...figures.map((f) => f.peakDiskBytes)),
    peakHostRssBytes: Math.max(0, ...figures.map((f) => f.peakHostRssBytes)),
    machineBusyFraction,
  };
}

export interface ThumbnailFigures {
  label: string;
  durationInSeconds: number;
  bytes: number;
  thumbnails: number;
  sheets: number;
  ffmpegRuns: number;
  figures: KindFigures;
}

export interface LongFigures {
  recording: { seconds: number; bytes: number; width: number; height: number; clipSeconds: number };
  targetSegmentSeconds: number;
  maxSide: number;
  join: string;
  plan: KindFigures;
  segments: { kind: KindFigures; each: MeasuredSegment[]; bytes: number };
  joined: { kind: KindFigures; steps: Array<{ name: string; figures: RunFigures }>; proxyBytes: number; playlistBytes: number; problems: string[] };
  /** Undefined when skipped. */
  single?: { kind: KindFigures; proxyBytes: number };
  /** Short recording first, then the long one; undefined when skipped. */
  thumbnails?: [ThumbnailFigures, ThumbnailFigures];
  projection: { hours: number; instances: number; maxSegmentsPerPlan: number };
  /** Peak RSS of this process over the whole bench (the Node host). */
  lifetimePeakHostRssBytes: number;
  totalSeconds: number;
  loadAverage: { before: number[]; after: number[] };
}

/** vCPUs of a Flex Consumption instance with 4,096 MB (the media app's size). */
export const FLEX_VCPUS = 2;

export const GOALS = { cpuRatio: 1.1, readyMinutes: 10, thumbnailRatio: 1.3, diskBytes: 256 * MiB, hostRssBytes: 300 * MiB } as const;

export interface LongSummary {
  cpuRatio?: number;
  critical: { planSeconds: number; longestSegment: MeasuredSegment; joinSeconds: number; totalSeconds: number };
  /** Segment time from this machine's wall times (contention included). */
  projection: Projection;
  /** Segment time from CPU seconds ÷ the instance's vCPUs (an uncontended instance, every core busy: a lower bound). */
  projectionFromCpu: Projection;
  thumbnailRatio?: number;
  joinSecondsPerGiB: number;
  peakRunDiskBytes: number;
  /** This process's peak RSS during the measured runs (not the bench's own uploads and setup). */
  peakRunHostRssBytes: number;
}

export function summarize(f: LongFigures): LongSummary {
  const segmentedCpu = f.segments.kind.cpuSeconds + f.joined.kind.cpuSeconds;
  const critical = criticalPathSeconds(f.plan.wallSeconds, f.segments.each, f.joined.kind.wallSeconds);
  const projectionInput = {
    measuredSeconds: f.recording.seconds,
    segments: f.segments.each,
    planSeconds: f.plan.wallSeconds,
    joinSeconds: f.joined.kind.wallSeconds,
    proxyBytes: f.joined.proxyBytes,
    projectedSeconds: f.projection.hours * 3600,
    instances: f.projection.instances,
    targetSegmentSeconds: f.targetSegmentSeconds,
    maxSegmentsPerPlan: f.projection.maxSegmentsPerPlan,
  };
  const projection = projectTimeToReady(projectionInput);
  const projectionFromCpu = projectTimeToReady({ ...projectionInput, basis: { kind: "cpu", cores: FLEX_VCPUS } });
  return {
    cpuRatio: f.single === undefined || f.single.kind.cpuSeconds === 0 ? undefined : segmentedCpu / f.single.kind.cpuSeconds,
    critical: { planSeconds: f.plan.wallSeconds, longestSegment: critical.longestSegment, joinSeconds: f.joined.kind.wallSeconds, totalSeconds: critical.totalSeconds },
    projection,
    projectionFromCpu,
    thumbnailRatio: f.thumbnails === undefined ? undefined : f.thumbnails[1].figures.wallSeconds / f.thumbnails[0].figures.wallSeconds,
    joinSecondsPerGiB: f.joined.kind.wallSeconds / (f.joined.proxyBytes / GiB),
    peakRunDiskBytes: Math.max(f.segments.kind.peakDiskBytes, f.joined.kind.peakDiskBytes, f.single?.kind.peakDiskBytes ?? 0),
    peakRunHostRssBytes: Math.max(...[f.plan, f.segments.kind, f.joined.kind, f.single?.kind, ...(f.thumbnails ?? []).map((t) => t.figures)].map((k) => k?.peakHostRssBytes ?? 0)),
  };
}

const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;
const minutes = (seconds: number): string => `${(seconds / 60).toFixed(1)} min`;
const met = (ok: boolean | undefined): string => (ok === undefined ? "–" : ok ? "yes" : "**no**");
const busy = (fraction: number | undefined): string | null => (fraction === undefined ? null : `${Math.round(fraction * 100)} %`);

export function longReport(f: LongFigures): BenchResult {
  const s = summarize(f);
  const length = f.recording.seconds / 3600 >= 1 ? `${(f.recording.seconds / 3600).toFixed(1)} h` : `${Math.round(f.recording.seconds / 60)} min`;
  const hours = `${f.projection.hours} h on ${f.projection.instances} instances`;
  const goals: BenchTable = {
    title: `Goals (${length} ${f.recording.width}×${f.recording.height} recording, ${f.targetSegmentSeconds} s segments, join: ${f.join})`,
    columns: ["measurement", "measured", "goal", "met"],
    rows: [
      [
        "CPU, segmented (every segment + join) ÷ one single run",
        s.cpuRatio === undefined ? "skipped" : `${s.cpuRatio.toFixed(3)}× (${Math.round(f.segments.kind.cpuSeconds + f.joined.kind.cpuSeconds)} ÷ ${Math.round(f.single!.kind.cpuSeconds)} CPU s)`,
        `≤ ${GOALS.cpuRatio}×`,
        met(s.cpuRatio === undefined ? undefined : s.cpuRatio <= GOALS.cpuRatio),
      ],
      ["critical path: plan + longest segment + join (measured)", `${s.critical.totalSeconds.toFixed(1)} s`, "–", "–"],
      [
        `projected time to ready, ${hours}: segments at this machine's wall times`,
        minutes(s.projection.totalSeconds),
        `≤ ${GOALS.readyMinutes} min`,
        met(s.projection.totalSeconds <= GOALS.readyMinutes * 60),
      ],
      [
        `the same, segments at CPU s ÷ ${FLEX_VCPUS} vCPU (uncontended instance; lower bound)`,
        minutes(s.projectionFromCpu.totalSeconds),
        `≤ ${GOALS.readyMinutes} min`,
        met(s.projectionFromCpu.totalSeconds <= GOALS.readyMinutes * 60),
      ],
      [
        `thumbnail stage, ${length} ÷ ${Math.round(f.recording.clipSeconds / 60)} min`,
        s.thumbnailRatio === undefined ? "skipped" : `${s.thumbnailRatio.toFixed(2)}×`,
        `≤ ${GOALS.thumbnailRatio}×`,
        met(s.thumbnailRatio === undefined ? undefined : s.thumbnailRatio <= GOALS.thumbnailRatio),
      ],
      ["peak local disk, one segment run", `${mib(f.segments.kind.peakDiskBytes)} MiB`, "≤ 256 MiB", met(f.segments.kind.peakDiskBytes <= GOALS.diskBytes)],
      [`peak local disk, join run (${f.join})`, `${mib(f.joined.kind.peakDiskBytes)} MiB`, "≤ 256 MiB", met(f.joined.kind.peakDiskBytes <= GOALS.diskBytes)],
      ["peak RSS of the Node host during any run", `${mib(s.peakRunHostRssBytes)} MiB`, "≤ 300 MiB", met(s.peakRunHostRssBytes <= GOALS.hostRssBytes)],
      [`join time per GiB of proxy (${f.join})`, `${s.joinSecondsPerGiB.toFixed(1)} s/GiB`, "–", "–"],
    ],
  };

  const kindRow = (name: string, k: KindFigures, recordingSeconds?: number): Array<string | number | null> => [
    name,
    k.runs,
    k.wallSeconds,
    k.longestWallSeconds,
    k.cpuSeconds,
    recordingSeconds === undefined ? null : k.cpuSeconds / (recordingSeconds / 60),
    mib(k.peakChildRssBytes),
    mib(k.peakDiskBytes),
    mib(k.peakHostRssBytes),
    busy(k.machineBusyFraction),
  ];
  const rows = [kindRow("plan (ffprobe + planSegments)", f.plan), kindRow(`segment encodes (${f.segments.each.length}, one after another)`, f.segments.kind, f.recording.seconds)];
  rows.push(kindRow(`join: ${f.join}`, f.joined.kind, f.recording.seconds));
  for (const step of f.joined.steps) rows.push(kindRow(`  ${step.name}`, combine([step.figures])));
  if (f.single !== undefined) rows.push(kindRow("single run (planTranscode), whole recording", f.single.kind, f.recording.seconds));
  for (const t of f.thumbnails ?? []) rows.push(kindRow(`thumbnail stage, ${t.label}`, t.figures));
  const runs: BenchTable = {
    title: "Runs by kind (wall and CPU summed over the runs; peaks: the highest of any one run)",
    columns: ["run", "runs", "wall s", "longest s", "CPU s", "CPU s / min", "peak ffmpeg RSS MiB", "peak disk MiB", "peak host RSS MiB", "machine busy"],
    rows,
  };

  const p = s.projection;
  const c = s.projectionFromCpu;
  const waves = (q: Projection): string => `${q.waves} waves × ${q.segmentWallSeconds.toFixed(1)} s (${q.segments} segments of ${q.segmentSeconds.toFixed(1)} s)`;
  const projection: BenchTable = {
    title: `Critical path (measured) and the projection to ${hours}`,
    columns: ["part", "measured", `projected (${f.projection.hours} h), wall basis`, `CPU ÷ ${FLEX_VCPUS} basis`, "how"],
    rows: [
      ["plan", s.critical.planSeconds, p.planSeconds, c.planSeconds, "× length ratio (the probe parses the sample index)"],
      [
        "segments",
        `longest ${s.critical.longestSegment.wallSeconds.toFixed(1)} s (#${s.critical.longestSegment.index}, ${s.critical.longestSegment.lengthInSeconds.toFixed(1)} s of video)`,
        waves(p),
        waves(c),
        "slowest measured s per s of video × segment length; waves = ceil(segments ÷ instances)",
      ],
      ["join", s.critical.joinSeconds, p.joinSeconds, c.joinSeconds, `× proxy bytes (${mib(f.joined.proxyBytes)} → ${mib(p.proxyBytes)} MiB)`],
      ["total", s.critical.totalSeconds, p.totalSeconds, c.totalSeconds, `${minutes(p.totalSeconds)} / ${minutes(c.totalSeconds)}`],
    ],
  };

  const notes = [
    `recording: a ${Math.round(f.recording.clipSeconds / 60)}-minute generated clip (testsrc2 + 440 Hz, H.264 veryfast GOP 2 s, AAC) repeated by stream copy to ${length} (${mib(f.recording.bytes)} MiB); every encode reads the local file (the media bench measured HTTP reads from Azurite as free).`,
    "each run is ffmpeg spawned bare with the production command line: the adapter's ffmpegArguments around planSegmentEncode / planTranscode, and the production join, joinSegmentsToBlob (proxy max side " +
      `${f.maxSide}).`,
    "CPU = user + system seconds of the child processes (cutime + cstime of this process, /proc/self/stat, before and after each run; runs are sequential); RSS = VmHWM of each ffmpeg/ffprobe, and this process's RSS, sampled every 100 ms; disk = bytes under the run's own folder, sampled every 100 ms (the thumbnail stage's via TMPDIR).",
    `segments ${mib(f.segments.bytes)} MiB in all; proxy ${mib(f.joined.proxyBytes)} MiB MP4 + ${mib(f.joined.playlistBytes)} MiB HLS${f.single === undefined ? "" : `; the single run's proxy ${mib(f.single.proxyBytes)} MiB`}.`,
    f.joined.problems.length === 0 ? "join verification (verify-join): passed." : `join verification found: ${f.joined.problems.join("; ")}`,
    `not projected: message hops between the runs, instance scale-out and cold start, HTTPS reads from Blob Storage, uploads of the segments and outputs. Segments are ${f.segments.each.length > 1 ? "encoded one after another here" : "one"}; in Azure each runs on its own instance.`,
    `whole bench ${Math.round(f.totalSeconds)} s, its Node process peaking at ${mib(f.lifetimePeakHostRssBytes)} MiB (uploads to Azurite included); load average ${f.loadAverage.before[0].toFixed(1)} before, ${f.loadAverage.after[0].toFixed(1)} after.`,
  ];
  return { name: "long", tables: [goals, runs, projection], notes, data: { ...f, summary: s } };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
