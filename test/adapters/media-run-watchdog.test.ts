/**
 * The progress watch of a media run, as pure logic: ffmpeg's `-progress` blocks parsed, what
 * counts as progress, and when the watchdog stops a run (timers faked). The real ffmpeg cases
 * — a slow but moving run that finishes, a run whose input hangs — are in
 * ffmpeg-media-tool.test.ts.
 */
import { MediaRunWatchdog, ProgressFraction, ProgressHighWater, ProgressParser, type MediaRunStopReason } from "../../shared/adapters/ffmpeg/media-run-watchdog";

/** A block as ffmpeg 4.x writes it (`out_time_ms` is microseconds there). */
function block(values: { frame?: string; us?: string; time?: string; size?: string; progress?: string }): string[] {
  return [
    `frame=${values.frame ?? "0"}`,
    "fps=0.00",
    "stream_0_0_q=-1.0",
    "bitrate=N/A",
    `total_size=${values.size ?? "N/A"}`,
    `out_time_ms=${values.us ?? "0"}`,
    `out_time=${values.time ?? "00:00:00.000000"}`,
    "dup_frames=0",
    "drop_frames=0",
    "speed=   0x",
    `progress=${values.progress ?? "continue"}`,
  ];
}

function feed(parser: ProgressParser, lines: string[]) {
  return lines.map((line) => parser.line(line)).filter((s) => s !== undefined);
}

describe("parsing -progress", () => {
  test("one snapshot per block, at its progress= line; N/A and negative values are absent", () => {
    const parser = new ProgressParser();
    expect(feed(parser, block({ frame: "12", us: "480000", size: "4096" }))).toEqual([{ frame: 12, outTimeInUs: 480_000, totalSizeInBytes: 4096, end: false }]);
    expect(feed(parser, block({ us: "-9223372036854775807", time: "-2562047788:00:54.775807" }))).toEqual([{ frame: 0, end: false }]);
    expect(feed(parser, block({ frame: "300", us: "12000000", progress: "end" }))).toEqual([{ frame: 300, outTimeInUs: 12_000_000, end: true }]);
  });

  test("out_time_us is preferred, out_time (a clock) stands in when neither number is given", () => {
    const parser = new ProgressParser();
    expect(feed(parser, ["out_time_us=2500000", "out_time_ms=1", "progress=continue"])).toEqual([{ outTimeInUs: 2_500_000, end: false }]);
    expect(feed(parser, ["out_time=01:02:03.5", "progress=continue"])).toEqual([{ outTimeInUs: 3_723_500_000, end: false }]);
    expect(feed(parser, ["garbage", "=x", "frame=abc", "progress=continue"])).toEqual([{ end: false }]);
  });
});

describe("what counts as progress", () => {
  test("any counter going past its highest value; the same values again, zeros at the start or going back do not", () => {
    const high = new ProgressHighWater();
    expect(high.advance({ frame: 0, outTimeInUs: 0, end: false })).toBe(false);
    expect(high.advance({ frame: 1, outTimeInUs: 0, end: false })).toBe(true);
    expect(high.advance({ frame: 1, outTimeInUs: 0, end: false })).toBe(false);
    expect(high.advance({ frame: 1, outTimeInUs: 40_000, end: false })).toBe(true);
    expect(high.advance({ frame: 1, outTimeInUs: 40_000, totalSizeInBytes: 48, end: false })).toBe(true);
    expect(high.advance({ frame: 0, outTimeInUs: 10, end: false })).toBe(false);
    expect(high.advance({ frame: 1, outTimeInUs: 40_000, end: true })).toBe(true);
    expect(high.describe()).toBe("out_time 00:00:00.040, frame 1, 0.0 MB written");
    expect(new ProgressHighWater().describe()).toBe("no progress reported yet");
  });
});

