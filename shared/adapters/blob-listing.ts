/**
 * Listing a container on Azurite so that one unlistable blob does not hide the others.
 * Azure returns names holding characters XML 1.0 cannot carry (control characters)
 * percent-encoded (`<Name Encoded="true">`); Azurite instead fails the whole List Blobs call
 * with HTTP 500. A flat listing would then hide every upload from the blob-event source, so
 * the listing walks the virtual folders (`officer/device/…`) and skips, with a warning
 * naming it, only the folder Azurite cannot list.
 */
import type { ContainerClient } from "@azure/storage-blob";
import type { ListedBlob } from "../ports/blob-store";

export type { ListedBlob };

export async function* listBlobsIsolatingFailures(
  container: ContainerClient,
  onUnlistable: (prefix: string, error: unknown) => void,
  prefix = "",
): AsyncGenerator<ListedBlob> {
  const blobs: ListedBlob[] = [];
  const folders: string[] = [];
  try {
    for await (const item of container.listBlobsByHierarchy("/", { prefix })) {
      if (item.kind === "prefix") {
        folders.push(item.name);
      } else {
        blobs.push({
          name: item.name,
          etag: item.properties.etag ?? "",
          contentLength: item.properties.contentLength ?? 0,
          contentType: item.properties.contentType,
          versionId: item.versionId,
          lastModified: item.properties.lastModified,
        });
      }
    }
  } catch (error) {
    onUnlistable(prefix, error);
    return;
  }
  yield* blobs;
  for (const folder of folders) yield* listBlobsIsolatingFailures(container, onUnlistable, folder);
}
