/**
 * `custody export EVIDENCE_ID… --out DIR [--json]` — writes a disclosure package: per
 * recording, the original, its current renditions, every issue of its signed manifest, the
 * custody ledger's lines as stored, the signer's published keys, the Content Credentials CA
 * certificates the deployment publishes, SHA256SUMS and a VERIFY guide (shared/disclosure/).
 * Refuses a recording that has no issued manifest, or whose bytes in storage are not what its
 * manifest names, saying why; the others are still written. Exit code 0 when every recording
 * was written, 1 when any was refused, 2 on a usage error or storage that could not be reached.
 */
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { readManifestIssues } from "../../shared/disclosure/manifest-issues";
import { parseManifestJson, writeDisclosurePackage, type WrittenPackage } from "../../shared/disclosure/write-package";
import { EVIDENCE_ID_PATTERN } from "../../shared/evidence/evidence-id";
import { isCustodyError } from "../../shared/errors";
import { DERIVED_CONTAINER, type BlobStore } from "../../shared/ports/blob-store";
import type { CustodyLedger } from "../../shared/ports/custody-ledger";
import type { EvidenceIndex } from "../../shared/ports/evidence-index";
import type { PublishedSigningKey } from "../../shared/ports/evidence-signer";
import type { ManifestStore } from "../../shared/ports/manifest-store";
import { printable } from "../../shared/text/printable";
import { EXIT_FAILED_RECORDING, EXIT_OK } from "../exit-codes";
import { targetCommand } from "../options";
import { printResult } from "../output";
import { resolveStackTarget } from "../stack-target";

interface ExportOptions {
  out: string;
  json?: boolean;
  dataDir: string;
}

/** What an export reads from the deployment. */
export interface ExportSources {
  index: Pick<EvidenceIndex, "read">;
  blobs: Pick<BlobStore, "openRead">;
  ledger: Pick<CustodyLedger, "lines">;
  manifests: Pick<ManifestStore, "list" | "get">;
  publishedKeys(): Promise<PublishedSigningKey[]>;
  /** The Content Credentials CA certificates (PEM) published beside the keys. */
  publishedTrustAnchors(): Promise<string[]>;
}

export type ExportResult = ({ status: "written" } & WrittenPackage) | { evidenceId: string; status: "refused" | "not-found"; reason: string };

export function registerExportCommand(program: Command): void {
  targetCommand(
    program,
    "export <evidenceIds...>",
    "Write a disclosure package per recording that anyone can verify offline (custody verify --package, or VERIFY.txt with sha256sum and openssl).",
    "print a JSON array of results",
  )
    .requiredOption("--out <dir>", "folder to write the package into (one sub-folder per recording; must not hold them already)")
    .action(async (evidenceIds: string[], options: ExportOptions) => {
      const malformed = evidenceIds.filter((id) => !EVIDENCE_ID_PATTERN.test(id));
      if (malformed.length > 0) throw new Error(`not an evidence id: ${malformed.join(", ")} (expected ev- and 32 hex digits).`);
      const existing = evidenceIds.filter((id) => existsSync(path.join(options.out, id)) && readdirSync(path.join(options.out, id)).length > 0);
      if (existing.length > 0) throw new Error(`${options.out} already holds a package for ${existing.join(", ")}: export into a new folder.`);

      const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
      let results: ExportResult[];
      try {
        const { services } = target;
        const sources: ExportSources = {
          index: services.index,
          blobs: services.blobs,
          ledger: services.ledger,
          manifests: services.manifests,
          // The keys the index published beside the manifests: readable by whoever may read the manifests, no Key Vault right needed.
          publishedKeys: () => services.manifests.publishedKeys(),
          publishedTrustAnchors: () => services.manifests.publishedTrustAnchors(),
        };
        results = await exportRecordings(sources, evidenceIds, options.out);
      } finally {
        await target.close();
      }
      printResult(options.json, results, () => results.map(describeResult).join("\n"));
      process.exitCode = results.every((r) => r.status === "written") ? EXIT_OK : EXIT_FAILED_RECORDING;
    });
}

/** Writes each recording's package in turn; a refusal is a result, storage that cannot be reached an error (exit 2). */
export async function exportRecordings(sources: ExportSources, evidenceIds: readonly string[], outDir: string): Promise<ExportResult[]> {
  const keys = await sources.publishedKeys();
  const trustAnchorPems = await sources.publishedTrustAnchors();
  const results: ExportResult[] = [];
  for (const evidenceId of evidenceIds) {
    const stored = await sources.index.read(evidenceId);
    if (stored === undefined) {
      results.push({ evidenceId, status: "not-found", reason: "the index holds no such recording" });
      continue;
    }
    const { record } = stored;
    const manifests = await readManifestIssues(sources.manifests, evidenceId);
    if (manifests.length === 0) {
      results.push({
        evidenceId,
        status: "refused",
        reason: `no signed evidence manifest has been issued for it (status ${record.status}): a manifest is issued when a recording becomes ready, and a package without one proves nothing`,
      });
      continue;
    }
    try {
      // The bytes are read as the latest manifest names them (the exact version), not as the record says now.
      const { original } = parseManifestJson(manifests[manifests.length - 1].files.manifestJson);
      const written = await writeDisclosurePackage(outDir, {
        evidenceId,
        manifests,
        ledgerLines: await sources.ledger.lines(evidenceId),
        publishedKeys: keys,
        trustAnchorPems,
        openOriginal: () => sources.blobs.openRead({ container: original.container, name: original.name, versionId: original.versionId, etag: original.etag }),
        openRendition: (rendition) => sources.blobs.openRead({ container: rendition.container ?? DERIVED_CONTAINER, name: rendition.path }),
      });
      results.push({ status: "written", ...written });
    } catch (error) {
      // The writer's refusals (bytes not what the manifest names, a manifest that does not verify) are per recording.
      if (!isCustodyError(error) || error.retryable) throw error;
      results.push({ evidenceId, status: "refused", reason: error.message });
    }
  }
  return results;
}

function describeResult(result: ExportResult): string {
  if (result.status === "written") {
    return `WRITTEN   ${result.evidenceId}  ${printable(result.folder)}: ${result.files.length} files, ${result.bytes} bytes, ${result.issues} manifest issue(s); check it with: custody verify --package ${printable(result.folder)}`;
  }
  return `${result.status.toUpperCase().padEnd(9)} ${result.evidenceId}  ${printable(result.reason)}`;
}
