/**
 * The `RetentionStore` port on Azure Blob Storage's version-level immutability (WORM): the
 * service itself keeps each version's retention policy and legal holds and refuses (409) to
 * delete a protected version, so the app cannot delete evidence it must keep even by mistake.
 * Needs an account with versioning and version-level immutability support on the container
 * (Bicep); Azurite answers 501 to these calls, so the local stack uses emulated-retention-store.ts.
 *
 * The REST operations behind the SDK calls (checked against these pages in
 * test/adapters/azure-retention-store.test.ts):
 * - Set Blob Immutability Policy — PUT ?comp=immutabilityPolicies[&versionid=…] with
 *   `x-ms-immutability-policy-until-date` (RFC 1123) and `x-ms-immutability-policy-mode`
 *   (https://learn.microsoft.com/rest/api/storageservices/set-blob-immutability-policy);
 * - Set Blob Legal Hold — PUT ?comp=legalhold[&versionid=…] with `x-ms-legal-hold: true|false`
 *   (https://learn.microsoft.com/rest/api/storageservices/set-blob-legal-hold);
 * - Get Blob Properties — HEAD [?versionid=…], answering `x-ms-immutability-policy-until-date`,
 *   `x-ms-immutability-policy-mode` (`unlocked`/`locked`, lower case) and `x-ms-legal-hold`
 *   (https://learn.microsoft.com/rest/api/storageservices/get-blob-properties);
 * - Delete Blob — DELETE ?versionid=… (https://learn.microsoft.com/rest/api/storageservices/delete-blob),
 *   refused with 409 `BlobImmutableDueToLegalHold` / `BlobImmutableDueToPolicy`
 *   (https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes), and with 403
 *   `OperationNotAllowedOnRootBlob` for the current version (deleted through the base blob, below).
 *   With blob soft delete on, a deleted version is only soft-deleted until the account's
 *   soft-delete period ends.
 *
 * "Never shortened" is the adapter's rule (a Locked policy is also the service's): it reads the
 * current date and writes only a later one. The service offers no condition on a policy write
 * (the operation leaves the ETag alone and the SDK sends no If-Unmodified-Since), so two
 * concurrent extensions of one version could race; the index, the single writer of a
 * recording's retention, issues them one at a time.
 */
import type { BlobClient, BlobServiceClient } from "@azure/storage-blob";
import { isCustodyError, toCustodyError } from "../errors";
import {
  retentionProtectedError,
  versionNotFoundError,
  wholeSecondsUp,
  type ExtendRetentionOptions,
  type RetentionChange,
  type RetentionPolicyMode,
  type RetentionProtectionReason,
  type RetentionStore,
  type VersionProtection,
  type VersionRef,
} from "../ports/retention-store";

const PROTECTION_REASONS: readonly string[] = ["BlobImmutableDueToLegalHold", "BlobImmutableDueToPolicy"] satisfies RetentionProtectionReason[];

export class AzureRetentionStore implements RetentionStore {
  constructor(private readonly service: BlobServiceClient) {}

  async protection(ref: VersionRef): Promise<VersionProtection> {
    try {
      const properties = await this.blob(ref).getProperties();
      return protectionOf(properties.immutabilityPolicyExpiresOn, properties.immutabilityPolicyMode, properties.legalHold);
    } catch (error) {
      throw storageError(error, ref);
    }
  }

  async extendRetention(ref: VersionRef, until: Date, options: ExtendRetentionOptions = {}): Promise<RetentionChange> {
    const current = await this.protection(ref);
    const wanted = plannedPolicy(current, until, options);
    if (wanted === undefined) return { ...current, changed: false };
    try {
      // The SDK names the date `expiriesOn` (sic) and sends it as x-ms-immutability-policy-until-date.
      const response = await this.blob(ref).setImmutabilityPolicy({ expiriesOn: wanted.until, policyMode: wanted.mode });
      const written = protectionOf(response.immutabilityPolicyExpiry ?? wanted.until, response.immutabilityPolicyMode ?? wanted.mode, current.legalHold);
      return { ...written, changed: true };
    } catch (error) {
      throw storageError(error, ref);
    }
  }

  async setLegalHold(ref: VersionRef, hold: boolean): Promise<VersionProtection> {
    try {
      await this.blob(ref).setLegalHold(hold);
    } catch (error) {
      throw storageError(error, ref);
    }
    return this.protection(ref);
  }

  async deleteVersion(ref: VersionRef): Promise<"deleted" | "absent"> {
    try {
      await this.blob(ref).delete();
      return "deleted";
    } catch (error) {
      if (statusOf(error) === 404) return "absent";
      // The service will not delete the current version by its id (403 OperationNotAllowedOnRootBlob,
      // as azure-sdk-for-js's storage-blob tests record) — and an original is never overwritten, so
      // its one version is the current one.
      if (ref.versionId !== undefined && statusOf(error) === 403 && codeOf(error) === "OperationNotAllowedOnRootBlob") return this.deleteCurrentVersion({ ...ref, versionId: ref.versionId });
      throw storageError(error, ref);
    }
  }

  async deletePrefix(container: string, prefix: string): Promise<number> {
    const names = new Set<string>();
    try {
      for await (const item of this.service.getContainerClient(container).listBlobsFlat({ prefix })) names.add(item.name);
    } catch (error) {
      throw storageError(error, { container, name: prefix });
    }
    let removed = 0;
    for (const name of names) removed += await this.deleteAllVersions(container, name);
    return removed;
  }

