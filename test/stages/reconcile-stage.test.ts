/**
 * Reconcile lists the originals to find those with no record. On Azurite a blob name with a
 * control character makes List Blobs fail for every page that would hold it (Azure encodes such
 * names): reconcile must still cover everything else that can be listed — the rest of the
 * container and the entries of that folder before the name — and report the folder, naming how
 * far it got. Real Azurite and Cosmos stand-in, through the app's own adapters.
 */
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import type { BlobCreatedCloudEvent } from "../../shared/contracts/blob-created-cloud-event";
import { silentLogger } from "../../shared/logging";
import { reconcile } from "../../shared/stages/reconcile-stage";

let stack: RunningStack;

beforeAll(async () => {
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-reconcile-stage-")), "data");
  stack = await startStack({ dataDir, log: silentLogger, runFunctions: false });
  const container = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage).getContainerClient(ORIGINALS_CONTAINER);
  for (const name of ["odd/bell\u0007.mp4", "odd/a-before.mp4", "odd/0-sub/deep.mp4", "odd/z-after.mp4", "other/fine.mp4", "top.mp4"]) {
    await container.getBlockBlobClient(name).uploadData(Buffer.from(name));
  }
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

test("an unlistable name hides only what sorts after it in its folder; the folder is reported", async () => {
  const sent: Array<{ messageId: string; event: BlobCreatedCloudEvent }> = [];
  const outcome = await reconcile(
    { catalog: stack.services!.blobs, index: stack.services!.index, send: async (messageId, event) => void sent.push({ messageId, event }) },
    { actor: "custody/reconcile@test", attempt: 1, maxAttempts: 1, traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", log: silentLogger },
    { operationId: "0b5a6f3e-2d1c-4e8f-9a7b-6c5d4e3f2a1b", originalsContainers: [ORIGINALS_CONTAINER], stuckBefore: new Date(0) },
  );
  expect(outcome.items.map((item) => item.blob).sort()).toEqual(["odd/0-sub/deep.mp4", "odd/a-before.mp4", "other/fine.mp4", "top.mp4"].map((name) => `${ORIGINALS_CONTAINER}/${name}`));
  expect(sent).toHaveLength(4);
  expect(outcome.errors).toEqual([expect.stringContaining(`${ORIGINALS_CONTAINER}/odd/: its entries after ${ORIGINALS_CONTAINER}/odd/a-before.mp4 could not be listed`)]);
  expect(outcome.errors[0]).toContain("control character");
}, 120_000);
