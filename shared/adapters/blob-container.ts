/**
 * A container the app creates itself on the local stack (in Azure Bicep creates it: the app has no
 * control-plane rights): created once per adapter, on first use; a failed attempt is not
 * remembered, so the next call tries again.
 */
import type { ContainerClient } from "@azure/storage-blob";

export function containerCreator(container: ContainerClient, create: boolean | undefined): () => Promise<unknown> {
  let ready: Promise<unknown> | undefined;
  return () => {
    if (!create) return Promise.resolve();
    ready ??= container.createIfNotExists().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
}
