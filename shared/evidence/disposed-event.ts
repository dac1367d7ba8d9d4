/**
 * The evidence-disposed event (org.custody.evidence.disposed.v1): a recording's retention ended
 * with no hold, and its original and every derived blob were deleted. It names what downstream
 * must delete — the original by its fingerprint, every rendition Custody's events ever named
 * (the current ones and those a re-run replaced) — and the tombstone: category, end of
 * retention, who decided, when and why. Same wire format as the final events (final-event.ts).
 *
 * Built from the record's tombstone (EvidenceRecord.disposal), which does not change once
 * `disposed`, so a re-publish after a crash sends the same id with the same content. Pure.
 */
import { EVIDENCE_EVENT_TYPES, type EvidenceDisposedData } from "../contracts/evidence-events";
import type { OutgoingMessage } from "../contracts/envelopes";
import { CustodyError } from "../errors";
import { RENDITION_STAGES, custodyLogOf, eventCapture, eventOriginal, evidenceEventMessage, type BuildFinalEventOptions } from "./final-event";
import type { EvidenceRecord } from "./record";

type DisposedRendition = EvidenceDisposedData["renditions"][number];

export interface BuildDisposedEventOptions extends BuildFinalEventOptions {
  /** The container renditions live in (an earlier run's files are recorded without it). */
  derivedContainer: string;
}

export function buildDisposedEvent(record: EvidenceRecord, options: BuildDisposedEventOptions): OutgoingMessage {
  const original = record.original;
  const disposal = record.disposal;
  if (original === undefined || disposal?.state !== "disposed" || disposal.event === undefined || disposal.deletedAt === undefined || disposal.deleted === undefined) {
    // Owed only once the record says disposed, which sets all of these.
    throw new CustodyError("Internal", `evidence ${record.evidenceId} owes no evidence-disposed event (disposal ${disposal?.state ?? "not decided"})`, { retryable: false });
  }
  const capture = eventCapture(record.capture);
  const data: EvidenceDisposedData = {
    evidenceId: record.evidenceId,
    status: "disposed",
    original: eventOriginal(original, disposal.sha256 ?? record.hash?.sha256),
    ...(capture === undefined ? {} : { capture }),
    renditions: disposedRenditions(record, options.derivedContainer),
    disposal: {
      commandId: disposal.commandId,
      category: disposal.category,
      retainUntil: disposal.retainUntil,
      decidedAt: disposal.decidedAt,
      decidedBy: disposal.decidedBy,
      reason: disposal.reason,
      deletedAt: disposal.deletedAt,
      derivedBlobsDeleted: disposal.deleted.derivedVersions,
    },
    ...custodyLogOf(disposal.event),
  };
  const type = EVIDENCE_EVENT_TYPES["evidence-disposed"];
  return evidenceEventMessage({ evidenceId: record.evidenceId, messageId: disposal.event.messageId, type, time: disposal.deletedAt, status: data.status, capture, data, source: options.source });
}

/** Every rendition the record knows — each stage's current files and every earlier run's — once per path. */
function disposedRenditions(record: EvidenceRecord, derivedContainer: string): DisposedRendition[] {
  const out = new Map<string, DisposedRendition>();
  const add = (stage: DisposedRendition["stage"], rendition: { kind: DisposedRendition["kind"]; name: string; container?: string; path: string; size?: number; sha256: string }): void => {
    const container = rendition.container ?? derivedContainer;
    const key = `${container}/${rendition.path}`;
    if (out.has(key)) return;
    out.set(key, { kind: rendition.kind, stage, name: rendition.name, container, path: rendition.path, ...(rendition.size === undefined ? {} : { size: rendition.size }), sha256: rendition.sha256 });
  };
  for (const stage of RENDITION_STAGES) {
    const state = record.stages[stage];
    for (const rendition of state?.renditions ?? []) add(stage, rendition);
    for (const run of state?.superseded ?? []) for (const rendition of run.renditions) add(stage, rendition);
  }
  return [...out.values()];
}
