/**
 * Listing a container on Azurite so that one unlistable blob hides as little as possible.
 * Azure returns names holding characters XML 1.0 cannot carry (control characters)
 * percent-encoded (`<Name Encoded="true">`); Azurite instead fails the whole List Blobs call
 * with HTTP 500, for every page that would hold such a name. A flat listing would then hide
 * every upload, so the listing walks the virtual folders (`officer/device/…`) one by one; in a
 * folder whose page fails, it goes on from the last good page in pages that shrink around the
 * failure, which keeps every entry (blob or subfolder, walked as usual) that sorts before the
 * unlistable one. What is left — the unlistable name and the folder's entries after it — is
 * reported to `onUnlistable` on every listing, naming the folder and the last entry listed.
 *
 * Skipping past the unlistable name is not possible from outside: Azurite echoes a prefix or
 * marker holding such a character into its XML reply and fails on it too, and List Blobs has no
 * upper bound to search with.
 */
import { ContainerClient, type BlobItem, type BlobPrefix, type ContainerListBlobHierarchySegmentResponse } from "@azure/storage-blob";
import type { ListedBlob, UnlistableFolder } from "../ports/blob-store";

export type { ListedBlob, UnlistableFolder };

/** The page size the fallback starts with, and how much it shrinks each time a page fails. */
const FALLBACK_PAGE_SIZE = 64;
const FALLBACK_SHRINK = 4;

type HierarchyItem = ({ kind: "prefix" } & BlobPrefix) | ({ kind: "blob" } & BlobItem);

export async function* listBlobsIsolatingFailures(container: ContainerClient, onUnlistable: (folder: UnlistableFolder) => void, prefix = ""): AsyncGenerator<ListedBlob> {
  const blobs: ListedBlob[] = [];
  const folders: string[] = [];
  let lastListed: string | undefined;
  let marker: string | undefined;
  // Full pages (the service's size) with the caller's retry policy until one fails; then pages
  // that shrink around the failure, from the last good marker, each sent once (a failing page is
  // expected there: the SDK's retries, about half a minute for a 500, would only slow it down).
  let pageSize: number | undefined;
  let client = container;
  let failure: unknown;
  for (;;) {
    let page: ContainerListBlobHierarchySegmentResponse;
    try {
      page = (
        await client
          .listBlobsByHierarchy("/", { prefix })
          .byPage({ ...(pageSize === undefined ? {} : { maxPageSize: pageSize }), ...(marker === undefined ? {} : { continuationToken: marker }) })
          .next()
      ).value as ContainerListBlobHierarchySegmentResponse;
    } catch (error) {
      failure ??= error;
      if (pageSize === 1) break;
      pageSize = pageSize === undefined ? FALLBACK_PAGE_SIZE : Math.max(1, Math.floor(pageSize / FALLBACK_SHRINK));
      client = new ContainerClient(container.url, container.credential, { retryOptions: { maxTries: 1 } });
      continue;
    }
    const items: HierarchyItem[] = [
      ...(page.segment.blobPrefixes ?? []).map((item) => ({ ...item, kind: "prefix" as const })),
      ...page.segment.blobItems.map((item) => ({ ...item, kind: "blob" as const })),
    ];
    for (const item of items) {
      if (item.kind === "prefix") folders.push(item.name);
      else blobs.push(listed(item));
      if (lastListed === undefined || item.name > lastListed) lastListed = item.name;
    }
    marker = page.continuationToken;
    // Done — also when a failure was passing and the smaller pages got through to the end.
    if (!marker) {
      failure = undefined;
      break;
    }
  }
  if (failure !== undefined) onUnlistable({ prefix, error: failure, ...(lastListed === undefined ? {} : { listedUpTo: lastListed }) });
  yield* blobs;
  for (const folder of folders) yield* listBlobsIsolatingFailures(container, onUnlistable, folder);
}

function listed(item: BlobItem): ListedBlob {
  return {
    name: item.name,
    etag: item.properties.etag ?? "",
    contentLength: item.properties.contentLength ?? 0,
    contentType: item.properties.contentType,
    versionId: item.versionId,
    lastModified: item.properties.lastModified,
  };
}
