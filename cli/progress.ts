/**
 * Progress bars for long CLI work (cli-progress), on stderr and only on a terminal: stdout
 * carries the command's result, which must stay parseable with --json.
 */
import { Presets, SingleBar } from "cli-progress";

export interface ProgressBar {
  update(done: number): void;
  increment(): void;
  stop(): void;
}

const NO_BAR: ProgressBar = { update: () => undefined, increment: () => undefined, stop: () => undefined };

/** A started bar (`format` uses cli-progress tokens: {bar} {value} {total} {percentage}), or a no-op one. */
export function progressBar(enabled: boolean, format: string, total: number): ProgressBar {
  if (!enabled || !process.stderr.isTTY || total < 1) return NO_BAR;
  const bar = new SingleBar({ format, stream: process.stderr }, Presets.shades_classic);
  bar.start(total, 0);
  return { update: (done) => bar.update(done), increment: () => bar.increment(), stop: () => bar.stop() };
}
