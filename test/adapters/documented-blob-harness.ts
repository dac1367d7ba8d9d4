/**
 * A loopback HTTP server answering the few Blob Storage REST operations the retention store
 * uses the way Microsoft's docs say Azure answers them — for the Azure adapter's tests, since
 * Azurite answers 501 to the immutability calls. It records every request, so tests can check
 * what the real SDK sent (path, query, headers) against the documented shapes:
 *
 * - Put Blob: 201, `x-ms-version-id` (a new version per write on a versioned account)
 *   https://learn.microsoft.com/rest/api/storageservices/put-blob
 * - Get Blob Properties (HEAD [?versionid]): `x-ms-version-id`, `x-ms-is-current-version`,
 *   `x-ms-immutability-policy-until-date` (RFC 1123), `x-ms-immutability-policy-mode` (lower case,
 *   as Azure answers: azure-sdk-for-js's recorded responses show `unlocked`), `x-ms-legal-hold`
 *   https://learn.microsoft.com/rest/api/storageservices/get-blob-properties
 * - Set Blob Immutability Policy (PUT ?comp=immutabilityPolicies[&versionid]): requires
 *   `x-ms-immutability-policy-until-date` in RFC 1123, "past times are not valid" (400);
 *   `x-ms-immutability-policy-mode` Unlocked|Locked; a Locked policy cannot be shortened or unlocked
 *   https://learn.microsoft.com/rest/api/storageservices/set-blob-immutability-policy
 * - Set Blob Legal Hold (PUT ?comp=legalhold[&versionid]): `x-ms-legal-hold: true|false`
 *   https://learn.microsoft.com/rest/api/storageservices/set-blob-legal-hold
 * - Delete Blob (DELETE [?versionid]): 202; 404 BlobNotFound; 409 BlobImmutableDueToLegalHold /
 *   BlobImmutableDueToPolicy for a protected version; 403 OperationNotAllowedOnRootBlob for the
 *   current version by its id (not in the error-code table; recorded from Azure in
 *   azure-sdk-for-js's storage-blob tests); If-Match → 412 ConditionNotMet; without versionid on a
 *   versioned account the current version becomes a previous one
 *   https://learn.microsoft.com/rest/api/storageservices/delete-blob,
 *   https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes
 * - List Blobs (GET ?restype=container&comp=list&include=versions): EnumerationResults XML
 *   https://learn.microsoft.com/rest/api/storageservices/list-blobs
 *
 * Anything else answers 501 and is recorded as unexpected. The service's error for shortening
 * a Locked policy is not documented by code: this server answers 409 with a code of its own
 * naming that, only for tests that check the adapter never sends such a request.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The Azurite development account's well-known key (public), used only to sign requests this server ignores. */
const ACCOUNT = "devstoreaccount1";
const ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/** The first service version with the immutability operations (the docs: "available as of version 2020-06-12"). */
export const IMMUTABILITY_API_VERSION = "2020-06-12";

export interface RecordedRequest {
  method: string;
  /** Path below the account, e.g. `/originals/a/b.mp4`. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

interface StoredVersion {
  versionId: string;
  current: boolean;
  etag: string;
  lastModified: Date;
  size: number;
  until?: Date;
  mode?: "unlocked" | "locked";
  legalHold: boolean;
}

export interface DocumentedBlobService {
  connectionString: string;
  requests: RecordedRequest[];
  /** Requests this server does not know (answered 501). */
  unexpected: RecordedRequest[];
  /** Sets a version's protection directly (as an administrator or the container default would). */
  protect(container: string, name: string, versionId: string, protection: { until?: Date; mode?: "unlocked" | "locked"; legalHold?: boolean }): void;
  versions(container: string, name: string): Array<Pick<StoredVersion, "versionId" | "current">>;
  stop(): Promise<void>;
}

/** What a handler returns once it has answered (so an early `return fail(…)` reads as one step). */
type Answered = "answered";

const RFC_1123 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

