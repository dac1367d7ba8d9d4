/**
 * What the record says of Content Credentials on its images, as readiness needs it (see
 * content-credentials-run.ts for how runs are ordered and recorded). Its own module so the
 * merge's readiness rule can ask without depending on the run's bookkeeping.
 */
import { CREDENTIAL_IMAGE_KINDS, type Rendition } from "../contracts/messages";
import type { CredentialsRun, EvidenceRecord } from "./record";

/** Whether a rendition kind gets Content Credentials embedded (the others are copied beside them unchanged). */
export function isCredentialImage(kind: Rendition["kind"]): boolean {
  return (CREDENTIAL_IMAGE_KINDS as readonly string[]).includes(kind);
}

/** The run signing the thumbnail stage's current result, when one is owed or made. */
export function currentCredentialsRun(record: EvidenceRecord): CredentialsRun | undefined {
  const sourceKey = record.stages.thumbnail?.resultKey;
  if (record.contentCredentials?.required !== true || sourceKey === undefined) return undefined;
  return record.contentCredentials.runs.find((run) => run.sourceKey === sourceKey);
}

/**
 * Whether readiness still waits for Content Credentials, and how: `pending` (owed, ordered or
 * running), `waiting` (a transient failure's retry is scheduled), `failed` (for good), or
 * undefined when nothing is owed (not required, no images, or signed).
 */
export function credentialsHold(record: EvidenceRecord): "pending" | "waiting" | "failed" | undefined {
  if (record.contentCredentials?.required !== true) return undefined;
  const thumbnail = record.stages.thumbnail;
  if (thumbnail?.status !== "succeeded" || !(thumbnail.renditions ?? []).some((r) => isCredentialImage(r.kind))) return undefined;
  const run = currentCredentialsRun(record);
  if (run === undefined) return "pending";
  if (run.status === "succeeded") return undefined;
  if (run.status === "failed") return "failed";
  return run.retry === undefined ? "pending" : "waiting";
}
