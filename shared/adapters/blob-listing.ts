/**
 * Listing a container on Azurite so that one unlistable blob hides as little as possible.
 * Azure returns names holding characters XML 1.0 cannot carry (control characters)
 * percent-encoded (`<Name Encoded="true">`); Azurite instead fails the whole List Blobs call
 * with HTTP 500, for every page that would hold such a name. A flat listing would then hide
 * every upload, so the listing walks the virtual folders (`officer/device/…`) one by one; in a
 * folder that fails, it lists again in pages that shrink around the failure, which keeps every
 * entry (blob or subfolder, walked as usual) that sorts before the unlistable one. What is left
 * — the unlistable name and the folder's entries after it — is reported to `onUnlistable` on
 * every listing, naming the folder and the last entry listed.
 *
 * Skipping past the unlistable name is not possible from outside: Azurite echoes a prefix or
 * marker holding such a character into its XML reply and fails on it too, and List Blobs has no
 * upper bound to search with.
 */
import { ContainerClient, type BlobItem, type BlobPrefix } from "@azure/storage-blob";
import type { ListedBlob, UnlistableFolder } from "../ports/blob-store";

export type { ListedBlob, UnlistableFolder };

/** The page size the fallback starts with, and how much it shrinks each time a page fails. */
const FALLBACK_PAGE_SIZE = 64;
const FALLBACK_SHRINK = 4;

interface FolderEntries {
  blobs: ListedBlob[];
  folders: string[];
}

export async function* listBlobsIsolatingFailures(
  container: ContainerClient,
  onUnlistable: (folder: UnlistableFolder) => void,
  prefix = "",
): AsyncGenerator<ListedBlob> {
  const entries: FolderEntries = { blobs: [], folders: [] };
  try {
    for await (const item of container.listBlobsByHierarchy("/", { prefix })) addEntry(entries, item);
  } catch (error) {
    const before = await listEntriesBeforeFailure(container, prefix);
    if (!before.complete) onUnlistable({ prefix, error, ...(before.lastListed === undefined ? {} : { listedUpTo: before.lastListed }) });
    entries.blobs = before.blobs;
    entries.folders = before.folders;
  }
  yield* entries.blobs;
  for (const folder of entries.folders) yield* listBlobsIsolatingFailures(container, onUnlistable, folder);
}

type HierarchyItem = ({ kind: "prefix" } & BlobPrefix) | ({ kind: "blob" } & BlobItem);

function addEntry(entries: FolderEntries, item: HierarchyItem): void {
  if (item.kind === "prefix") {
    entries.folders.push(item.name);
    return;
  }
  entries.blobs.push({
    name: item.name,
    etag: item.properties.etag ?? "",
    contentLength: item.properties.contentLength ?? 0,
    contentType: item.properties.contentType,
    versionId: item.versionId,
    lastModified: item.properties.lastModified,
  });
}

/**
 * The folder's entries up to the first one Azurite cannot list: pages from the last good
 * marker, smaller after each failure, down to single entries. A failure that is not about one
 * entry (Azurite down) fails every page too, and yields nothing after a handful of calls.
 */
async function listEntriesBeforeFailure(client: ContainerClient, prefix: string): Promise<FolderEntries & { complete: boolean; lastListed?: string }> {
  // Each failing page is expected here: the SDK's retries (about half a minute for a 500) would
  // only slow the listing down, so this client sends each request once.
  const container = new ContainerClient(client.url, client.credential, { retryOptions: { maxTries: 1 } });
  const entries: FolderEntries = { blobs: [], folders: [] };
  let lastListed: string | undefined;
  let marker: string | undefined;
  let pageSize = FALLBACK_PAGE_SIZE;
  for (;;) {
    let page;
    try {
      page = (await container.listBlobsByHierarchy("/", { prefix }).byPage({ maxPageSize: pageSize, ...(marker === undefined ? {} : { continuationToken: marker }) }).next()).value;
    } catch {
      if (pageSize === 1) break;
      pageSize = Math.max(1, Math.floor(pageSize / FALLBACK_SHRINK));
      continue;
    }
    for (const item of page.segment.blobPrefixes ?? []) {
      entries.folders.push(item.name);
      lastListed = maxName(lastListed, item.name);
    }
    for (const item of page.segment.blobItems) {
      addEntry(entries, { ...item, kind: "blob" });
      lastListed = maxName(lastListed, item.name);
    }
    marker = page.continuationToken;
    // The whole folder listed after all (the failure was passing): nothing is left out.
    if (!marker) return { ...entries, complete: true };
  }
  return { ...entries, complete: false, ...(lastListed === undefined ? {} : { lastListed }) };
}

function maxName(a: string | undefined, b: string): string {
  return a === undefined || b > a ? b : a;
}
