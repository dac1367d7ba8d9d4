/**
 * Memory figures of a bench run: this process's RSS sampled on a timer (each sample tagged with
 * the time and the phase it was taken in), the peak RSS (VmHWM) of its child processes read from
 * /proc on every sample, the lifetime peak, and a full GC before a baseline.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as v8 from "node:v8";
import * as vm from "node:vm";

export interface RssSample<P extends string> {
  /** performance.now() when taken. */
  at: number;
  rss: number;
  phase: P;
}

export interface ChildPeak {
  /** The process name (`/proc/<pid>/status`); Azurite shows as "node (Azurite)". */
  name: string;
  /** How many processes of that name were seen. */
  pids: number;
  peakRssMiB: number;
}

export interface RssSamplerOptions<P extends string> {
  intervalInMs: number;
  /** The phase samples are tagged with until `phase` is changed. */
  phase: P;
  /** Also read the VmHWM of child processes on every sample (Linux only; none elsewhere). */
  children?: boolean;
}

/** This process's RSS every `intervalInMs`, from `start()` (which takes the baseline) to `stop()`. */
export class RssSampler<P extends string = "run"> {
  phase: P;
  /** RSS when `start()` was called. */
  baseline = 0;
  readonly samples: Array<RssSample<P>> = [];
  private readonly childPeaks = new Map<number, { name: string; hwmKiB: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RssSamplerOptions<P>) {
    this.phase = options.phase;
  }

  start(): void {
    this.baseline = process.memoryUsage().rss;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.options.intervalInMs);
  }

  /** Stops sampling and takes a last sample. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  /** The highest RSS among the samples `which` selects (all by default); 0 when none. */
  peak(which: (sample: RssSample<P>) => boolean = () => true): number {
    let peak = 0;
    for (const sample of this.samples) if (which(sample) && sample.rss > peak) peak = sample.rss;
    return peak;
  }

  /** The children's peaks, by process name. */
  children(): ChildPeak[] {
    const byName = new Map<string, { pids: number; hwmKiB: number }>();
    for (const child of this.childPeaks.values()) {
      const entry = byName.get(child.name) ?? { pids: 0, hwmKiB: 0 };
      entry.pids++;
      entry.hwmKiB = Math.max(entry.hwmKiB, child.hwmKiB);
      byName.set(child.name, entry);
    }
    return [...byName].map(([name, e]) => ({ name: name === "node" ? "node (Azurite)" : name, pids: e.pids, peakRssMiB: Math.round((e.hwmKiB / 1024) * 10) / 10 }));
  }

  private sample(): void {
    this.samples.push({ at: performance.now(), rss: process.memoryUsage().rss, phase: this.phase });
    if (!this.options.children) return;
    for (const pid of childPids(process.pid)) {
      const status = procStatus(pid);
      if (status === undefined) continue;
      const known = this.childPeaks.get(pid);
      this.childPeaks.set(pid, { name: status.name, hwmKiB: Math.max(known?.hwmKiB ?? 0, status.hwmKiB) });
    }
  }
}

/** Peak resident set size of this process so far, in MiB (`maxRSS` is in KiB). */
export function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** A full GC before a memory baseline (global.gc when exposed, else exposed at run time). */
export function collectGarbage(): void {
  try {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) {
      exposed();
      return;
    }
    v8.setFlagsFromString("--expose-gc");
    (vm.runInNewContext("gc") as () => void)();
  } catch {
    // Without a GC the baseline is only less tidy.
  }
}

function childPids(pid: number): number[] {
  try {
    const pids: number[] = [];
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (text !== "") pids.push(...text.split(/\s+/).map(Number));
    }
    return pids;
  } catch {
    return []; // not Linux, or no /proc/<pid>/task/<tid>/children: no child figures
  }
}

function procStatus(pid: number): { name: string; hwmKiB: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const name = /^Name:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? "?";
    const hwm = /^VmHWM:\s*(\d+)\s*kB/m.exec(text)?.[1];
    return hwm === undefined ? undefined : { name, hwmKiB: Number(hwm) };
  } catch {
    return undefined; // exited between the listing and the read
  }
}
