/** What the media bench measures, and its defaults. */
import { GiB } from "../support/sizes";

/** The container items 1 and 2 upload the clip to (items 3 and 4 use originals, as a dock does). */
export const BENCH_CONTAINER = "bench-media";

export interface MediaBenchOptions {
  clipSeconds: number;
  /** Size of the generated big recording for the memory item; 0 skips it. */
  bigBytes: number;
  /** Also compare hashing on the big file (item 2). */
  hashBig: boolean;
  transcodeRounds: number;
  hashRounds: number;
  latencyRounds: number;
  /** Write bench/results/media-<timestamp>.json. */
  writeJson: boolean;
  progress?: (line: string) => void;
}

export const DEFAULT_MEDIA_BENCH_OPTIONS: MediaBenchOptions = {
  clipSeconds: 60,
  bigBytes: 2 * GiB,
  hashBig: false,
  transcodeRounds: 5,
  hashRounds: 5,
  latencyRounds: 3,
  writeJson: true,
};
