/**
 * The segment-parallel transcode as the index sees it: the plan a media run claimed, each
 * segment's outcome, and the work orders the index owes (segment requests, the join). Pure: no
 * I/O, no clock. See docs/architecture.md "Long recordings".
 */
import { createHash } from "node:crypto";
import type { SegmentPlanBody } from "../contracts/messages";
import { canonicalJson } from "./canonical-json";

/** The plan's id: SHA-256 of its canonical JSON. The index recomputes it, so a claim cannot name one plan and carry another. */
export function planIdOf(plan: SegmentPlanBody): string {
  return createHash("sha256").update(canonicalJson(plan), "utf8").digest("hex");
}
