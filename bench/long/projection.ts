/**
 * The long bench's arithmetic, pure: the critical path of a segmented transcode measured on
 * one recording, and from it the time to ready of a longer recording on many instances.
 *
 * Projection, for a recording of duration D on N instances, from a measured one of duration d:
 *
 *   segment length L = max(target, D ÷ maxSegmentsPerPlan)   (the planner lengthens segments
 *                      when a plan would exceed the contract's segment count)
 *   segments       n = max(1, floor((D + L/2) ÷ L))          (planSegments: a short tail joins
 *                      the one before)
 *   waves          w = ceil(n ÷ N)                            (one segment per instance at a time)
 *   segment time   s = slowest measured wall seconds per second of recording × L
 *                      (the last segment, up to 1.5 L, counts at its own length); or, on the
 *                      `cpu` basis, its CPU seconds ÷ the instance's cores — the time on an
 *                      uncontended instance if ffmpeg kept every core busy (a lower bound)
 *   plan           p = measured plan × D/d                    (the probe parses the sample index,
 *                      which grows with the frame count; most of it is fixed cost, so this is
 *                      pessimistic)
 *   join           j = measured join seconds per byte of proxy × proxy bytes × D/d
 *                      (a stream copy: proportional to the bytes)
 *
 *   time to ready ≈ p + (w − 1) × s + s_last + j
 *
 * Not in it: message hops between the runs (milliseconds each on the embedded stack), scale-out
 * and cold start of the instances, and reading the original over HTTPS from Blob Storage
 * (the bench reads a local file; the media bench measured HTTP from Azurite as free).
 */

export interface MeasuredSegment {
  index: number;
  /** Seconds of recording the segment covers. */
  lengthInSeconds: number;
  wallSeconds: number;
  cpuSeconds: number;
}

export interface ProjectionInput {
  /** The measured recording's duration, seconds. */
  measuredSeconds: number;
  segments: readonly MeasuredSegment[];
  /** Plan run (probe + planSegments) on the measured recording, wall seconds. */
  planSeconds: number;
  /** Join run (MP4 + playlist) on the measured recording, wall seconds. */
  joinSeconds: number;
  /** The measured recording's proxy, bytes. */
  proxyBytes: number;
  /** The recording to project to, seconds. */
  projectedSeconds: number;
  instances: number;
  targetSegmentSeconds: number;
  maxSegmentsPerPlan: number;
  /** How a segment's time is taken from the measured ones (default: wall). */
  basis?: ProjectionBasis;
}

export type ProjectionBasis = { kind: "wall" } | { kind: "cpu"; cores: number };

export interface Projection {
  segmentSeconds: number;
  segments: number;
  waves: number;
  /** Wall seconds of one full-length segment (slowest measured rate × length). */
  segmentWallSeconds: number;
  lastSegmentWallSeconds: number;
  planSeconds: number;
  joinSeconds: number;
  proxyBytes: number;
  totalSeconds: number;
}

/** The planner's segment count for `durationSeconds` at `lengthSeconds` (planSegments: the tail below half a segment joins the one before). */
export function segmentCount(durationSeconds: number, lengthSeconds: number): number {
  return Math.max(1, Math.floor((durationSeconds + lengthSeconds / 2) / lengthSeconds));
}

/** Slowest measured wall seconds per second of recording, over the segments of at least half the target (a tiny one's fixed cost would dominate). */
export function slowestRate(segments: readonly MeasuredSegment[], targetSegmentSeconds: number, basis: ProjectionBasis = { kind: "wall" }): number {
  const full = segments.filter((s) => s.lengthInSeconds >= targetSegmentSeconds / 2);
  const pool = full.length > 0 ? full : segments;
  if (pool.length === 0) throw new Error("no measured segments to project from");
  return Math.max(...pool.map((s) => (basis.kind === "wall" ? s.wallSeconds : s.cpuSeconds / basis.cores) / s.lengthInSeconds));
}

export function projectTimeToReady(input: ProjectionInput): Projection {
  if (!(input.instances >= 1) || !(input.measuredSeconds > 0) || !(input.projectedSeconds > 0)) throw new Error("instances, measured and projected durations must be positive");
  const segmentSeconds = Math.max(input.targetSegmentSeconds, input.projectedSeconds / input.maxSegmentsPerPlan);
  const segments = segmentCount(input.projectedSeconds, segmentSeconds);
  const waves = Math.ceil(segments / input.instances);
  const rate = slowestRate(input.segments, input.targetSegmentSeconds, input.basis);
  const lastLength = input.projectedSeconds - (segments - 1) * segmentSeconds;
  const segmentWallSeconds = rate * segmentSeconds;
  const lastSegmentWallSeconds = rate * Math.max(segmentSeconds, lastLength);
  const scale = input.projectedSeconds / input.measuredSeconds;
  const planSeconds = input.planSeconds * scale;
  const proxyBytes = input.proxyBytes * scale;
  const joinSeconds = input.joinSeconds * scale;
  const totalSeconds = planSeconds + (waves - 1) * segmentWallSeconds + lastSegmentWallSeconds + joinSeconds;
  return { segmentSeconds, segments, waves, segmentWallSeconds, lastSegmentWallSeconds, planSeconds, joinSeconds, proxyBytes, totalSeconds };
}

/** The measured critical path: plan + the longest segment + join (what one recording waits for with one instance per segment). */
export function criticalPathSeconds(planSeconds: number, segments: readonly MeasuredSegment[], joinSeconds: number): { longestSegment: MeasuredSegment; totalSeconds: number } {
  if (segments.length === 0) throw new Error("no measured segments");
  const longestSegment = segments.reduce((a, b) => (b.wallSeconds > a.wallSeconds ? b : a));
  return { longestSegment, totalSeconds: planSeconds + longestSegment.wallSeconds + joinSeconds };
}
