/** A recording taken through the whole embedded pipeline, as a dock and Event Grid would send it, until evidence-ready. */
import type { ServiceBusClient } from "@azure/service-bus";
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { ORIGINALS_CONTAINER, type RunningStack } from "../../local/stack";
import { blobCreatedEvent } from "../../shared/contracts/blob-created-cloud-event";
import type { PipelineStage } from "../../shared/contracts/messages";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { contentTypeOf } from "./stage-inputs";

const READY_POLL_INTERVAL_MS = 50;

/** The embedded stack a recording is sent through: where it is uploaded and where its event goes. */
export interface PipelineTarget {
  stack: RunningStack;
  blobService: BlobServiceClient;
  originals: ContainerClient;
  sender: ReturnType<ServiceBusClient["createSender"]>;
}

/**
 * Uploads `file` as a dock does, sends its BlobCreated event (as Event Grid would; the event
 * source's poll would add up to its interval) and waits until evidence-ready is confirmed on
 * the record. Latency: the record's `finalEvent.publishedAt` − the moment before the send.
 */
export async function processRecording(
  { stack, blobService, originals, sender }: PipelineTarget,
  file: string,
  name: string,
  options: { afterUpload?: (seconds: number) => void; timeoutInMs?: number } = {},
): Promise<{ record: EvidenceRecord; latencyMs: number; observedMs: number; upload: { blobName: string; etag: string } }> {
  const uploadStart = performance.now();
  const uploaded = await uploadRecording(originals, file, { officerId: "PC1", deviceId: "BWV-1", recordedAt: "2026-11-26T06:00:00Z", blobName: `PC1/BWV-1/${Date.now()}-${name}` });
  options.afterUpload?.((performance.now() - uploadStart) / 1000);
  const event = blobCreatedEvent(originals, uploaded.blobName, uploaded.etag, { contentLength: uploaded.size, contentType: contentTypeOf(name) });
  const evidenceId = deriveEvidenceId({ account: blobService.accountName, container: ORIGINALS_CONTAINER, name: uploaded.blobName, etag: uploaded.etag });
  const sentAt = Date.now();
  const sentPerf = performance.now();
  await sender.sendMessages({ body: event, messageId: event.id });
  const deadline = sentPerf + (options.timeoutInMs ?? 5 * 60_000);
  for (;;) {
    const record = (await stack.services!.index.read(evidenceId))?.record;
    if (record?.status === "ready" && record.finalEvent?.publishedAt) {
      const observedMs = performance.now() - sentPerf;
      return { record, latencyMs: Date.parse(record.finalEvent.publishedAt) - sentAt, observedMs, upload: { blobName: uploaded.blobName, etag: uploaded.etag } };
    }
    if (record?.status === "failed" || record?.status === "rejected") {
      const errors = Object.entries(record.stages).map(([stage, state]) => `${stage}: ${state?.status}${state?.lastError ? ` (${state.lastError.code}: ${state.lastError.message})` : ""}`);
      throw new Error(`${name} ended ${record.status}: ${errors.join("; ")}`);
    }
    if (performance.now() > deadline) throw new Error(`${name} not ready after ${Math.round((performance.now() - sentPerf) / 1000)} s (status ${record?.status ?? "no record"})`);
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_INTERVAL_MS));
  }
}

/** Each required stage's startedAt → finishedAt on the record, ms. */
export function stageDurations(record: EvidenceRecord): Partial<Record<PipelineStage, number>> {
  const out: Partial<Record<PipelineStage, number>> = {};
  for (const stage of record.requiredStages) {
    const state = record.stages[stage];
    if (state?.startedAt && state.finishedAt) out[stage] = Date.parse(state.finishedAt) - Date.parse(state.startedAt);
  }
  return out;
}

/** The stage that took longest, and how long. */
export function longest(stageMs: Partial<Record<PipelineStage, number>>): [PipelineStage, number] {
  const entries = Object.entries(stageMs) as Array<[PipelineStage, number]>;
  if (entries.length === 0) throw new Error("the record has no stage times");
  return entries.reduce((a, b) => (b[1] > a[1] ? b : a));
}
