/**
 * What the dead-letter CLI tests share: a blob store whose reads fail transiently (so a
 * stage's message really exhausts its deliveries).
 */
import { CustodyError } from "../../shared/errors";
import type { FunctionServices } from "../../functions/services";

export const INJECTED_STORAGE_FAILURE = "Blob storage answered 503 ServerBusy (injected by the test)";

/** The same blob store, but `openRead` throws a transient error while `failing()` says so. */
export function blobsFailingReads(blobs: FunctionServices["blobs"], failing: () => boolean = () => true): FunctionServices["blobs"] {
  return new Proxy(blobs, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === "openRead") {
        return async (...args: unknown[]) => {
          if (failing()) throw new CustodyError("Transient", INJECTED_STORAGE_FAILURE);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
