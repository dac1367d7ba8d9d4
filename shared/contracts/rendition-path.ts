/**
 * Where a stage's renditions live in the derived container: `<evidenceId>/<stage>/<name>` for
 * the pipeline's own run (a redelivery or redrive of that run writes the same paths), and
 * `<evidenceId>/<stage>/reprocess-<requestId>/<name>` for a `custody reprocess` run — so a
 * re-run never overwrites files downstream systems were told about (their digests stay true,
 * wherever the store keeps no blob versions), and the evidence-updated event names new paths.
 * The stage writes there; the index refuses a result naming files anywhere else.
 */
import type { PipelineStage } from "./messages";

/** The folder (ending in `/`) of a stage's renditions, for its own run or one reprocess request. */
export function renditionFolder(evidenceId: string, stage: PipelineStage, reprocessId?: string): string {
  return `${evidenceId}/${stage}/${reprocessId === undefined ? "" : `reprocess-${reprocessId}/`}`;
}

/**
 * Where the signed copies of a thumbnail folder's images go (docs/decisions/0016): a folder of
 * their own inside it, named by the signing request, so the index's order and the signer's check
 * name the same place.
 */
export function credentialsFolder(thumbnailFolder: string, requestId: string): string {
  return `${thumbnailFolder}c2pa-${requestId.slice(0, 16)}/`;
}
