/**
 * The evidence index over Cosmos DB NoSQL (`@azure/cosmos` 4.x): one document per recording in
 * database `custody`, container `evidence`, partition key `/id` (= evidenceId). Every write
 * the pipeline makes is a point operation on one recording, so the id is the natural key;
 * list queries are cross-partition and page with continuation tokens (never OFFSET/LIMIT,
 * whose cost grows with the offset on Azure and which the local stand-in cannot parse).
 *
 * Outcomes the caller acts on are values, not errors: a missing record is `undefined`, a
 * create that lost the race is "exists", a replace whose ETag is stale is "conflict". Anything
 * else becomes a CustodyError (429/503/408/5xx → Transient and the message is retried).
 */
import type { Container, CosmosClient, IndexingPolicy, SqlParameter, SqlQuerySpec } from "@azure/cosmos";
import { CustodyError, toCustodyError } from "../errors";
import type { EvidenceRecord } from "../evidence/record";
import type { EvidenceIndex, ListEvidenceOptions, StoredRecord } from "../ports/evidence-index";

export interface EvidenceContainerNames {
  databaseName: string;
  containerName: string;
}

export const DEFAULT_EVIDENCE_CONTAINER_NAMES: EvidenceContainerNames = { databaseName: "custody", containerName: "evidence" };

/**
 * Indexing policy of the evidence container (Bicep should declare the same, e.g. by
 * `loadJsonContent` of a file generated from this constant):
 *
 * - Only the paths list queries filter or sort on are indexed — `status`, `capture.officerId`,
 *   `capture.deviceId`, `createdAt`, `uploadedAt` — and everything else (`/*`) is excluded.
 *   The record carries big arrays (custody log, per-segment digests, stage states) that no
 *   query filters on; indexing them would raise the RU cost of every write, and the index
 *   function writes each record several times.
 * - Composite indexes for the list query's shapes: equality filter(s) first, then
 *   `createdAt DESC` (the ORDER BY). Cosmos DB needs the composite for a filter + ORDER BY on
 *   different paths to be served efficiently (and for multi-property ORDER BY at all).
 * - Consistent indexing, so a record is listed as soon as it is written.
 *
 * Point reads by id need no index. The local stand-in stores the policy and ignores it.
 */
export const EVIDENCE_INDEXING_POLICY: IndexingPolicy = {
  indexingMode: "consistent",
  automatic: true,
  includedPaths: [{ path: "/status/?" }, { path: "/capture/officerId/?" }, { path: "/capture/deviceId/?" }, { path: "/createdAt/?" }, { path: "/uploadedAt/?" }],
  excludedPaths: [{ path: "/*" }, { path: '/"_etag"/?' }],
  compositeIndexes: [
    [
      { path: "/status", order: "ascending" },
      { path: "/createdAt", order: "descending" },
    ],
    [
      { path: "/capture/officerId", order: "ascending" },
      { path: "/createdAt", order: "descending" },
    ],
    [
      { path: "/status", order: "ascending" },
      { path: "/capture/officerId", order: "ascending" },
      { path: "/createdAt", order: "descending" },
    ],
  ],
};

/**
 * Creates the database and container when absent and returns the container. An existing
 * container keeps its settings (createIfNotExists does not update the indexing policy): in
 * Azure, Bicep owns them; this is for the local stack and first runs.
 */
export async function ensureEvidenceContainer(client: CosmosClient, names: EvidenceContainerNames = DEFAULT_EVIDENCE_CONTAINER_NAMES): Promise<Container> {
  try {
    const { database } = await client.databases.createIfNotExists({ id: names.databaseName });
    const { container } = await database.containers.createIfNotExists({
      id: names.containerName,
      partitionKey: { paths: ["/id"] },
      indexingPolicy: EVIDENCE_INDEXING_POLICY,
    });
    return container;
  } catch (error) {
    throw cosmosError(error, `ensuring ${names.databaseName}/${names.containerName}`);
  }
}

export interface EvidencePage {
  records: EvidenceRecord[];
  /** Pass back to get the next page; absent on the last page. */
  continuationToken?: string;
}

export interface ListEvidencePageOptions extends ListEvidenceOptions {
  continuationToken?: string;
}

/** Cosmos DB system properties stripped from documents before they are handed out as records. */
const SYSTEM_PROPERTIES = ["_rid", "_self", "_etag", "_attachments", "_ts", "_lsn"] as const;

const DEFAULT_PAGE_SIZE = 100;

export class CosmosEvidenceIndex implements EvidenceIndex {
  constructor(private readonly container: Container) {}

  async read(evidenceId: string): Promise<StoredRecord | undefined> {
    try {
      // @azure/cosmos 4.x answers a missing item with statusCode 404 and no resource rather
      // than throwing; older paths threw — both mean "not there".
      const response = await this.container.item(evidenceId, evidenceId).read<EvidenceRecord>();
      if (response.statusCode === 404 || response.resource === undefined) return undefined;
      return stored(response.resource, response.etag);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw cosmosError(error, `reading ${evidenceId}`);
    }
  }

  async create(record: EvidenceRecord): Promise<StoredRecord | "exists"> {
    try {
      const response = await this.container.items.create<EvidenceRecord>(record);
      return stored(response.resource, response.etag);
    } catch (error) {
      if (statusOf(error) === 409) return "exists";
      throw cosmosError(error, `creating ${record.id}`);
    }
  }

