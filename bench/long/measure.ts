/**
 * What one run of the long bench costs, measured from outside the work: wall time, CPU seconds
 * of the child processes, the peak RSS of each ffmpeg/ffprobe it started, the peak bytes in its
 * working folder and this (host) process's peak RSS. Linux only (it reads /proc).
 *
 * CPU: `/proc/self/stat` fields 16–17 (cutime + cstime) are the user and system time of every
 * child this process has waited for. Node reaps each ffmpeg as it exits, so the difference
 * across a run is exactly its children's CPU — provided nothing else of ours exits meanwhile
 * (the runs are sequential; Azurite, a child too, is reaped only when the bench stops it).
 * Resolution: one clock tick (`getconf CLK_TCK`, 100 Hz here), i.e. 10 ms.
 *
 * Peaks are sampled every {@link SAMPLE_INTERVAL_IN_MS} ms: VmHWM of each child (the kernel's
 * own high-water mark, so a sample misses only what grows in the last interval before exit),
 * the summed size of the files under the run's folder, and this process's RSS.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

export const SAMPLE_INTERVAL_IN_MS = 100;

export interface RunFigures {
  wallSeconds: number;
  /** user + system seconds of the child processes that ended during the run. */
  cpuSeconds: number;
  /** Highest VmHWM among the run's ffmpeg/ffprobe processes, bytes (0: none seen). */
  peakChildRssBytes: number;
  /** Highest summed file size under the run's folder, bytes (0: no folder watched). */
  peakDiskBytes: number;
  /** Highest RSS of this process during the run, bytes. */
  peakHostRssBytes: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) of the children this process has waited for, so far. */
export function reapedChildrenCpuSeconds(): number {
  const text = readFileSync("/proc/self/stat", "utf8");
  // The command name (field 2) is in parentheses and may contain spaces: count from after it.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17.
  return (Number(fields[13]) + Number(fields[14])) / clockTicks();
}

/** Summed size of the regular files under `dir` (hard links count once per name); 0 when it is gone. */
export function directoryBytes(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    try {
      if (entry.isDirectory()) total += directoryBytes(full);
      else if (entry.isFile()) total += statSync(full).size;
    } catch {
      // removed between the listing and the stat
    }
  }
  return total;
}

/** Child pids of this process (all threads). */
function childPids(): number[] {
  const pids: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${process.pid}/task`)) {
      const text = readFileSync(`/proc/${process.pid}/task/${task}/children`, "utf8").trim();
      if (text !== "") pids.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // no /proc children files: no child figures
  }
  return pids;
}

function mediaChildHwm(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const name = /^Name:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? "";
    if (name !== "ffmpeg" && name !== "ffprobe") return undefined;
    const hwm = /^VmHWM:\s*(\d+)\s*kB/m.exec(text)?.[1];
    return hwm === undefined ? undefined : Number(hwm) * 1024;
  } catch {
    return undefined;
  }
}

export interface MeasureOptions {
  /** The run's working folder, whose bytes are sampled. */
  dir?: string;
}

/** Runs `work` and measures it (see the file header). */
export async function measure<T>(work: () => Promise<T>, options: MeasureOptions = {}): Promise<{ value: T; figures: RunFigures }> {
  const peaks = { child: 0, disk: 0, host: process.memoryUsage().rss };
  const sample = (): void => {
    for (const pid of childPids()) {
      const hwm = mediaChildHwm(pid);
      if (hwm !== undefined && hwm > peaks.child) peaks.child = hwm;
    }
    if (options.dir !== undefined) peaks.disk = Math.max(peaks.disk, directoryBytes(options.dir));
    peaks.host = Math.max(peaks.host, process.memoryUsage().rss);
  };
  const cpuBefore = reapedChildrenCpuSeconds();
  const started = performance.now();
  const timer = setInterval(sample, SAMPLE_INTERVAL_IN_MS);
  try {
    const value = await work();
    sample(); // the outputs as they are at the end (the folder is at its fullest)
    return {
      value,
      figures: {
        wallSeconds: (performance.now() - started) / 1000,
        cpuSeconds: reapedChildrenCpuSeconds() - cpuBefore,
        peakChildRssBytes: peaks.child,
        peakDiskBytes: peaks.disk,
        peakHostRssBytes: peaks.host,
      },
    };
  } finally {
    clearInterval(timer);
  }
}
