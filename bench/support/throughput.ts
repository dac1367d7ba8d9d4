/**
 * Throughput over time: the moments a byte stream crosses each `windowBytes` boundary, so a
 * long run can show whether its rate holds (steady) or falls (something grows with the bytes
 * already seen). The meter is a pass-through Transform placed between a source and its
 * consumer; it keeps one timestamp per window, nothing of the bytes. With each timestamp it
 * reads this process's CPU time and the machine's idle time, so a window that is slow because
 * other processes took the cores (same CPU per byte, machine busy) can be told from one that
 * is slow because the work per byte grew (more CPU per byte).
 */
import * as os from "node:os";
import { Transform, type Readable } from "node:stream";
import { MiB } from "./sizes";
import { median } from "./statistics";

export interface ThroughputWindow {
  index: number;
  /** First byte of the window. */
  fromBytes: number;
  /** Bytes in the window (the last may be shorter). */
  bytes: number;
  /** performance.now() when its first and last byte passed. */
  startAt: number;
  endAt: number;
  mibPerSecond: number;
  /** This process's CPU time (all threads) spent while the window's bytes passed, per GiB. */
  cpuSecondsPerGiB: number;
  /** Non-idle share of all the machine's cores during the window. */
  machineBusyFraction: number;
}

export interface ThroughputSummary {
  windowBytes: number;
  windows: number;
  /** Over the full-size windows only (a short last window is noisy). */
  minMiBPerSecond: number;
  medianMiBPerSecond: number;
  maxMiBPerSecond: number;
  /** Mean of the last quarter of the full windows ÷ mean of the first quarter: 1 = steady, below 1 = slowing down. */
  lastOverFirstQuarter: number;
  /** Standard deviation ÷ mean over the full windows. */
  coefficientOfVariation: number;
}

interface Mark {
  bytes: number;
  at: number;
  /** process.cpuUsage(), user + system, µs. */
  cpuMicros: number;
  machine: { idle: number; total: number };
}

export class ThroughputMeter {
  private readonly marks: Mark[] = [];
  private bytes = 0;
  private nextBoundary: number;

  constructor(readonly windowBytes: number) {
    if (!Number.isSafeInteger(windowBytes) || windowBytes < 1) throw new Error(`windowBytes must be a positive integer, not ${windowBytes}`);
    this.nextBoundary = windowBytes;
  }

  /** Call just before the first byte is asked for: the first window starts here (so it includes the request's latency). */
  start(): void {
    this.marks.length = 0;
    this.bytes = 0;
    this.nextBoundary = this.windowBytes;
    this.marks.push(mark(0));
  }

  /** Counts `length` bytes arriving now. */
  add(length: number): void {
    this.bytes += length;
    if (this.bytes < this.nextBoundary) return;
    // A chunk is far smaller than a window; should one cross several boundaries, they share its time.
    const now = mark(0);
    while (this.bytes >= this.nextBoundary) {
      this.marks.push({ ...now, bytes: this.nextBoundary });
      this.nextBoundary += this.windowBytes;
    }
  }

  /** Call after the last byte: closes the last, partial window. */
  finish(): void {
    const last = this.marks[this.marks.length - 1];
    if (last === undefined || last.bytes < this.bytes) this.marks.push(mark(this.bytes));
  }

  /** `source` with every chunk counted on its way; errors of the source are passed on. */
  through(source: Readable): Readable {
    const meter = new Transform({
      highWaterMark: MiB,
      transform: (chunk: Buffer, _encoding, callback) => {
        this.add(chunk.length);
        callback(null, chunk);
      },
      flush: (callback) => {
        this.finish();
        callback();
      },
    });
    source.once("error", (error) => meter.destroy(error));
    return source.pipe(meter);
  }

  windows(): ThroughputWindow[] {
    const windows: ThroughputWindow[] = [];
    for (let i = 1; i < this.marks.length; i++) {
      const from = this.marks[i - 1];
      const to = this.marks[i];
      const seconds = Math.max(1e-9, (to.at - from.at) / 1000);
      const bytes = to.bytes - from.bytes;
      windows.push({
        index: i - 1,
        fromBytes: from.bytes,
        bytes,
        startAt: from.at,
        endAt: to.at,
        mibPerSecond: bytes / MiB / seconds,
        cpuSecondsPerGiB: bytes > 0 ? (to.cpuMicros - from.cpuMicros) / 1e6 / (bytes / (1024 * MiB)) : 0,
        machineBusyFraction: 1 - (to.machine.idle - from.machine.idle) / Math.max(1, to.machine.total - from.machine.total),
      });
    }
    return windows;
  }

  summary(): ThroughputSummary {
    const all = this.windows();
    const full = all.filter((w) => w.bytes === this.windowBytes);
    const rates = (full.length > 0 ? full : all).map((w) => w.mibPerSecond);
    return summarizeRates(this.windowBytes, all.length, rates);
  }
}

function mark(bytes: number): Mark {
  const cpu = process.cpuUsage();
  let idle = 0;
  let total = 0;
  for (const core of os.cpus()) {
    idle += core.times.idle;
    total += core.times.user + core.times.nice + core.times.sys + core.times.idle + core.times.irq;
  }
  return { bytes, at: performance.now(), cpuMicros: cpu.user + cpu.system, machine: { idle, total } };
}

/** Pure: the figures of {@link ThroughputSummary} from window rates in order. */
export function summarizeRates(windowBytes: number, windows: number, rates: number[]): ThroughputSummary {
  if (rates.length === 0) return { windowBytes, windows, minMiBPerSecond: 0, medianMiBPerSecond: 0, maxMiBPerSecond: 0, lastOverFirstQuarter: 1, coefficientOfVariation: 0 };
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const quarter = Math.max(1, Math.floor(rates.length / 4));
  const average = mean(rates);
  const deviation = Math.sqrt(mean(rates.map((r) => (r - average) ** 2)));
  return {
    windowBytes,
    windows,
    minMiBPerSecond: Math.min(...rates),
    medianMiBPerSecond: median(rates),
    maxMiBPerSecond: Math.max(...rates),
    lastOverFirstQuarter: mean(rates.slice(-quarter)) / mean(rates.slice(0, quarter)),
    coefficientOfVariation: average > 0 ? deviation / average : 0,
  };
}
