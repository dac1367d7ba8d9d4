/**
 * The audit log in blob storage: one JSON blob per record in the container `audit` of the
 * evidence storage account — `audit/<YYYY-MM-DD>/<timestamp>-<id>.json`. Blobs are written once
 * and never changed (`If-None-Match: *`).
 */
import type { BlobServiceClient } from "@azure/storage-blob";
import type { AuditLog, AuditRecord } from "../ports/audit-log";

export const AUDIT_CONTAINER = "audit";

export function auditBlobName(record: AuditRecord): string {
  return `${record.at.slice(0, 10)}/${record.at.replace(/[-:.]/g, "")}-${record.id}.json`;
}

export class BlobAuditLog implements AuditLog {
  constructor(private readonly blobService: BlobServiceClient) {}

  async write(record: AuditRecord): Promise<string> {
    const container = this.blobService.getContainerClient(AUDIT_CONTAINER);
    await container.createIfNotExists();
    const name = auditBlobName(record);
    const body = JSON.stringify(record, null, 2);
    await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: "application/json" },
      conditions: { ifNoneMatch: "*" },
    });
    return `${AUDIT_CONTAINER}/${name}`;
  }

  async list(since?: Date): Promise<AuditRecord[]> {
    const container = this.blobService.getContainerClient(AUDIT_CONTAINER);
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
}