export async function startDocumentedBlobService(): Promise<DocumentedBlobService> {
  const blobs = new Map<string, StoredVersion[]>();
  const requests: RecordedRequest[] = [];
  const unexpected: RecordedRequest[] = [];
  let tick = 0;

  const newVersionId = (): string => {
    // Azure's version ids are timestamps with seven fractional digits; unique here by a counter.
    tick += 1;
    return new Date().toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => `.${ms}${String(tick % 10_000).padStart(4, "0")}Z`);
  };

  const handle = (request: IncomingMessage, body: Buffer, response: ServerResponse): Answered | undefined => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const prefix = `/${ACCOUNT}`;
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
    const recorded: RecordedRequest = { method: request.method ?? "", path: decodeURIComponent(path), query: url.searchParams, headers: request.headers };
    requests.push(recorded);
    const [, container = "", ...nameParts] = recorded.path.split("/");
    const name = nameParts.join("/");
    const key = `${container}/${name}`;
    const comp = url.searchParams.get("comp");
    const versionId = url.searchParams.get("versionid") ?? undefined;
    const versions = blobs.get(key) ?? [];
    const target = versionId === undefined ? versions.find((v) => v.current) : versions.find((v) => v.versionId === versionId);
    const common = { "x-ms-request-id": randomUUID(), "x-ms-version": String(request.headers["x-ms-version"] ?? ""), date: new Date().toUTCString() };

    const fail = (status: number, code: string, message: string): Answered => {
      const head = { ...common, "x-ms-error-code": code, "content-type": "application/xml" };
      if (request.method === "HEAD") {
        response.writeHead(status, head).end();
        return "answered";
      }
      response
        .writeHead(status, head)
        .end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${common["x-ms-request-id"]}\nTime:${new Date().toISOString()}</Message></Error>`);
      return "answered";
    };
    const notFound = (): Answered => fail(404, "BlobNotFound", "The specified blob does not exist.");

    if (request.method === "PUT" && comp === null && name !== "") {
      for (const v of versions) v.current = false;
      const stored: StoredVersion = {
        versionId: newVersionId(),
        current: true,
        etag: `"0x${Date.now().toString(16).toUpperCase()}${tick}"`,
        lastModified: new Date(),
        size: body.length,
        legalHold: false,
      };
      blobs.set(key, [...versions, stored]);
      response.writeHead(201, { ...common, etag: stored.etag, "last-modified": stored.lastModified.toUTCString(), "x-ms-version-id": stored.versionId, "x-ms-request-server-encrypted": "true" }).end();
      return;
    }
    if (request.method === "HEAD" && comp === null) {
      if (target === undefined) return notFound();
      response
        .writeHead(200, {
          ...common,
          "content-length": String(target.size),
          "content-type": "application/octet-stream",
          etag: target.etag,
          "last-modified": target.lastModified.toUTCString(),
          "x-ms-blob-type": "BlockBlob",
          "x-ms-version-id": target.versionId,
          "x-ms-is-current-version": String(target.current),
          ...(target.until === undefined ? {} : { "x-ms-immutability-policy-until-date": target.until.toUTCString(), "x-ms-immutability-policy-mode": target.mode ?? "unlocked" }),
          ...(target.legalHold ? { "x-ms-legal-hold": "true" } : {}),
        })
        .end();
      return;
    }
    if (request.method === "PUT" && comp === "immutabilityPolicies") {
      if (target === undefined) return notFound();
      const untilHeader = String(request.headers["x-ms-immutability-policy-until-date"] ?? "");
      const modeHeader = String(request.headers["x-ms-immutability-policy-mode"] ?? "unlocked").toLowerCase();
      if (!RFC_1123.test(untilHeader)) return fail(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.");
      if (modeHeader !== "unlocked" && modeHeader !== "locked") return fail(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.");
      const until = new Date(untilHeader);
      if (until.getTime() <= Date.now()) return fail(400, "InvalidHeaderValue", "Past times are not valid.");
      if (target.mode === "locked" && (modeHeader !== "locked" || (target.until !== undefined && until < target.until))) {
        return fail(409, "LockedPolicyCannotBeWeakened", "This server's stand-in refusal: a Locked policy can only be extended.");
      }
      target.until = until;
      target.mode = modeHeader;
      response.writeHead(200, { ...common, "x-ms-immutability-policy-until-date": until.toUTCString(), "x-ms-immutability-policy-mode": modeHeader }).end();
      return;
    }
    if (request.method === "PUT" && comp === "legalhold") {
      if (target === undefined) return notFound();
      const hold = String(request.headers["x-ms-legal-hold"] ?? "");
      if (hold !== "true" && hold !== "false") return fail(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.");
      target.legalHold = hold === "true";
      response.writeHead(200, { ...common, "x-ms-legal-hold": hold }).end();
      return;
    }
    if (request.method === "DELETE" && comp === null && name !== "") {
      if (target === undefined) return notFound();
      // The current version is deleted through the base blob, never by its id (azure-sdk-for-js's
      // storage-blob recordings: 403 OperationNotAllowedOnRootBlob, "…not allowed on root blob.").
      if (versionId !== undefined && target.current) return fail(403, "OperationNotAllowedOnRootBlob", "The specified operation is not allowed on root blob.");
      const ifMatch = request.headers["if-match"];
      if (versionId === undefined && ifMatch !== undefined && ifMatch !== "*" && ifMatch !== target.etag) {
        return fail(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.");
      }
      if (target.legalHold) return fail(409, "BlobImmutableDueToLegalHold", "This operation is not permitted as the blob is immutable due to one or more legal holds.");
      if (target.until !== undefined && target.until.getTime() > Date.now()) return fail(409, "BlobImmutableDueToPolicy", "This operation is not permitted as the blob is immutable due to a policy.");
      if (versionId === undefined) target.current = false;
      else
        blobs.set(
          key,
          versions.filter((v) => v !== target),
        );
      response.writeHead(202, { ...common, "x-ms-delete-type-permanent": String(versionId !== undefined) }).end();
      return;
    }
    if (request.method === "GET" && url.searchParams.get("restype") === "container" && comp === "list") {
      const listPrefix = url.searchParams.get("prefix") ?? "";
      const withVersions = (url.searchParams.get("include") ?? "").split(",").includes("versions");
      const items = [...blobs.entries()]
        .filter(([k]) => k.startsWith(`${container}/${listPrefix}`))
        .flatMap(([k, vs]) => vs.filter((v) => withVersions || v.current).map((v) => ({ name: k.slice(container.length + 1), v })));
      const xml = items
        .map(
          ({ name: itemName, v }) =>
            `<Blob><Name>${escapeXml(itemName)}</Name>${withVersions ? `<VersionId>${v.versionId}</VersionId>${v.current ? "<IsCurrentVersion>true</IsCurrentVersion>" : ""}` : ""}` +
            `<Properties><Last-Modified>${v.lastModified.toUTCString()}</Last-Modified><Etag>${v.etag.replace(/"/g, "")}</Etag><Content-Length>${v.size}</Content-Length>` +
            `<Content-Type>application/octet-stream</Content-Type><BlobType>BlockBlob</BlobType><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>` +
            (v.until === undefined
              ? ""
              : `<ImmutabilityPolicyUntilDate>${v.until.toUTCString()}</ImmutabilityPolicyUntilDate><ImmutabilityPolicyMode>${v.mode ?? "unlocked"}</ImmutabilityPolicyMode>`) +
            (v.legalHold ? "<LegalHold>true</LegalHold>" : "") +
            "</Properties></Blob>",
        )
        .join("");
      response
        .writeHead(200, { ...common, "content-type": "application/xml" })
        .end(
          `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1/${ACCOUNT}/" ContainerName="${container}"><Prefix>${escapeXml(listPrefix)}</Prefix><Blobs>${xml}</Blobs><NextMarker /></EnumerationResults>`,
        );
      return;
    }
    unexpected.push(recorded);
    return fail(501, "NotImplementedHere", "This operation is outside the documented subset this server answers.");
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => handle(request, Buffer.concat(chunks), response));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
    requests,
    unexpected,
    protect(container, name, versionId, protection) {
      const version = (blobs.get(`${container}/${name}`) ?? []).find((v) => v.versionId === versionId);
      if (version === undefined) throw new Error(`no version ${versionId} of ${container}/${name}`);
      if (protection.until !== undefined) version.until = new Date(Math.ceil(protection.until.getTime() / 1000) * 1000);
      if (protection.mode !== undefined) version.mode = protection.mode;
      if (protection.legalHold !== undefined) version.legalHold = protection.legalHold;
    },
    versions(container, name) {
      return (blobs.get(`${container}/${name}`) ?? []).map(({ versionId, current }) => ({ versionId, current }));
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