describe("the watchdog", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function watch(options: { ceilingInMs: number; stallTimeoutInMs?: number; abortSignal?: AbortSignal }) {
    const stops: MediaRunStopReason[] = [];
    const watchdog = new MediaRunWatchdog({ ...options, onStop: (reason) => stops.push(reason) });
    return { watchdog, stops };
  }

  test("a run that keeps moving is never stalled, and stops only at its ceiling", () => {
    const { watchdog, stops } = watch({ ceilingInMs: 600_000, stallTimeoutInMs: 60_000 });
    watchdog.processStarted();
    for (let second = 1; second <= 590; second++) {
      jest.advanceTimersByTime(1_000);
      for (const line of block({ frame: String(second), us: String(second * 1e6) })) watchdog.progressLine(line);
    }
    expect(stops).toEqual([]);
    jest.advanceTimersByTime(10_000);
    expect(stops).toEqual(["ceiling"]);
    expect(watchdog.stoppedBy).toBe("ceiling");
  });

  test("blocks that repeat the same values are a stall: stopped one window after the last advance", () => {
    const { watchdog, stops } = watch({ ceilingInMs: 3_600_000, stallTimeoutInMs: 60_000 });
    watchdog.processStarted();
    jest.advanceTimersByTime(10_000);
    for (const line of block({ frame: "250", us: "10000000" })) watchdog.progressLine(line);
    for (let i = 0; i < 118; i++) {
      jest.advanceTimersByTime(500);
      for (const line of block({ frame: "250", us: "10000000" })) watchdog.progressLine(line);
    }
    expect(stops).toEqual([]); // 59 s after the last advance
    jest.advanceTimersByTime(1_000);
    expect(stops).toEqual(["stall"]);
    expect(watchdog.progress.describe()).toBe("out_time 00:00:10.000, frame 250");
  });

  test("the window starts when the process starts, not while the run waits to be spawned", () => {
    const { watchdog, stops } = watch({ ceilingInMs: 3_600_000, stallTimeoutInMs: 5_000 });
    jest.advanceTimersByTime(20_000);
    expect(stops).toEqual([]);
    watchdog.processStarted();
    jest.advanceTimersByTime(4_999);
    expect(stops).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(stops).toEqual(["stall"]);
  });

  test("once the muxer starts its faststart rewrite (no progress until it ends), only the ceiling applies", () => {
    const { watchdog, stops } = watch({ ceilingInMs: 3_600_000, stallTimeoutInMs: 60_000 });
    watchdog.processStarted();
    for (const line of block({ frame: "9000", us: "300000000" })) watchdog.progressLine(line);
    watchdog.stderrLine("[mp4] [info] Starting second pass: moving the moov atom to the beginning of the file");
    jest.advanceTimersByTime(30 * 60_000);
    expect(stops).toEqual([]);
    jest.advanceTimersByTime(30 * 60_000);
    expect(stops).toEqual(["ceiling"]);
  });

  test("other stderr lines change nothing", () => {
    const { watchdog, stops } = watch({ ceilingInMs: 3_600_000, stallTimeoutInMs: 60_000 });
    watchdog.processStarted();
    watchdog.stderrLine("[https] [warning] Will reconnect at 1048576 in 0 second(s), error=End of file.");
    jest.advanceTimersByTime(60_000);
    expect(stops).toEqual(["stall"]);
  });

  test("without a stall window (ffprobe) only the ceiling and the abort apply; dispose clears everything", () => {
    const controller = new AbortController();
    const probe = watch({ ceilingInMs: 60_000, abortSignal: controller.signal });
    probe.watchdog.processStarted();
    jest.advanceTimersByTime(30_000);
    controller.abort();
    expect(probe.stops).toEqual(["abort"]);
    jest.advanceTimersByTime(60_000);
    expect(probe.stops).toEqual(["abort"]); // once

    const done = watch({ ceilingInMs: 1_000, stallTimeoutInMs: 500 });
    done.watchdog.processStarted();
    done.watchdog.dispose();
    jest.advanceTimersByTime(5_000);
    expect(done.stops).toEqual([]);
  });

  test("a ceiling beyond what a Node timer holds does not fire at once", () => {
    const { stops } = watch({ ceilingInMs: 40 * 24 * 3_600_000 });
    jest.advanceTimersByTime(3_600_000);
    expect(stops).toEqual([]);
  });
});

test("the progress fraction: out_time over the input's duration (shortened by -t), 1 at the end, never backwards", () => {
  const fractions: number[] = [];
  const fraction = new ProgressFraction((f) => fractions.push(f), ["-t", "5", "-f", "null", "-"]);
  fraction.stderr("  Duration: 00:00:10.00, start: 0.000000, bitrate: 120 kb/s");
  for (const line of [...block({ us: "2500000" }), ...block({ us: "1000000" }), ...block({ us: "5000000", progress: "end" })]) fraction.stdout(line);
  expect(fractions).toEqual([0.5, 1]);
});