  async replace(record: EvidenceRecord, etag: string): Promise<StoredRecord | "conflict"> {
    try {
      const response = await this.container.item(record.id, record.id).replace<EvidenceRecord>(record, { accessCondition: { type: "IfMatch", condition: etag } });
      return stored(response.resource, response.etag);
    } catch (error) {
      const status = statusOf(error);
      // 412: someone wrote since our read. 404: the document went away since our read (only an
      // operator deletes records) — either way the caller's read is stale: re-read and re-apply.
      if (status === 412 || status === 404) return "conflict";
      throw cosmosError(error, `replacing ${record.id}`);
    }
  }

  async *list(options: ListEvidenceOptions = {}): AsyncIterable<EvidenceRecord> {
    let continuationToken: string | undefined;
    do {
      const page = await this.listPage({ ...options, continuationToken });
      yield* page.records;
      continuationToken = page.continuationToken;
    } while (continuationToken !== undefined);
  }

  /** One page of the list query, newest first; for callers that page across requests (CLI, HTTP). */
  async listPage(options: ListEvidencePageOptions = {}): Promise<EvidencePage> {
    const query = listQuery(options);
    try {
      const iterator = this.container.items.query<EvidenceRecord>(query, {
        maxItemCount: options.maxItemCount ?? DEFAULT_PAGE_SIZE,
        continuationToken: options.continuationToken,
      });
      // fetchNext may return an empty page with more to come (cross-partition fan-out): keep
      // going until there are records or no continuation, so a page is never empty mid-list.
      for (;;) {
        const response = await iterator.fetchNext();
        const records = (response.resources ?? []).map(withoutSystemProperties);
        const next = response.continuationToken ?? undefined;
        if (records.length > 0 || next === undefined || !iterator.hasMoreResults()) {
          return next === undefined ? { records } : { records, continuationToken: next };
        }
      }
    } catch (error) {
      throw cosmosError(error, "listing evidence");
    }
  }
}

/** The parameterized list query: equality filters, `createdAt >= @since`, newest first. */
export function listQuery(options: ListEvidenceOptions): SqlQuerySpec {
  const conditions: string[] = [];
  const parameters: SqlParameter[] = [];
  if (options.status !== undefined) {
    conditions.push("c.status = @status");
    parameters.push({ name: "@status", value: options.status });
  }
  if (options.officerId !== undefined) {
    conditions.push("c.capture.officerId = @officerId");
    parameters.push({ name: "@officerId", value: options.officerId });
  }
  if (options.since !== undefined) {
    conditions.push("c.createdAt >= @since");
    parameters.push({ name: "@since", value: options.since });
  }
  if (options.retainedUntilAtOrBefore !== undefined) {
    // Disposed ones stay as tombstones for good: left out here, not read and dropped on every run.
    conditions.push("c.retention.retainUntil <= @retainedUntil", '(NOT IS_DEFINED(c.disposal) OR c.disposal.state != "disposed")');
    parameters.push({ name: "@retainedUntil", value: options.retainedUntilAtOrBefore });
  }
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(" AND ")}` : "";
  const order = options.retainedUntilAtOrBefore !== undefined ? "c.retention.retainUntil ASC" : "c.createdAt DESC";
  return { query: `SELECT * FROM c${where} ORDER BY ${order}`, parameters };
}

function stored(resource: EvidenceRecord | undefined, etag: string | undefined): StoredRecord {
  const tag = etag ?? (resource as { _etag?: string } | undefined)?._etag;
  if (resource === undefined || tag === undefined) {
    throw new CustodyError("Internal", "Cosmos DB answered a write or read without the document or its ETag");
  }
  return { record: withoutSystemProperties(resource), etag: tag };
}

function withoutSystemProperties(resource: EvidenceRecord): EvidenceRecord {
  const copy = { ...resource } as EvidenceRecord & Partial<Record<(typeof SYSTEM_PROPERTIES)[number], unknown>>;
  for (const name of SYSTEM_PROPERTIES) delete copy[name];
  return copy;
}

/** The HTTP status of a Cosmos error: `ErrorResponse.code` is the status (number), some paths set `statusCode`. */
function statusOf(error: unknown): number | undefined {
  const candidate = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  if (typeof candidate.statusCode === "number") return candidate.statusCode;
  if (typeof candidate.code === "number") return candidate.code;
  return undefined;
}

/**
 * Classifies a Cosmos error. toCustodyError knows HTTP statuses but reads `statusCode`, which
 * Cosmos errors lack (they carry it in `code`), and its 404/412 meanings are about originals;
 * here those are configuration/bug cases, so they are settled first.
 */
function cosmosError(error: unknown, operation: string): CustodyError {
  const status = statusOf(error);
  const text = error instanceof Error ? error.message : String(error);
  const message = `Cosmos DB ${operation} failed${status !== undefined ? ` (${status})` : ""}: ${text}`;
  if (status === 404) {
    return new CustodyError("InvalidConfiguration", `${message} — does the database/container exist? (ensureEvidenceContainer creates them)`, { cause: error });
  }
  if (status === 413) {
    return new CustodyError("Internal", `${message} — the record exceeds Cosmos DB's 2 MB document limit`, { cause: error, retryable: false });
  }
  if (status === 449) return new CustodyError("Transient", message, { cause: error });
  const classified = toCustodyError(status === undefined ? error : { statusCode: status, message, code: (error as { code?: unknown }).code });
  return new CustodyError(classified.code, message, { cause: error, retryable: classified.retryable });
}
