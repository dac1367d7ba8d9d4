/** The inputs the bench gives the stages it calls directly: an evidence-received message and a stage context. */
import type { BlobServiceClient } from "@azure/storage-blob";
import type { EvidenceReceivedMessage } from "../../shared/contracts/messages";
import { silentLogger } from "../../shared/logging";
import type { StageContext } from "../../shared/stages/stage-context";

export function message(service: BlobServiceClient, container: string, name: string, etag: string, size: number, evidenceId: string): EvidenceReceivedMessage {
  return {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId,
    original: { account: service.accountName, container, name, etag, url: service.getContainerClient(container).getBlobClient(name).url, size, contentType: contentTypeOf(name) },
    acceptance: { status: "accepted" },
    uploadedAt: new Date().toISOString(),
    sourceEventId: "bench",
  };
}

export function benchContext(): StageContext {
  return { actor: "custody/bench", attempt: 1, maxAttempts: 1, traceparent: "00-00000000000000000000000000000001-0000000000000001-01", log: silentLogger };
}

/** The content type a dock sends for `name`. */
export function contentTypeOf(name: string): string {
  return name.endsWith(".mov") ? "video/quicktime" : "video/mp4";
}
