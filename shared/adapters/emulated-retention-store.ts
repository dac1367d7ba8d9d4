/**
 * The `RetentionStore` port for the local stack. Azurite answers 501 to the immutability calls
 * (Set Blob Immutability Policy, Set Blob Legal Hold) and keeps no versions, so this store keeps
 * each blob's protections itself — one JSON record per protected blob in a container of their
 * own in the same Azurite, so they survive a stack restart — and enforces them in its deletes
 * the way Azure does: a held or unexpired blob is refused with the same CustodyError
 * (RetentionProtected, Azure's 409 code in the message and the cause), and a policy is never
 * shortened. It lives beside the Azure adapter (not in local/) because the function app, which
 * the dev host runs, builds its adapters here.
 *
 * It protects only what goes through it: Azurite itself would still let any client delete
 * the blob. Azurite ignores version ids (`withVersion()` addresses the current blob), so a
 * blob's one version is what a `VersionRef` names, whatever its `versionId`.
 *
 * A delete cannot race a hold being set: it takes a lease on the blob's record (creating an
 * empty one if need be), reads the protections under it, deletes the blob and then the record
 * with the lease; a protection written meanwhile fails its ETag condition (the record is
 * leased, or gone) and is retried, and then finds the blob gone (OriginalNotFound) or the
 * delete refused.
 */