  async deleteAllVersions(container: string, name: string): Promise<number> {
    const containerClient = this.service.getContainerClient(container);
    // The current version first: without versioning that is the blob itself; with versioning
    // it becomes a previous version (same id), which the listing below then finds.
    let base: boolean;
    try {
      base = (await containerClient.getBlobClient(name).deleteIfExists({ deleteSnapshots: "include" })).succeeded;
    } catch (error) {
      throw storageError(error, { container, name });
    }
    const versionIds: string[] = [];
    try {
      for await (const item of containerClient.listBlobsFlat({ prefix: name, includeVersions: true })) {
        if (item.name === name && item.versionId !== undefined) versionIds.push(item.versionId);
      }
    } catch (error) {
      throw storageError(error, { container, name });
    }
    let removed = 0;
    for (const versionId of versionIds) {
      if ((await this.deleteVersion({ container, name, versionId })) === "deleted") removed += 1;
    }
    // An account without versioning lists no version ids: the blob was its only version.
    return versionIds.length === 0 && base ? 1 : removed;
  }

  /**
   * Deletes the base blob — only while that version is still its current one (If-Match on the
   * version's ETag), so a newer upload is never demoted — which makes it a previous version, then
   * deletes that by its id. The protections are checked first: a refused delete must leave the
   * blob as it was, not without a current version. The service still enforces them on both calls.
   */
  private async deleteCurrentVersion(ref: VersionRef & { versionId: string }): Promise<"deleted" | "absent"> {
    let etag: string | undefined;
    try {
      const properties = await this.blob(ref).getProperties();
      const protection = protectionOf(properties.immutabilityPolicyExpiresOn, properties.immutabilityPolicyMode, properties.legalHold);
      if (protection.legalHold) throw retentionProtectedError(ref, "BlobImmutableDueToLegalHold");
      if (protection.immutableUntil !== undefined && protection.immutableUntil.getTime() > Date.now()) throw retentionProtectedError(ref, "BlobImmutableDueToPolicy");
      etag = properties.etag;
    } catch (error) {
      if (statusOf(error) === 404) return "absent";
      throw storageError(error, ref);
    }
    try {
      await this.service
        .getContainerClient(ref.container)
        .getBlobClient(ref.name)
        .delete({ conditions: etag === undefined ? {} : { ifMatch: etag } });
    } catch (error) {
      // 412: a newer version is current now, so this one is already a previous version; 404: no current version.
      if (statusOf(error) !== 412 && statusOf(error) !== 404) throw storageError(error, ref);
    }
    try {
      await this.blob(ref).delete();
      return "deleted";
    } catch (error) {
      if (statusOf(error) === 404) return "absent";
      throw storageError(error, ref);
    }
  }

  private blob(ref: VersionRef): BlobClient {
    const blob = this.service.getContainerClient(ref.container).getBlobClient(ref.name);
    return ref.versionId === undefined ? blob : blob.withVersion(ref.versionId);
  }
}

/**
 * The policy to write for `extendRetention`, or undefined when the version already has it or
 * more. Shared with the emulated store so both decide the same way.
 */
export function plannedPolicy(current: VersionProtection, until: Date, options: ExtendRetentionOptions, now = new Date()): { until: Date; mode: RetentionPolicyMode } | undefined {
  const target = wholeSecondsUp(until);
  // A Locked policy can only stay Locked; an Unlocked one is locked only when asked.
  const mode: RetentionPolicyMode = current.policyMode === "Locked" ? "Locked" : (options.policyMode ?? current.policyMode ?? "Unlocked");
  const currentUntil = current.immutableUntil;
  if (currentUntil !== undefined && currentUntil.getTime() >= target.getTime()) {
    // Already kept as long: only locking it (at its own, later date) is left to do.
    return mode === "Locked" && current.policyMode !== "Locked" && currentUntil.getTime() > now.getTime() ? { until: currentUntil, mode } : undefined;
  }
  // A date already past extends nothing (and the service refuses past dates).
  if (target.getTime() <= now.getTime()) return undefined;
  return { until: target, mode };
}

function protectionOf(until: Date | undefined, mode: string | undefined, legalHold: boolean | undefined): VersionProtection {
  // The service answers the mode in lower case (`unlocked`), the SDK's type says "Unlocked".
  const normalised = mode?.toLowerCase();
  const policyMode: RetentionPolicyMode | undefined = normalised === "locked" ? "Locked" : normalised === "unlocked" ? "Unlocked" : undefined;
  return {
    ...(until !== undefined && policyMode !== undefined ? { immutableUntil: until, policyMode } : {}),
    legalHold: legalHold === true,
  };
}

function statusOf(error: unknown): unknown {
  return (error as { statusCode?: unknown } | null)?.statusCode;
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

function storageError(error: unknown, ref: VersionRef): Error {
  if (isCustodyError(error)) return error;
  const status = statusOf(error);
  const code = codeOf(error);
  if (status === 409 && typeof code === "string" && PROTECTION_REASONS.includes(code)) return retentionProtectedError(ref, code as RetentionProtectionReason, error);
  if (status === 404) return versionNotFoundError(ref, error);
  return toCustodyError(error);
}
