/**
 * How a fixity finding is put into words — the same text in `custody verify`, in the custody
 * log entry the index writes and in the integrity finding. Pure.
 */
import type { FixityResultMessage, FixitySegmentDifference } from "../contracts/messages";

/** What a description needs (a verify report or a fixity-result message both have it). */
export type FixityFacts = Pick<
  FixityResultMessage,
  "evidenceId" | "status" | "sha256Expected" | "sha256Actual" | "sizeExpected" | "sizeActual" | "differingSegments" | "differingSegmentCount" | "etagExpected" | "etagActual" | "etagChanged" | "reason"
>;

/**
 * Consecutive segments joined into runs: `segment 3 (bytes 12582912–16777215)`,
 * `segments 3–5 (bytes 12582912–25165823)`. Byte ranges are inclusive, as `dd`/`cmp` users
 * read them.
 */
export function describeSegmentRanges(segments: readonly FixitySegmentDifference[]): string {
  const runs: Array<{ first: FixitySegmentDifference; last: FixitySegmentDifference }> = [];
  for (const segment of segments) {
    const run = runs[runs.length - 1];
    if (run !== undefined && segment.index === run.last.index + 1 && segment.offset === run.last.offset + run.last.length) run.last = segment;
    else runs.push({ first: segment, last: segment });
  }
  return runs
    .map(({ first, last }) => {
      const end = last.offset + last.length - 1;
      const bytes = end >= first.offset ? `bytes ${first.offset}–${end}` : `from byte ${first.offset}, absent now`;
      return first.index === last.index ? `segment ${first.index} (${bytes})` : `segments ${first.index}–${last.index} (${bytes})`;
    })
    .join(", ");
}

/** One line after the status word: what differs, where, and whether the ETag changed. */
export function describeFixity(facts: FixityFacts): string {
  const etag = facts.etagChanged ? `; ETag changed from ${facts.etagExpected ?? "?"} to ${facts.etagActual ?? "?"}` : "";
  switch (facts.status) {
    case "intact":
      return `sha256 ${facts.sha256Actual ?? facts.sha256Expected ?? "?"}, ${facts.sizeActual ?? "?"} bytes: matches the hash recorded at ingest${etag}${facts.reason === undefined ? "" : `; ${facts.reason}`}`;
    case "modified": {
      const segments = facts.differingSegments ?? [];
      const total = facts.differingSegmentCount ?? segments.length;
      const where =
        segments.length === 0 ? "no segment digests to locate the change" : `${describeSegmentRanges(segments)}${total > segments.length ? ` and ${total - segments.length} more segment(s)` : ""}`;
      const size = facts.sizeActual !== undefined && facts.sizeExpected !== undefined && facts.sizeActual !== facts.sizeExpected ? `; size ${facts.sizeExpected} → ${facts.sizeActual} bytes` : "";
      return `${where}; sha256 ${facts.sha256Expected ?? "?"} → ${facts.sha256Actual ?? "?"}${size}${etag}`;
    }
    case "missing":
      return facts.reason ?? "the original is gone";
    case "unverifiable":
      return facts.reason ?? "nothing to verify against";
  }
}