import { text as streamText } from "node:stream/consumers";
import type { BlobServiceClient, BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { CustodyError, toCustodyError } from "../errors";
import {
  retentionProtectedError,
  versionNotFoundError,
  type ExtendRetentionOptions,
  type RetentionChange,
  type RetentionPolicyMode,
  type RetentionStore,
  type VersionProtection,
  type VersionRef,
} from "../ports/retention-store";
import { plannedPolicy } from "./azure-retention-store";

/** Where the protections live (one JSON blob per protected blob). */
export const RETENTION_RECORDS_CONTAINER = "retention-protections";

export interface EmulatedRetentionStoreOptions {
  /** Container of the protection records; default {@link RETENTION_RECORDS_CONTAINER}. */
  recordsContainer?: string;
  /** Attempts of one read-check-write before a conflict is reported Transient; default 20. */
  maxConflictRetries?: number;
}

/** A record as stored (schemaVersion 1). */
interface ProtectionRecord {
  schemaVersion: 1;
  container: string;
  name: string;
  immutableUntil?: string;
  policyMode?: RetentionPolicyMode;
  legalHold: boolean;
  updatedAt: string;
}

interface StoredRecord {
  record: ProtectionRecord | undefined;
  etag: string | undefined;
}

/** Azure's limits for a fixed lease are 15–60 s; a crashed delete frees the record after this. */
const DELETE_LEASE_SECONDS = 30;

export class EmulatedRetentionStore implements RetentionStore {
  private readonly records: ContainerClient;
  private readonly maxConflictRetries: number;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly service: BlobServiceClient,
    options: EmulatedRetentionStoreOptions = {},
  ) {
    this.records = service.getContainerClient(options.recordsContainer ?? RETENTION_RECORDS_CONTAINER);
    this.maxConflictRetries = options.maxConflictRetries ?? 20;
  }

  async protection(ref: VersionRef): Promise<VersionProtection> {
    await this.requireBlob(ref);
    return protectionOf((await this.readRecord(ref)).record);
  }

  extendRetention(ref: VersionRef, until: Date, options: ExtendRetentionOptions = {}): Promise<RetentionChange> {
    return this.update(ref, (current) => {
      const wanted = plannedPolicy(current, until, options);
      return wanted === undefined ? undefined : { ...current, immutableUntil: wanted.until, policyMode: wanted.mode };
    });
  }

  async setLegalHold(ref: VersionRef, hold: boolean): Promise<VersionProtection> {
    const result = await this.update(ref, (current) => (current.legalHold === hold ? undefined : { ...current, legalHold: hold }));
    return protectionOf({ immutableUntil: result.immutableUntil?.toISOString(), policyMode: result.policyMode, legalHold: result.legalHold });
  }

  async deleteVersion(ref: VersionRef): Promise<"deleted" | "absent"> {
    await this.ensureRecordsContainer();
    for (let attempt = 1; ; attempt++) {
      const record = this.recordBlob(ref);
      // An empty record to lease when the blob has none, so a first hold cannot slip in unseen.
      await ignoreStatus(record.upload("{}", 2, { conditions: { ifNoneMatch: "*" } }), 409, 412);
      let leaseId: string;
      try {
        leaseId = (await record.getBlobLeaseClient().acquireLease(DELETE_LEASE_SECONDS)).leaseId ?? "";
      } catch (error) {
        // Another delete holds it (409), or finished and removed it (404): look again.
        if ((statusOf(error) === 409 || statusOf(error) === 404) && attempt < this.maxConflictRetries) {
          await pause(attempt);
          continue;
        }
        throw conflictOrError(error, ref);
      }
      let recordDeleted = false;
      try {
        // A blob already gone is "absent" whatever its record says, as in Azure (404 before 409).
        const exists = await this.blob(ref).exists();
        const protection = protectionOf((await this.readRecord(ref)).record);
        if (!exists) {
          await record.delete({ conditions: { leaseId } });
          recordDeleted = true;
          return "absent";
        }
        if (protection.legalHold) throw retentionProtectedError(ref, "BlobImmutableDueToLegalHold");
        if (protection.immutableUntil !== undefined && protection.immutableUntil.getTime() > Date.now()) throw retentionProtectedError(ref, "BlobImmutableDueToPolicy");
        const outcome = (await this.blob(ref).deleteIfExists({ deleteSnapshots: "include" })).succeeded ? "deleted" : "absent";
        await record.delete({ conditions: { leaseId } });
        recordDeleted = true;
        return outcome;
      } catch (error) {
        throw error instanceof CustodyError ? error : toCustodyError(error);
      } finally {
        if (!recordDeleted) await ignoreStatus(record.getBlobLeaseClient(leaseId).releaseLease(), 404, 409);
      }
    }
  }

  async deletePrefix(container: string, prefix: string): Promise<number> {
    const names = new Set<string>();
    try {
      for await (const item of this.service.getContainerClient(container).listBlobsFlat({ prefix })) names.add(item.name);
    } catch (error) {
      throw toCustodyError(error);
    }
    let removed = 0;
    for (const name of names) removed += await this.deleteAllVersions(container, name);
    return removed;
  }

  async deleteAllVersions(container: string, name: string): Promise<number> {
    // Azurite keeps one version per blob.
    return (await this.deleteVersion({ container, name })) === "deleted" ? 1 : 0;
  }

  /** Read the record, apply `change` (undefined: nothing to write), write it back on the ETag read; retried on conflict. */
  private async update(ref: VersionRef, change: (current: VersionProtection) => VersionProtection | undefined): Promise<RetentionChange> {
    await this.ensureRecordsContainer();
    for (let attempt = 1; ; attempt++) {
      await this.requireBlob(ref);
      const stored = await this.readRecord(ref);
      const current = protectionOf(stored.record);
      const next = change(current);
      if (next === undefined) return { ...current, changed: false };
      const record: ProtectionRecord = {
        schemaVersion: 1,
        container: ref.container,
        name: ref.name,
        ...(next.immutableUntil === undefined ? {} : { immutableUntil: next.immutableUntil.toISOString(), policyMode: next.policyMode ?? "Unlocked" }),
        legalHold: next.legalHold,
        updatedAt: new Date().toISOString(),
      };
      const body = JSON.stringify(record);
      try {
        await this.recordBlob(ref).upload(body, Buffer.byteLength(body), {
          conditions: stored.etag === undefined ? { ifNoneMatch: "*" } : { ifMatch: stored.etag },
          blobHTTPHeaders: { blobContentType: "application/json" },
        });
      } catch (error) {
        // Changed, created or leased (a delete in progress) since it was read: read again.
        if ((statusOf(error) === 412 || statusOf(error) === 409) && attempt < this.maxConflictRetries) {
          await pause(attempt);
          continue;
        }
        throw conflictOrError(error, ref);
      }
      // A delete that finished between the check and the write leaves a record for a blob that is gone: say so.
      await this.requireBlob(ref);
      return { ...protectionOf(record), changed: true };
    }
  }

  private async requireBlob(ref: VersionRef): Promise<void> {
    try {
      await this.blob(ref).getProperties();
    } catch (error) {
      if (statusOf(error) === 404) throw versionNotFoundError(ref, error);
      throw toCustodyError(error);
    }
  }

  private async readRecord(ref: VersionRef): Promise<StoredRecord> {
    try {
      const response = await this.recordBlob(ref).download();
      const text = response.readableStreamBody === undefined ? "" : await streamText(response.readableStreamBody);
      const parsed = JSON.parse(text) as Partial<ProtectionRecord>;
      // "{}" is the placeholder a delete in progress leases: no protection.
      return { record: parsed.schemaVersion === 1 ? (parsed as ProtectionRecord) : undefined, etag: response.etag };
    } catch (error) {
      if (statusOf(error) === 404) return { record: undefined, etag: undefined };
      throw toCustodyError(error);
    }
  }

  private blob(ref: VersionRef): BlockBlobClient {
    // Azurite keeps no versions and ignores version ids: the blob is its one version.
    return this.service.getContainerClient(ref.container).getBlockBlobClient(ref.name);
  }

  /** One record per blob: the container and the percent-encoded name, so no two blobs share one. */
  private recordBlob(ref: VersionRef): BlockBlobClient {
    return this.records.getBlockBlobClient(`${encodeURIComponent(ref.container)}/${encodeURIComponent(ref.name)}.json`);
  }

  private ensureRecordsContainer(): Promise<void> {
    this.ready ??= this.records.createIfNotExists().then(
      () => undefined,
      (error: unknown) => {
        this.ready = undefined;
        throw toCustodyError(error);
      },
    );
    return this.ready;
  }
}

function protectionOf(record: Pick<ProtectionRecord, "immutableUntil" | "policyMode" | "legalHold"> | undefined): VersionProtection {
  if (record === undefined) return { legalHold: false };
  return {
    ...(record.immutableUntil === undefined ? {} : { immutableUntil: new Date(record.immutableUntil), policyMode: record.policyMode ?? "Unlocked" }),
    legalHold: record.legalHold,
  };
}

function statusOf(error: unknown): unknown {
  return (error as { statusCode?: unknown } | null)?.statusCode;
}

function conflictOrError(error: unknown, ref: VersionRef): CustodyError {
  const status = statusOf(error);
  if (status === 409 || status === 412) {
    return new CustodyError("Transient", `The protection record of ${ref.container}/${ref.name} kept changing under concurrent updates; try again.`, { cause: error });
  }
  return toCustodyError(error);
}

async function ignoreStatus(operation: Promise<unknown>, ...statuses: number[]): Promise<void> {
  try {
    await operation;
  } catch (error) {
    if (!statuses.includes(statusOf(error) as number)) throw toCustodyError(error);
  }
}

/** A short, growing pause with jitter between conflicting attempts (at most ~0.5 s). */
function pause(attempt: number): Promise<void> {
  const delayInMs = Math.min(500, 10 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, delayInMs));
}
