/**
 * The behaviour every RetentionStore gives, as one set of tests both adapters run: the Azure
 * adapter against the documented REST responses (documented-blob-harness.ts), the emulated one
 * against real Azurite (test/local/emulated-retention-store.test.ts).
 */
import { isCustodyError } from "../../shared/errors";
import { wholeSecondsUp, type RetentionProtectionReason, type RetentionStore, type VersionRef } from "../../shared/ports/retention-store";

export interface RetentionStoreSubject {
  store: RetentionStore;
  /** Writes a blob (a new version of it where the store keeps versions); the ref of what was written. */
  write: (container: string, name: string) => Promise<VersionRef>;
  /** Whether the blob has a current version. */
  exists: (container: string, name: string) => Promise<boolean>;
}

const HOUR_IN_MS = 3_600_000;
const DAY_IN_MS = 24 * HOUR_IN_MS;
let counter = 0;
const uniqueName = (label: string): string => `borough-07/cam-${process.pid}-${++counter}/${label}.mp4`;

/** The refusal the port promises: RetentionProtected, final, Azure's 409 code in the message and the cause. */
export async function expectRefused(operation: Promise<unknown>, reason: RetentionProtectionReason): Promise<void> {
  const error = await operation.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isCustodyError(error)).toBe(true);
  expect(error).toMatchObject({ code: "RetentionProtected", retryable: false });
  expect((error as Error).message).toContain(reason);
  expect((error as Error).cause).toMatchObject({ statusCode: 409, code: reason });
}

async function expectNotFound(operation: Promise<unknown>): Promise<void> {
  await expect(operation).rejects.toMatchObject({ code: "OriginalNotFound", retryable: false });
}

export function retentionStoreContract(subject: () => RetentionStoreSubject): void {
  test("extends a version's retention, rounded up to whole seconds, and never shortens it", async () => {
    const { store, write } = subject();
    const ref = await write("originals", uniqueName("extend"));
    expect(await store.protection(ref)).toEqual({ legalHold: false });

    const twoDays = new Date(Date.now() + 2 * DAY_IN_MS + 1);
    expect(await store.extendRetention(ref, twoDays)).toEqual({ immutableUntil: wholeSecondsUp(twoDays), policyMode: "Unlocked", legalHold: false, changed: true });
    expect(wholeSecondsUp(twoDays).getTime()).toBeGreaterThanOrEqual(twoDays.getTime());

    const oneDay = new Date(Date.now() + DAY_IN_MS);
    expect(await store.extendRetention(ref, oneDay)).toEqual({ immutableUntil: wholeSecondsUp(twoDays), policyMode: "Unlocked", legalHold: false, changed: false });
    expect(await store.protection(ref)).toEqual({ immutableUntil: wholeSecondsUp(twoDays), policyMode: "Unlocked", legalHold: false });

    const threeDays = new Date(Date.now() + 3 * DAY_IN_MS);
    expect((await store.extendRetention(ref, threeDays)).changed).toBe(true);
    expect(await store.protection(ref)).toEqual({ immutableUntil: wholeSecondsUp(threeDays), policyMode: "Unlocked", legalHold: false });
  });

  test("a date already past extends nothing", async () => {
    const { store, write } = subject();
    const ref = await write("originals", uniqueName("past"));
    expect(await store.extendRetention(ref, new Date(Date.now() - HOUR_IN_MS))).toEqual({ legalHold: false, changed: false });
    expect(await store.protection(ref)).toEqual({ legalHold: false });
  });

  test("a Locked policy stays Locked; an Unlocked one is locked at its own later date when asked", async () => {
    const { store, write } = subject();
    const ref = await write("originals", uniqueName("locked"));
    const twoDays = new Date(Date.now() + 2 * DAY_IN_MS);
    await store.extendRetention(ref, twoDays);
    expect(await store.extendRetention(ref, new Date(Date.now() + DAY_IN_MS), { policyMode: "Locked" })).toEqual({
      immutableUntil: wholeSecondsUp(twoDays),
      policyMode: "Locked",
      legalHold: false,
      changed: true,
    });
    const threeDays = new Date(Date.now() + 3 * DAY_IN_MS);
    expect(await store.extendRetention(ref, threeDays, { policyMode: "Unlocked" })).toMatchObject({ immutableUntil: wholeSecondsUp(threeDays), policyMode: "Locked", changed: true });
  });

  test("a legal hold blocks deletion, with Azure's code; released, the version can be deleted", async () => {
    const { store, write, exists } = subject();
    const ref = await write("originals", uniqueName("hold"));
    expect(await store.setLegalHold(ref, true)).toEqual({ legalHold: true });
    expect(await store.setLegalHold(ref, true)).toEqual({ legalHold: true });
    await expectRefused(store.deleteVersion(ref), "BlobImmutableDueToLegalHold");
    expect(await exists(ref.container, ref.name)).toBe(true);
    expect(await store.protection(ref)).toEqual({ legalHold: true });

    expect(await store.setLegalHold(ref, false)).toEqual({ legalHold: false });
    expect(await store.deleteVersion(ref)).toBe("deleted");
    expect(await exists(ref.container, ref.name)).toBe(false);
    expect(await store.deleteVersion(ref)).toBe("absent");
  });

  test("an unexpired policy blocks deletion, with or without a hold", async () => {
    const { store, write, exists } = subject();
    const ref = await write("originals", uniqueName("policy"));
    await store.extendRetention(ref, new Date(Date.now() + HOUR_IN_MS));
    await expectRefused(store.deleteVersion(ref), "BlobImmutableDueToPolicy");
    // A hold is named first while both are in force; releasing it leaves the policy's refusal.
    await store.setLegalHold(ref, true);
    await expectRefused(store.deleteVersion(ref), "BlobImmutableDueToLegalHold");
    expect(await store.setLegalHold(ref, false)).toMatchObject({ legalHold: false, policyMode: "Unlocked" });
    await expectRefused(store.deleteVersion(ref), "BlobImmutableDueToPolicy");
    expect(await exists(ref.container, ref.name)).toBe(true);
  });

  test("an absent version: deleting it says absent, reading or protecting it is OriginalNotFound", async () => {
    const { store } = subject();
    const ref: VersionRef = { container: "originals", name: uniqueName("never-written") };
    expect(await store.deleteVersion(ref)).toBe("absent");
    await expectNotFound(store.protection(ref));
    await expectNotFound(store.extendRetention(ref, new Date(Date.now() + DAY_IN_MS)));
    await expectNotFound(store.setLegalHold(ref, true));
    // Nothing was left behind that would make it look protected.
    expect(await store.deleteVersion(ref)).toBe("absent");
  });

  test("deleteAllVersions removes a derived blob (every version of it) and counts them", async () => {
    const { store, write, exists } = subject();
    const name = uniqueName("proxy");
    await write("derived", name);
    const removed = await store.deleteAllVersions("derived", name);
    expect(removed).toBeGreaterThanOrEqual(1);
    expect(await exists("derived", name)).toBe(false);
    expect(await store.deleteAllVersions("derived", name)).toBe(0);
  });
}
