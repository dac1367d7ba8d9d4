/**
 * The custody ledger on Blob Storage: one append blob per recording (`ledger/<evidenceId>.jsonl`),
 * one canonical JSON entry per line. Appends are atomic per block and the service orders them,
 * so concurrent index instances never interleave inside an entry. In Azure the container has
 * version-level immutability with protected append writes (bicep/modules/evidence-storage.bicep):
 * blocks can be appended, never overwritten or deleted. Azurite has no immutability; the
 * adapter never overwrites or deletes either way.
 */
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { toCustodyError } from "../errors";
import { canonicalJson } from "../evidence/canonical-json";
import { EVIDENCE_ID_PATTERN } from "../evidence/evidence-id";
import { CustodyError } from "../errors";
import { LEDGER_CONTAINER, type CustodyLedger, type LedgerEntry } from "../ports/custody-ledger";

export class BlobCustodyLedger implements CustodyLedger {
  private readonly container: ContainerClient;
  private containerReady: Promise<unknown> | undefined;

  /** `createContainer`: locally the app creates it; in Azure Bicep does (the app has no control-plane rights). */
  constructor(
    service: BlobServiceClient,
    private readonly options: { createContainer?: boolean } = {},
  ) {
    this.container = service.getContainerClient(LEDGER_CONTAINER);
  }

  async append(evidenceId: string, entries: LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const blob = this.container.getAppendBlobClient(blobName(evidenceId));
    const text = entries.map((entry) => `${canonicalJson(entry)}\n`).join("");
    const bytes = Buffer.from(text, "utf8");
    try {
      await this.ensureContainer();
      await blob.createIfNotExists({ blobHTTPHeaders: { blobContentType: "application/x-ndjson" } });
      await blob.appendBlock(bytes, bytes.length);
    } catch (error) {
      throw toCustodyError(error);
    }
  }

  async read(evidenceId: string): Promise<LedgerEntry[]> {
    const blob = this.container.getAppendBlobClient(blobName(evidenceId));
    let text: string;
    try {
      text = (await blob.downloadToBuffer()).toString("utf8");
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return [];
      throw toCustodyError(error);
    }
    const entries: LedgerEntry[] = [];
    for (const [index, line] of text.split("\n").entries()) {
      if (line.trim() === "") continue;
      try {
        entries.push(JSON.parse(line) as LedgerEntry);
      } catch {
        throw new CustodyError("Internal", `ledger ${LEDGER_CONTAINER}/${blobName(evidenceId)}: line ${index + 1} is not JSON`, { retryable: false });
      }
    }
    return entries;
  }

  private ensureContainer(): Promise<unknown> {
    if (!this.options.createContainer) return Promise.resolve();
    this.containerReady ??= this.container.createIfNotExists().catch((error: unknown) => {
      this.containerReady = undefined;
      throw error;
    });
    return this.containerReady;
  }
}

function blobName(evidenceId: string): string {
  if (!EVIDENCE_ID_PATTERN.test(evidenceId)) throw new CustodyError("InvalidMessage", `not an evidence id: ${JSON.stringify(evidenceId)}`, { retryable: false });
  return `${evidenceId}.jsonl`;
}
