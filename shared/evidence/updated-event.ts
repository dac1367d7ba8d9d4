/**
 * The evidence-updated event (org.custody.evidence.updated.v1): an operator's re-run
 * (`custody reprocess`) replaced the renditions of a recording already announced ready. It names
 * the stage's new renditions (at new paths — a re-run writes its own folder), the ones they
 * replace (still at the paths and with the digests downstream received), who asked and why, and
 * the tools that made the new ones. Same wire format as the final events (final-event.ts): a
 * CloudEvent in the AMQP binary content mode on the evidence-ready topic.
 *
 * Built from what the record fixed when the index decided the update (EvidenceRecord.updateEvents),
 * so a re-publish after a crash sends the same id with the same content. Pure: no I/O.
 */
import { EVIDENCE_EVENT_TYPES, type EvidenceUpdatedData } from "../contracts/evidence-events";
import { CustodyError } from "../errors";
import type { OutgoingMessage } from "../contracts/envelopes";
import { custodyLogOf, eventCapture, eventOriginal, eventRendition, evidenceEventMessage, renditionUrl, storageBaseUrl, type BuildFinalEventOptions } from "./final-event";
import type { EvidenceRecord, UpdateEvent } from "./record";

export function buildUpdatedEvent(record: EvidenceRecord, update: UpdateEvent, options: BuildFinalEventOptions = {}): OutgoingMessage {
  const original = record.original;
  const sha256 = record.hash?.sha256;
  if (original === undefined || sha256 === undefined) {
    // Decided only for a recording announced ready, which has both.
    throw new CustodyError("Internal", `evidence ${record.evidenceId} has an update event but no fingerprinted original`, { retryable: false });
  }
  const type = EVIDENCE_EVENT_TYPES["evidence-updated"];
  const base = storageBaseUrl(original);
  const capture = eventCapture(record.capture);
  const data: EvidenceUpdatedData = {
    evidenceId: record.evidenceId,
    status: "ready",
    original: { ...eventOriginal(original, sha256), sha256 },
    ...(capture === undefined ? {} : { capture }),
    stage: update.stage,
    renditions: update.renditions.map((rendition) => eventRendition(rendition, update.stage, base)),
    replaced: update.replaced.map(({ kind, name, container, path, size, sha256: digest }) => {
      const url = renditionUrl({ container, path }, base);
      return { kind, stage: update.stage, name, container, path, size, sha256: digest, ...(url === undefined ? {} : { url }) };
    }),
    reprocess: { ...update.reprocess },
    ...custodyLogOf(update),
  };
  if (update.tools !== undefined) data.tools = { ffmpeg: update.tools.ffmpeg, ffprobe: update.tools.ffprobe };

  return evidenceEventMessage({ evidenceId: record.evidenceId, messageId: update.messageId, type, time: update.at, status: data.status, capture, data, source: options.source });
}
