/**
 * The Content Credentials trust anchor published beside the signing keys
 * (shared/adapters/blob-manifest-store.ts, against Azurite with the real SDK): stored once as
 * `keys/content-credentials-ca-<first 16 hex of the DER's SHA-256>.pem`, the same certificate
 * again a no-op (from this process or another, whatever its line endings), a second CA kept
 * beside the first, the published keys unaffected, and text that is not one certificate refused
 * with nothing stored.
 */
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { BlobManifestStore, MANIFESTS_CONTAINER } from "../../shared/adapters/blob-manifest-store";
import { createCustodyCa } from "../../shared/media/content-credentials-chain";
import { startAzurite, type AzuriteInstance } from "../../local/azurite";
import { TestEvidenceSigner } from "../support/test-signer";

let azurite: AzuriteInstance;
let dataDir: string;
let blobService: BlobServiceClient;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "custody-trust-anchors-"));
  azurite = await startAzurite({ location: dataDir });
  blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const derSha256 = (pem: string): string => createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");

async function blobNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const item of blobService.getContainerClient(MANIFESTS_CONTAINER).listBlobsFlat()) names.push(item.name);
  return names.sort();
}

test("a deployment with none published lists none; the CA is stored once under keys/ by its digest, beside the keys, which still list as keys", async () => {
  const store = new BlobManifestStore(blobService, { createContainer: true });
  expect(await store.publishedTrustAnchors()).toEqual([]);

  const signer = new TestEvidenceSigner();
  await store.publishKey(await signer.publicKey());
  const ca = await createCustodyCa({ subject: "CN=Custody test CA, O=Custody" });
  await store.publishTrustAnchor(ca.certificatePem);
  const anchorBlob = `keys/content-credentials-ca-${derSha256(ca.certificatePem).slice(0, 16)}.pem`;
  expect(await blobNames()).toEqual([anchorBlob, `keys/${encodeURIComponent(signer.keyId)}.json`].sort());
  const stored = (await blobService.getContainerClient(MANIFESTS_CONTAINER).getBlobClient(anchorBlob).downloadToBuffer()).toString("utf8");
  expect(derSha256(stored)).toBe(derSha256(ca.certificatePem));

  // The same certificate again — from this process, and from another with Windows line endings — is a no-op.
  await store.publishTrustAnchor(ca.certificatePem);
  await new BlobManifestStore(blobService).publishTrustAnchor(ca.certificatePem.replace(/\n/g, "\r\n"));
  const anchors = await store.publishedTrustAnchors();
  expect(anchors).toHaveLength(1);
  expect(derSha256(anchors[0])).toBe(derSha256(ca.certificatePem));
  // The keys' listing reads keys/*.json only: the CA beside them is no key.
  expect(await store.publishedKeys()).toEqual([await signer.publicKey()]);

  // A new CA with the same name (the force changed it): kept beside the first — images signed before still chain to the first.
  const next = await createCustodyCa({ subject: "CN=Custody test CA, O=Custody" });
  await store.publishTrustAnchor(next.certificatePem);
  expect((await store.publishedTrustAnchors()).map(derSha256).sort()).toEqual([derSha256(ca.certificatePem), derSha256(next.certificatePem)].sort());
});

test("text that is not exactly one certificate is refused (InvalidConfiguration), and nothing is stored", async () => {
  const store = new BlobManifestStore(blobService, { createContainer: true });
  const before = await blobNames();
  const a = await createCustodyCa();
  const b = await createCustodyCa();
  await expect(store.publishTrustAnchor("not a certificate")).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringMatching(/no PEM certificate/) as string });
  const broken = a.certificatePem.replace(/^(-----BEGIN CERTIFICATE-----\n)(.{8})/, "$1AAAAAAAA");
  await expect(store.publishTrustAnchor(broken)).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringMatching(/not a valid X\.509 certificate/) as string });
  await expect(store.publishTrustAnchor(`${a.certificatePem}${b.certificatePem}`)).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringMatching(/2 certificates/) as string });
  expect(await blobNames()).toEqual(before);
});
