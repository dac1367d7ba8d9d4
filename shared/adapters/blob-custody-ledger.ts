/**
 * The custody ledger on Blob Storage: one append blob per recording (`ledger/<evidenceId>.jsonl`),
 * one RFC 8785 canonical JSON entry per line, each chained to the line before it (`seq`, `prev`:
 * shared/evidence/ledger-chain.ts). Appends are atomic per block and conditional on the append
 * position the writer read (Append Position): two index instances racing for the same recording
 * cannot both chain from the same line — the loser re-reads the new end and chains from it. In
 * Azure the container has version-level immutability with protected append writes
 * (bicep/modules/evidence-storage.bicep): blocks can be appended, never overwritten or deleted.
 * Azurite has no immutability; the adapter never overwrites or deletes either way.
 */
import type { AppendBlobClient, BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { isCustodyError, toCustodyError } from "../errors";
import { EVIDENCE_ID_PATTERN } from "../evidence/evidence-id";
import { GENESIS_DIGEST, chainLines, lineDigest, type LedgerHead } from "../evidence/ledger-chain";
import { CustodyError } from "../errors";
import { containerCreator } from "./blob-container";
import { LEDGER_CONTAINER, type CustodyLedger, type LedgerEntry, type RecordedLedgerEntry } from "../ports/custody-ledger";

/** Where a ledger blob ends: its length in bytes and its head. */
interface LedgerEnd {
  length: number;
  head?: LedgerHead;
}

/** How much of a ledger's end one read takes to find its last line (doubled while a line is longer). */
const TAIL_READ_BYTES = 64 * 1024;
/** Rounds of re-reading the end when another instance appended first. */
const MAX_APPEND_ROUNDS = 20;
const NEWLINE = 0x0a;

export class BlobCustodyLedger implements CustodyLedger {
  private readonly container: ContainerClient;
  private readonly ensureContainer: () => Promise<unknown>;
  /** The end this instance last wrote or read, per recording: the next append tries it first (no read). */
  private readonly ends = new Map<string, LedgerEnd>();

  /** `createContainer`: locally the app creates it; in Azure Bicep does (the app has no control-plane rights). */
  constructor(service: BlobServiceClient, options: { createContainer?: boolean } = {}) {
    this.container = service.getContainerClient(LEDGER_CONTAINER);
    this.ensureContainer = containerCreator(this.container, options.createContainer);
  }

  async append(evidenceId: string, entries: LedgerEntry[]): Promise<LedgerHead> {
    const name = blobName(evidenceId);
    const blob = this.container.getAppendBlobClient(name);
    try {
      await this.ensureContainer();
      if (!this.ends.has(name)) await blob.createIfNotExists({ blobHTTPHeaders: { blobContentType: "application/x-ndjson" } });
      for (let round = 1; ; round++) {
        const end = this.ends.get(name) ?? (await readEnd(blob));
        if (entries.length === 0) return end.head ?? { sha256: GENESIS_DIGEST, entries: 0 };
        const { lines, head } = chainLines(end.head, entries);
        const bytes = Buffer.from(lines.map((line) => `${line}\n`).join(""), "utf8");
        try {
          await blob.appendBlock(bytes, bytes.length, { conditions: { appendPosition: end.length } });
        } catch (error) {
          this.ends.delete(name);
          // Another instance appended since the end was read: chain from the new end.
          if (appendPositionMoved(error) && round < MAX_APPEND_ROUNDS) continue;
          throw error;
        }
        this.ends.set(name, { length: end.length + bytes.length, head });
        return head;
      }
    } catch (error) {
      if (isCustodyError(error)) throw error;
      throw toCustodyError(error);
    }
  }

  async read(evidenceId: string): Promise<RecordedLedgerEntry[]> {
    const entries: RecordedLedgerEntry[] = [];
    for (const [index, line] of (await this.lines(evidenceId)).entries()) {
      try {
        entries.push({ ...(JSON.parse(line) as LedgerEntry), lineSha256: lineDigest(line) });
      } catch {
        throw new CustodyError("Internal", `ledger ${LEDGER_CONTAINER}/${blobName(evidenceId)}: line ${index + 1} is not JSON`, { retryable: false });
      }
    }
    return entries;
  }

  async lines(evidenceId: string): Promise<string[]> {
    const blob = this.container.getAppendBlobClient(blobName(evidenceId));
    let text: string;
    try {
      text = (await blob.downloadToBuffer()).toString("utf8");
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return [];
      throw toCustodyError(error);
    }
    return text.split("\n").filter((line) => line.trim() !== "");
  }
}

/** The blob's length and head, from its last line (read from the end; the whole blob only for a ledger from before the chain). */
async function readEnd(blob: AppendBlobClient): Promise<LedgerEnd> {
  const length = (await blob.getProperties()).contentLength ?? 0;
  if (length === 0) return { length };
  for (let window = TAIL_READ_BYTES; ; window *= 2) {
    const offset = Math.max(0, length - window);
    const tail = await blob.downloadToBuffer(offset, length - offset);
    // The last line ends with the blob's final newline; it starts after the newline before it.
    const end = tail[tail.length - 1] === NEWLINE ? tail.length - 1 : tail.length;
    const start = tail.lastIndexOf(NEWLINE, end - 1) + 1;
    if (start === 0 && offset > 0) continue; // the line is longer than the window
    const last = tail.subarray(start, end);
    const seq = (JSON.parse(last.toString("utf8")) as { seq?: unknown }).seq;
    if (typeof seq === "number") return { length, head: { sha256: lineDigest(last), entries: seq + 1 } };
    // Written before the chain: count its lines once (the next append chains from here).
    const all = await blob.downloadToBuffer();
    const count = all
      .toString("utf8")
      .split("\n")
      .filter((line) => line.trim() !== "").length;
    return { length, head: { sha256: lineDigest(last), entries: count } };
  }
}

/** Append Position condition failed: the blob grew since its end was read (412 AppendPositionConditionNotMet). */
function appendPositionMoved(error: unknown): boolean {
  const candidate = error as { statusCode?: number; code?: string; details?: { errorCode?: string } };
  return candidate.statusCode === 412 && (candidate.code ?? candidate.details?.errorCode ?? "AppendPositionConditionNotMet") === "AppendPositionConditionNotMet";
}

function blobName(evidenceId: string): string {
  if (!EVIDENCE_ID_PATTERN.test(evidenceId)) throw new CustodyError("InvalidMessage", `not an evidence id: ${JSON.stringify(evidenceId)}`, { retryable: false });
  return `${evidenceId}.jsonl`;
}
