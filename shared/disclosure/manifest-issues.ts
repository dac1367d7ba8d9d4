/** Every issue of a recording's manifest from the store, oldest first, each with its sequence number. */
import type { ManifestStore, SignedManifestFiles } from "../ports/manifest-store";

export async function readManifestIssues(store: Pick<ManifestStore, "list" | "get">, evidenceId: string): Promise<Array<{ sequence: number; files: SignedManifestFiles }>> {
  const sequences = [...(await store.list(evidenceId))].sort((a, b) => a - b);
  const issues: Array<{ sequence: number; files: SignedManifestFiles }> = [];
  for (const sequence of sequences) {
    const files = await store.get(evidenceId, sequence);
    // Listed but gone: a store that lost an issue cannot produce a package whose issue chain holds.
    if (files === undefined) throw new Error(`issue ${sequence} of the manifest of ${evidenceId} is listed but cannot be read`);
    issues.push({ sequence, files });
  }
  return issues;
}
