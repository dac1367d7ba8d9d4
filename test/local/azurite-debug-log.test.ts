/**
 * Azurite's debug log records every request, SAS URLs with their signatures included, and
 * grows by gigabytes a day even when idle: the embedded stack writes it only when asked
 * (`custody start --verbose`, CUSTODY_AZURITE_DEBUG_LOG=1).
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { startStack } from "../../local/stack";
import { silentLogger } from "../../shared/logging";

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((entry) => statSync(path.join(dir, entry)).isFile());
}

async function useStorage(connectionString: string): Promise<void> {
  const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient("originals");
  await container.createIfNotExists();
  await container.getBlockBlobClient("a/b.mp4").upload("hello", 5);
  for await (const blob of container.listBlobsFlat()) expect(blob.name).toBe("a/b.mp4");
}

test("a default stack writes no Azurite debug log", async () => {
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-nodebug-")), "data");
  const stack = await startStack({ dataDir, log: silentLogger, runFunctions: false });
  try {
    await useStorage(stack.environment.EvidenceStorage);
  } finally {
    await stack.stop();
  }
  const files = filesUnder(dataDir);
  expect(files.length).toBeGreaterThan(0); // Azurite's data is there…
  expect(files.filter((file) => /debug/i.test(file))).toEqual([]); // …its debug log is not
});

test("asked for (custody start --verbose), the stack writes it to one file beside its data", async () => {
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-debug-")), "data");
  const stack = await startStack({ dataDir, log: silentLogger, runFunctions: false, azuriteDebugLog: true });
  try {
    await useStorage(stack.environment.EvidenceStorage);
  } finally {
    await stack.stop();
  }
  expect(stack.azuriteDebugLogFile).toBe(path.join(dataDir, "azurite-debug.log"));
  expect(readFileSync(stack.azuriteDebugLogFile!, "utf8")).toContain("PUT");
  expect(filesUnder(dataDir).filter((file) => /debug/i.test(file))).toEqual(["azurite-debug.log"]);
});
