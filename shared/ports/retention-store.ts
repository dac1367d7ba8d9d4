/**
 * What retention needs from storage: the protections the storage service itself enforces on
 * one version of a blob — a time-based retention policy ("kept until") and a legal hold — and
 * deletes that storage refuses while either is in force. In Azure they are the account's
 * version-level immutability (WORM), so nothing in the app can delete protected evidence even
 * by mistake; the local stack (Azurite answers 501 to these calls) keeps the same rules in an
 * adapter of its own and refuses the same way.
 *
 * Implemented by adapters/azure-retention-store.ts (Azure) and adapters/emulated-retention-store.ts
 * (the local stack); adapters/factories.ts picks one from the storage settings.
 */
import { CustodyError } from "../errors";

/** One version of a blob. Without `versionId`, the current version. */
export interface VersionRef {
  container: string;
  name: string;
  versionId?: string;
}

/** "Unlocked": an account administrator may still shorten or remove the policy; "Locked": nobody can, it can only be extended. */
export type RetentionPolicyMode = "Unlocked" | "Locked";

export interface VersionProtection {
  /** Until when the version's time-based retention policy keeps it (whole seconds, the service's precision); absent without a policy. May be in the past. */
  immutableUntil?: Date;
  /** The policy's mode; absent without a policy. */
  policyMode?: RetentionPolicyMode;
  /** Whether a legal hold is set: the version cannot be deleted, whatever its policy says, until it is released. */
  legalHold: boolean;
}

export interface RetentionChange extends VersionProtection {
  /** False when the version already had this protection or more: nothing was written. */
  changed: boolean;
}

export interface ExtendRetentionOptions {
  /**
   * The policy's mode. Default: the version's current mode, else "Unlocked". A Locked policy
   * stays Locked whatever is asked (storage cannot unlock it); asking "Locked" of an Unlocked
   * policy that already runs past `until` locks it at its current date.
   */
  policyMode?: RetentionPolicyMode;
}

/** Why storage refused to delete a version: Azure's error codes (409), which the local store gives too. */
export type RetentionProtectionReason = "BlobImmutableDueToLegalHold" | "BlobImmutableDueToPolicy";

export interface RetentionStore {
  /** The version's protections; CustodyError OriginalNotFound when the version does not exist. */
  protection(ref: VersionRef): Promise<VersionProtection>;
  /**
   * Keeps the version at least until `until` (rounded up to a whole second). Never shortens: an
   * `until` no later than the current one (or already past) writes nothing and says so
   * (`changed: false`). CustodyError OriginalNotFound when the version does not exist.
   */
  extendRetention(ref: VersionRef, until: Date, options?: ExtendRetentionOptions): Promise<RetentionChange>;
  /** Sets or releases the version's legal hold (idempotent). CustodyError OriginalNotFound when the version does not exist. */
  setLegalHold(ref: VersionRef, hold: boolean): Promise<VersionProtection>;
  /**
   * Deletes that version. CustodyError RetentionProtected (never retried) naming the reason when
   * it is under a legal hold or an unexpired policy; "absent" when it is already gone.
   */
  deleteVersion(ref: VersionRef): Promise<"deleted" | "absent">;
  /**
   * Deletes a blob and every version of it — for derived renditions, which carry no protection
   * (a protected version still fails with RetentionProtected). Returns how many versions went;
   * 0 when there was nothing to delete.
   */
  deleteAllVersions(container: string, name: string): Promise<number>;
  /**
   * Deletes every blob whose name starts with `prefix` (a recording's derived folder), every
   * version of each; returns how many versions went. A protected version fails as above.
   */
  deletePrefix(container: string, prefix: string): Promise<number>;
}

/** `container/name` plus the version, as the errors name it. */
export function describeVersion(ref: VersionRef): string {
  return `${ref.container}/${ref.name}${ref.versionId === undefined ? "" : ` (version ${ref.versionId})`}`;
}

/**
 * The refusal both stores give for a protected version: the same code, the same message (with
 * Azure's error code in it) and, as the cause, the service's error (status 409 and its code).
 */
export function retentionProtectedError(ref: VersionRef, reason: RetentionProtectionReason, cause?: unknown): CustodyError {
  const why = reason === "BlobImmutableDueToLegalHold" ? "it is under a legal hold" : "its retention policy has not expired";
  return new CustodyError("RetentionProtected", `${describeVersion(ref)} cannot be deleted: ${why} (${reason}).`, {
    cause: cause ?? { statusCode: 409, code: reason },
  });
}

/** The error both stores give for a version that does not exist. */
export function versionNotFoundError(ref: VersionRef, cause?: unknown): CustodyError {
  return new CustodyError("OriginalNotFound", `${describeVersion(ref)} does not exist.`, { cause });
}

/** `until` rounded up to a whole second: the service keeps RFC 1123 dates, so rounding down could shorten what was asked. */
export function wholeSecondsUp(until: Date): Date {
  return new Date(Math.ceil(until.getTime() / 1000) * 1000);
}
