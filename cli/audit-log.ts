/**
 * The operators' audit log: one JSON blob per redrive, purge, reconcile or reprocess in the container `audit` of
 * the evidence storage account — `audit/<YYYY-MM-DD>/<timestamp>-<id>.json`. The CLI never
 * writes the index (Cosmos): the index function is its only writer. Blobs are written once
 * and never changed (`If-None-Match: *`).
 */
import * as os from "node:os";
import type { BlobServiceClient } from "@azure/storage-blob";
import { createCredential } from "../shared/adapters/credential";
import type { Settings } from "../shared/settings";

export const AUDIT_CONTAINER = "audit";

export interface AuditRecord {
  /** One id per CLI run (the redrive id for a redrive). */
  id: string;
  action: "redrive" | "purge" | "reconcile" | "reprocess";
  /** The identity in use: the token's upn/oid with a managed identity or `az login`, else user@host. */
  who: string;
  /** ISO 8601, when the run finished. */
  at: string;
  /** `queue` or `topic/subscription`. */
  entity: string;
  /** Where the copies went (redrive). */
  destination?: string;
  filter: { reasonLike?: string; evidenceId?: string; max?: number; rate?: number; olderThan?: string; since?: string; stuckAfter?: string; stages?: string[]; reason?: string };
  count: number;
  messageIds: string[];
  evidenceIds: string[];
  /** Set when the run stopped on an error after `count` messages. */
  error?: string;
  /** The blob holding this record (filled when listed). */
  blob?: string;
}

export function auditBlobName(record: AuditRecord): string {
  return `${record.at.slice(0, 10)}/${record.at.replace(/[-:.]/g, "")}-${record.id}.json`;
}

export async function writeAuditRecord(blobService: BlobServiceClient, record: AuditRecord): Promise<string> {
  const container = blobService.getContainerClient(AUDIT_CONTAINER);
  await container.createIfNotExists();
  const name = auditBlobName(record);
  const body = JSON.stringify(record, null, 2);
  await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
    blobHTTPHeaders: { blobContentType: "application/json" },
    conditions: { ifNoneMatch: "*" },
  });
  return name;
}

/** Audit records at or after `since`, newest first. */
export async function listAuditRecords(blobService: BlobServiceClient, since?: Date): Promise<AuditRecord[]> {
  const container = blobService.getContainerClient(AUDIT_CONTAINER);
  if (!(await container.exists())) return [];
  const sinceDay = since?.toISOString().slice(0, 10);
  const records: AuditRecord[] = [];
  for await (const item of container.listBlobsFlat()) {
    if (sinceDay && item.name.slice(0, 10) < sinceDay) continue;
    const buffer = await container.getBlobClient(item.name).downloadToBuffer();
    const record = JSON.parse(buffer.toString("utf8")) as AuditRecord;
    if (since && Date.parse(record.at) < since.getTime()) continue;
    records.push({ ...record, blob: `${AUDIT_CONTAINER}/${item.name}` });
  }
  return records.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : b.id.localeCompare(a.id)));
}

/** Who is acting: with a managed identity / `az login`, the token's upn (or oid); else user@host. */
export async function whoAmI(settings: Settings): Promise<string> {
  const local = `${os.userInfo().username}@${os.hostname()}`;
  const auth = settings.serviceBus;
  if (auth.kind !== "identity") return local;
  try {
    const token = await createCredential(auth.clientId).getToken("https://servicebus.azure.net/.default");
    const payload = JSON.parse(Buffer.from(token?.token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
    const name = payload.upn ?? payload.unique_name ?? payload.preferred_username ?? payload.oid;
    return typeof name === "string" && name ? name : local;
  } catch {
    return local;
  }
}

/** `30m`, `12h`, `7d`, `45s` → milliseconds. */
export function parseDuration(value: string, option: string): number {
  const match = /^(\d+)\s*(s|m|h|d)$/i.exec(value.trim());
  if (!match) throw new Error(`${option} must be a duration like 30m, 12h or 7d, not '${value}'.`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2].toLowerCase() as "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}

/** An ISO date/time, or a duration back from now (`24h`, `7d`). */
export function parseSince(value: string, now = Date.now()): Date {
  if (/^\d+\s*[smhd]$/i.test(value.trim())) return new Date(now - parseDuration(value, "--since"));
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new Error(`--since must be an ISO date/time or a duration like 24h, not '${value}'.`);
  return new Date(parsed);
}
