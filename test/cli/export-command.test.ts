/**
 * `custody export` on the embedded stack (real Azurite, Cosmos stand-in, Service Bus emulator,
 * the app's functions, real ffmpeg): a real recording processed to ready gets its images signed
 * with Content Credentials and its signed manifest issued; export writes its package from the running stack; `custody verify --package`
 * verifies it with the deployment's published keys, and again after the stack has stopped; every
 * command of its VERIFY.txt succeeds; a recording that failed (no manifest) is refused, saying why.
 * A Content Credentials CA certificate published beside the keys is in the package.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { LocalKeySigner, localSigningKeyDirectory } from "../../shared/adapters/local-key-signer";
import { GUIDE_FILE } from "../../shared/disclosure/layout";
import { CA_CERTIFICATE_FILE } from "../../shared/adapters/local-content-credentials";
import { parseTrustAnchor } from "../../shared/provenance/trust-anchors";
import { COMMAND_PREFIX } from "../../shared/disclosure/verify-guide";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { createLogger, silentLogger } from "../../shared/logging";
import { buildJwks } from "../../shared/provenance/jwks";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import { waitFor, waitForRecord } from "../support/polling";
import { runCli } from "./run-cli";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "media");
const workDir = mkdtempSync(path.join(os.tmpdir(), "custody-export-"));
const dataDir = path.join(workDir, "data");
const out = path.join(workDir, "out");
const jwksFile = path.join(workDir, "jwks.json");
let stack: RunningStack | undefined;
const ids = { ready: "", failed: "" };

beforeAll(async () => {
  stack = await startStack({ dataDir, log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger, blobPollIntervalInMs: 100 });
  const blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const files = { ready: path.join(workDir, "clip.mp4"), failed: path.join(workDir, "corrupt.mkv") };
  writeFileSync(files.ready, readFileSync(path.join(FIXTURES, "exo_fragmented_fmp4.mp4")));
  writeFileSync(files.failed, readFileSync(path.join(FIXTURES, "ft_mkv_corrupt_ebml.mkv")));
  for (const key of Object.keys(files) as Array<keyof typeof files>) {
    const uploaded = await uploadRecording(container, files[key], { officerId: "PC7", deviceId: "BWV-7", recordedAt: "2026-12-05T08:00:00Z" });
    ids[key] = deriveEvidenceId({ account: blobService.accountName, container: ORIGINALS_CONTAINER, name: uploaded.blobName, versionId: uploaded.versionId, etag: uploaded.etag });
  }
  expect((await waitForRecord(stack.services!.index, ids.ready, undefined, 90_000)).status).toBe("ready");
  expect((await waitForRecord(stack.services!.index, ids.failed, undefined, 90_000)).status).toBe("failed");
  await waitFor("the manifest issued", async () => ((await stack!.services!.manifests.list(ids.ready)).length > 0 ? true : undefined), 30_000);
  // The deployment's published keys, as a verifier would obtain them from the force.
  const signer = await LocalKeySigner.open({ directory: localSigningKeyDirectory(dataDir) });
  await writeFile(jwksFile, JSON.stringify(buildJwks(await signer.publishedKeys())));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

function sh(command: string, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => execFile("sh", ["-c", command], { cwd }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` })));
}

test("export writes a package that verifies with the published keys, by the CLI and by VERIFY.txt; a recording without a manifest is refused", async () => {
  // The local stack's Content Credentials CA (made on first start beside the signing key); the index publishes it with the keys.
  const ca = { certificatePem: await readFile(path.join(localSigningKeyDirectory(dataDir), "content-credentials", CA_CERTIFICATE_FILE), "utf8") };
  const run = await runCli(["export", ids.ready, ids.failed, "--out", out, "--data-dir", dataDir, "--json"]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(1);
  const results = JSON.parse(run.stdout) as Array<{ evidenceId: string; status: string; reason?: string }>;
  expect(results.map((r) => [r.evidenceId, r.status])).toEqual([
    [ids.ready, "written"],
    [ids.failed, "refused"],
  ]);
  expect(results[1].reason).toMatch(/no signed evidence manifest has been issued for it \(status failed\)/);

  const verified = await runCli(["verify", "--package", out, "--keys", jwksFile, "--data-dir", dataDir]);
  expect(verified.code).toBe(0);
  expect(verified.stdout).toMatch(new RegExp(`Recording ${ids.ready}: VERIFIED`));
  expect(verified.stdout).toMatch(/OK +renditions\/transcode\/proxy\.mp4/);
  // The images were signed on the index's order: each carries Content Credentials naming this original.
  const record = (await stack!.services!.index.read(ids.ready))!.record;
  const images = (record.stages.thumbnail?.renditions ?? []).filter((r) => r.kind !== "sprite-vtt");
  expect(images.length).toBeGreaterThan(2);
  for (const image of images) expect(image.path).toMatch(new RegExp(`^${ids.ready}/thumbnail/c2pa-[0-9a-f]{16}/${image.name}$`));
  expect(verified.stdout).not.toMatch(/carries no Content Credentials/);
  expect(verified.stdout.match(/Content Credentials valid/g)?.length).toBe(images.length);
  expect(verified.stdout).toMatch(new RegExp(`naming original ${record.hash!.sha256} as ingredient`));
  expect(verified.stdout.match(/its certificate chains to CN=/g)?.length).toBe(images.length);

  const folder = path.join(out, ids.ready);
  const caFile = `keys/content-credentials-ca-${parseTrustAnchor(ca.certificatePem, "the test CA").id}.pem`;
  expect(parseTrustAnchor(await readFile(path.join(folder, caFile), "utf8"), caFile).pem).toBe(parseTrustAnchor(ca.certificatePem, "the test CA").pem);
  const commands = (await readFile(path.join(folder, GUIDE_FILE), "utf8"))
    .split("\n")
    .filter((l) => l.startsWith(COMMAND_PREFIX))
    .map((l) => l.slice(COMMAND_PREFIX.length));
  for (const command of commands) {
    const { code, output } = await sh(command, folder);
    expect({ command, code, bad: /MISMATCH|BROKEN|FAILED|Verification failure/.test(output) }).toEqual({ command, code: 0, bad: false });
  }
  expect(commands).toContain(`openssl x509 -in ${caFile} -noout -subject -fingerprint -sha256`);

  await stack!.stop();
  stack = undefined;
  expect((await runCli(["verify", "--package", out, "--keys", jwksFile, "--data-dir", dataDir])).code).toBe(0);
});
