/**
 * What the record says of Content Credentials on its images, as readiness needs it (see
 * content-credentials-run.ts for how runs are ordered and recorded). Its own module so the
 * merge's readiness rule can ask without depending on the run's bookkeeping.
 */
import { CREDENTIAL_IMAGE_KINDS, type Rendition } from "../contracts/messages";
import type { CredentialsRun, EvidenceRecord } from "./record";

/** Whether a rendition kind gets Content Credentials embedded (the others are copied beside them unchanged). */
export function isCredentialImage(kind: Rendition["kind"]): kind is (typeof CREDENTIAL_IMAGE_KINDS)[number] {
  return (CREDENTIAL_IMAGE_KINDS as readonly string[]).includes(kind);
}

/**
 * The run for the thumbnail stage's current files, when one is owed or made: the run whose signed
 * set the stage shows, else the one signing exactly the files it shows (same paths and digests).
 * A redelivered thumbnail result (same message id, a later run) puts its own files back on the
 * stage: when they are the ones a run signed, that run is still current; when their bytes differ,
 * none is, and a new one is owed.
 */
export function currentCredentialsRun(record: EvidenceRecord): CredentialsRun | undefined {
  const state = record.stages.thumbnail;
  const sourceKey = state?.resultKey;
  if (record.contentCredentials?.required !== true || sourceKey === undefined || state?.renditions === undefined) return undefined;
  const files = state.renditions;
  const runs = record.contentCredentials.runs.filter((run) => run.sourceKey === sourceKey);
  return runs.find((run) => run.renditions !== undefined && sameFiles(run.renditions, files)) ?? runs.find((run) => sameFiles(run.sources, files));
}

/** Whether two lists name the same files (paths and digests), in the same order. */
export function sameFiles(a: ReadonlyArray<Pick<Rendition, "path" | "sha256">>, b: ReadonlyArray<Pick<Rendition, "path" | "sha256">>): boolean {
  return a.length === b.length && a.every((file, i) => file.path === b[i].path && file.sha256 === b[i].sha256);
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
