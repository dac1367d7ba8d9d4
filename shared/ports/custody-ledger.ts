/**
 * The custody ledger: an append-only record, outside the index, of every fact the index acted
 * on — each message it applied (ingest's evidence-received, every stage result with its
 * fingerprint or rendition digests, every fixity check) and each event it published.
 * Written BEFORE the index acts on the fact, so the index (Cosmos DB) is a projection that can
 * be lost and rebuilt from it (shared/ledger/rebuild.ts), and a rebuild never has to
 * re-fingerprint an original or re-announce an event. In Azure the ledger is a container of
 * append blobs under version-level immutability with protected append writes: entries can be
 * added, never changed or removed. Implemented by adapters/blob-custody-ledger.ts.
 */
import type { LedgerHead } from "../evidence/ledger-chain";
import type { IssuedManifest } from "../evidence/record";
import type {
  CredentialsResultMessage,
  EvidenceReceivedMessage,
  FixityResultMessage,
  PipelineStage,
  RetentionCommandMessage,
  SegmentPlanMessage,
  SegmentResultMessage,
  StageResultMessage,
} from "../contracts/messages";

/** The container the ledger lives in (Bicep makes it immutable, with protected append writes). */
export const LEDGER_CONTAINER = "ledger";

interface LedgerEntryBase {
  /** Entry format version. */
  v: 1;
  evidenceId: string;
  /** When the index wrote the entry (its clock), ISO 8601. */
  recordedAt: string;
  /** The identity that wrote it (the index function), e.g. `custody/index-results@host`. */
  recordedBy: string;
  /**
   * Set by the ledger when it appends the entry (shared/evidence/ledger-chain.ts): its position
   * (0-based) and the SHA-256 of the line before it. Absent on entries written before the chain.
   */
  seq?: number;
  prev?: string;
}

/** A message the index accepted (after its claim checks) and applied to the record. */
export interface AppliedMessageEntry extends LedgerEntryBase {
  kind: "applied";
  messageId: string;
  message: EvidenceReceivedMessage | StageResultMessage | FixityResultMessage | SegmentPlanMessage | SegmentResultMessage | RetentionCommandMessage | CredentialsResultMessage;
  /** The record's required stages when it was applied (a rebuild creates the record with them). */
  requiredStages?: PipelineStage[];
  /** Whether the record requires Content Credentials on its images (likewise frozen into a rebuilt record). */
  contentCredentials?: boolean;
}

/**
 * Something the index sent that Service Bus accepted, by its message id: an event (final or
 * evidence-updated), or a work order of a segment-parallel transcode — a round's segment
 * requests (`messageId`: the batch's key) or a join request — so a rebuilt record does not
 * send them again.
 */
export interface PublishedEventEntry extends LedgerEntryBase {
  kind: "published";
  messageId: string;
  eventType: "evidence-ready" | "evidence-failed" | "evidence-updated" | "evidence-disposed" | "segment-requests" | "join-request" | "credentials-request";
}

/**
 * A disposal carried out: the original's version and every derived blob deleted (`recordedAt`
 * is when the last went). Appended before the record says `disposed`, so the proof that the
 * bytes are gone — and what went — outlives the index; `messageId` is the evidence-disposed
 * event's id, which a rebuilt record then owes (or, with its `published` entry, has sent).
 */
export interface DisposalCompletedEntry extends LedgerEntryBase {
  kind: "disposed";
  messageId: string;
  /** The dispose command that decided it. */
  commandId: string;
  deleted: { original: "deleted" | "absent"; derivedVersions: number };
}

/**
 * A signed evidence manifest issued and stored (ports/manifest-store.ts): its number, digest,
 * key and the ledger head it names, so the ledger proves which manifests exist and a rebuilt
 * record does not issue them again. `messageId` is `<evidenceId>:manifest:<sequence>`.
 */
export interface ManifestIssuedEntry extends LedgerEntryBase {
  kind: "manifest-issued";
  messageId: string;
  manifest: IssuedManifest;
}

export type LedgerEntry = AppliedMessageEntry | PublishedEventEntry | DisposalCompletedEntry | ManifestIssuedEntry;

/** An entry as read back: with the SHA-256 of its line as stored (the chain's link to it). */
export type RecordedLedgerEntry = LedgerEntry & { lineSha256: string };

export type { LedgerHead };

export interface CustodyLedger {
  /**
   * Appends entries to the recording's ledger, in order, each chained to the line before it
   * (`seq`, `prev` — set here, whatever the caller passed); resolves once they are durable, with
   * the ledger's head just after them. An entry already there (same kind and message id) may be
   * appended again by a redelivery or a racing instance: readers take the first of each.
   */
  append(evidenceId: string, entries: LedgerEntry[]): Promise<LedgerHead>;
  /** The recording's entries in the order they were appended, each with its line's digest; [] when it has none. */
  read(evidenceId: string): Promise<RecordedLedgerEntry[]>;
  /** The ledger's lines exactly as stored (without newlines), for verifying the chain; [] when it has none. */
  lines(evidenceId: string): Promise<string[]>;
}
