/**
 * The Key Vault signer with the real @azure/keyvault-keys clients against a server answering
 * Key Vault's documented REST shapes (documented-key-vault-harness.ts): the challenge-based
 * authentication, the key read, the sign call (a SHA-256 digest, never the data), the version
 * list the JWKS is built from, and the errors a deployment can meet.
 */
import { createHash, createPublicKey, verify as verifySignature } from "node:crypto";
import type { KeyClientOptions } from "@azure/keyvault-keys";
import type { TokenCredential } from "@azure/identity";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openContentCredentials, openEvidenceSigner } from "../../shared/adapters/factories";
import { verifyContentCredentials } from "../../shared/media/content-credentials";
import { createCustodyCa, issueSignerCertificate } from "../../shared/media/content-credentials-chain";
import { makeJpeg } from "../disclosure/package-fixture";
import { TestEvidenceSigner } from "../support/test-signer";
import { KeyVaultSigner } from "../../shared/adapters/key-vault-signer";
import { loadSigningSettings } from "../../shared/settings";
import { buildJwks } from "../../shared/provenance/jwks";
import { buildEvidenceManifest } from "../../shared/provenance/manifest";
import { signEvidenceManifest, verifyEvidenceManifest } from "../../shared/provenance/manifest-signature";
import { LOG_HEAD, readyRecord } from "../provenance/ready-record";
import { startDocumentedKeyVault, type DocumentedKeyVault } from "./documented-key-vault-harness";

let vault: DocumentedKeyVault;
const scopes: string[][] = [];
const credential: TokenCredential = {
  getToken: (requested) => {
    scopes.push([requested].flat());
    return Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3_600_000 });
  },
};
let clientOptions: KeyClientOptions;

beforeAll(async () => {
  vault = await startDocumentedKeyVault();
  clientOptions = {
    // Tests only: the loopback vault's agent (its name resolves here, its certificate is trusted). No retries: errors surface at once.
    additionalPolicies: [{ position: "perCall", policy: { name: "loopback-vault", sendRequest: (request, next) => ((request.agent = vault.agent), next(request)) } }],
    retryOptions: { maxRetries: 0 },
  };
});
afterAll(() => vault.stop());
beforeEach(() => {
  vault.requests.length = 0;
  scopes.length = 0;
  vault.refuseSign(false);
});
afterEach(() => expect(vault.unexpected).toEqual([]));

test("a versionless id opens the current version: challenge first, then the key read with a vault token", async () => {
  vault.addVersion("manifest-signing", { created: new Date("2026-01-01T00:00:00Z") });
  const current = vault.addVersion("manifest-signing", { created: new Date("2026-06-01T00:00:00Z") });
  const signer = await KeyVaultSigner.open({ keyId: `${vault.vaultUrl}/keys/manifest-signing`, credential, clientOptions });

  expect(signer.keyId).toBe(current);
  const version = current.split("/").pop() ?? "";
  expect(await signer.publicKey()).toEqual({ ...vault.publicJwk("manifest-signing", version), kid: current, alg: "ES256", use: "sig" });
  // The SDK's challenge: unauthenticated first (401 with WWW-Authenticate), then with a token for Key Vault's resource.
  expect(vault.requests.map((r) => [r.method, r.path, r.authorized])).toEqual([
    ["GET", "/keys/manifest-signing/", false],
    ["GET", "/keys/manifest-signing/", true],
  ]);
  expect(scopes).toEqual([["https://vault.azure.net/.default"]]);
  expect(vault.requests[1]?.query.get("api-version")).toMatch(/^\d{4}-\d{2}-\d{2}$|^7\.\d$/);
});

test("sign sends the SHA-256 digest of the data (base64url, ES256) to the pinned version and returns r ‖ s that verifies", async () => {
  const keyId = vault.addVersion("digest-check");
  const signer = await KeyVaultSigner.open({ keyId, credential, clientOptions });
  vault.requests.length = 0;
  const data = Buffer.from("the bytes of a manifest, longer than any digest ".repeat(20));

  const signature = await signer.sign(data);

  // The crypto client has its own challenge: its first request goes without a token and without the body.
  const path = `/keys/digest-check/${keyId.split("/").pop() ?? ""}/sign`;
  expect(vault.requests.map((r) => [r.method, r.path, r.authorized, r.body])).toEqual([
    ["POST", path, false, undefined],
    ["POST", path, true, { alg: "ES256", value: createHash("sha256").update(data).digest("base64url") }],
  ]);
  // A second signature reuses the token: one request.
  vault.requests.length = 0;
  await signer.sign(data);
  expect(vault.requests.map((r) => [r.path, r.authorized])).toEqual([[path, true]]);
  expect(signature).toHaveLength(64);
  const publicKey = createPublicKey({ key: { ...(await signer.publicKey()) }, format: "jwk" });
  expect(verifySignature("sha256", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
});

test("a manifest signed in Key Vault verifies with the JWKS built from the key's versions", async () => {
  const name = "manifests";
  const retired = vault.addVersion(name, { created: new Date("2025-01-01T00:00:00Z"), exp: new Date("2026-01-01T00:00:00Z") });
  vault.addVersion(name, { created: new Date("2025-06-01T00:00:00Z"), enabled: false });
  vault.addVersion(name, { created: new Date("2025-09-01T00:00:00Z"), nbf: new Date("2025-09-02T00:00:00Z"), exp: new Date("2026-01-01T00:00:00Z") });
  const current = vault.addVersion(name, { created: new Date("2026-01-01T00:00:00Z") });
  const signer = await KeyVaultSigner.open({ keyId: `${vault.vaultUrl}/keys/${name}`, credential, clientOptions });
  const signed = await signEvidenceManifest(buildEvidenceManifest(readyRecord(), { custodyLog: LOG_HEAD, issuedAt: "2026-11-27T08:02:00.000Z", keyId: signer.keyId }), signer);
  vault.requests.length = 0;

  const jwks = buildJwks(await signer.publishedKeys());

  // Newest first; the disabled version is withdrawn; Key Vault's nbf (else created) and exp carried.
  expect(jwks.keys.map((k) => [k.kid, k.nbf, k.exp])).toEqual([
    [current, Date.parse("2026-01-01T00:00:00Z") / 1000, undefined],
    [expect.stringMatching(new RegExp(`/keys/${name}/`)) as unknown, Date.parse("2025-09-02T00:00:00Z") / 1000, Date.parse("2026-01-01T00:00:00Z") / 1000],
    [retired, Date.parse("2025-01-01T00:00:00Z") / 1000, Date.parse("2026-01-01T00:00:00Z") / 1000],
  ]);
  // The version list is paged (nextLink followed); each version other than the pinned one is read once.
  const listed = vault.requests.filter((r) => r.path === `/keys/${name}/versions`);
  expect(listed.length).toBe(2);
  expect(vault.requests.filter((r) => r.method === "GET" && r.path.startsWith(`/keys/${name}/`) && r.path !== `/keys/${name}/versions`)).toHaveLength(2);
  expect(verifyEvidenceManifest({ manifest: signed.manifestJson, signature: signed.signature, jws: signed.jws, keys: jwks })).toMatchObject({ valid: true, keyId: current });
  expect(signed.manifest.signer.kid).toBe(current);
});

test("what a deployment can get wrong is named: no such key, not an EC P-256 key, no sign operation, no sign permission, not a key id", async () => {
  await expect(KeyVaultSigner.open({ keyId: `${vault.vaultUrl}/keys/absent`, credential, clientOptions })).rejects.toMatchObject({
    code: "InvalidConfiguration",
    message: expect.stringMatching(/no such key/) as unknown,
  });
  const rsa = vault.addVersion("rsa-key", { kind: "RSA" });
  await expect(KeyVaultSigner.open({ keyId: rsa, credential, clientOptions })).rejects.toMatchObject({
    code: "InvalidConfiguration",
    message: expect.stringMatching(/not an EC P-256 key/) as unknown,
  });
  const verifyOnly = vault.addVersion("verify-only", { keyOps: ["verify"] });
  await expect(KeyVaultSigner.open({ keyId: verifyOnly, credential, clientOptions })).rejects.toMatchObject({
    code: "InvalidConfiguration",
    message: expect.stringMatching(/does not allow sign/) as unknown,
  });
  await expect(KeyVaultSigner.open({ keyId: "https://example.com/secrets", credential, clientOptions })).rejects.toMatchObject({ code: "InvalidConfiguration" });

  const signer = await KeyVaultSigner.open({ keyId: vault.addVersion("no-permission"), credential, clientOptions });
  vault.refuseSign(true);
  await expect(signer.sign(Buffer.from("x"))).rejects.toMatchObject({ code: "AccessDenied", retryable: true });
});

test("the factory picks Key Vault when CUSTODY_SIGNING_KEY_ID is set, even with a data folder", async () => {
  const keyId = vault.addVersion("factory");
  const settings = loadSigningSettings({ CUSTODY_SIGNING_KEY_ID: keyId }, { localKeyDirectory: "/nonexistent/signing-keys" });
  const signer = await openEvidenceSigner(settings, { credential, clientOptions });
  expect(signer).toBeInstanceOf(KeyVaultSigner);
  expect(signer.keyId).toBe(keyId);
});

test("Content Credentials with the Key Vault key: under the chain CUSTODY_CONTENT_CREDENTIALS_CHAIN names, none without it, refused at start when it does not certify the key or is out of order", async () => {
  const keyId = vault.addVersion("images");
  const signer = await openEvidenceSigner(loadSigningSettings({ CUSTODY_SIGNING_KEY_ID: keyId }), { credential, clientOptions });
  expect(await openContentCredentials(loadSigningSettings({ CUSTODY_SIGNING_KEY_ID: keyId }), signer)).toBeUndefined();

  // The force's CA issues the leaf for the vault key's public half; the setting is pasted on one line.
  const ca = await createCustodyCa({ subject: "CN=Force evidence CA, O=Force" });
  const leaf = await issueSignerCertificate(ca, await signer.publicKey());
  const chainSetting = (pems: string[]) => ({ CUSTODY_SIGNING_KEY_ID: keyId, CUSTODY_CONTENT_CREDENTIALS_CHAIN: pems.join("").replace(/\r?\n/g, "\\n") });
  const credentials = await openContentCredentials(loadSigningSettings(chainSetting([leaf, ca.certificatePem])), signer);
  expect(credentials?.keyId).toBe(keyId);
  const work = mkdtempSync(path.join(os.tmpdir(), "custody-kv-c2pa-"));
  try {
    const jpeg = await makeJpeg(work, "poster.jpg");
    vault.requests.length = 0;
    const original = { name: "borough-07/cam-1/a.mp4", sha256: "a".repeat(64), size: 1 };
    const signed = await credentials!.signJpeg(jpeg, { title: "poster.jpg", original, action: { kind: "poster", description: "poster", tool: { name: "ffmpeg", version: "test" }, runs: [] } });
    // Signed by the vault (the key never leaves it), verifiable with the force's CA — the anchor the credentials name.
    expect(vault.requests.filter((r) => r.method === "POST" && r.authorized && r.path.endsWith("/sign"))).toHaveLength(1);
    for (const anchors of [[ca.certificatePem], [...credentials!.trustAnchorPems]]) {
      const verification = await verifyContentCredentials(signed, { trustAnchorPems: anchors, expectedOriginalSha256: original.sha256 });
      expect(verification.failures).toEqual([]);
      expect(verification.valid).toBe(true);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const otherLeaf = await issueSignerCertificate(ca, await new TestEvidenceSigner().publicKey());
  for (const [pems, message] of [
    [[otherLeaf, ca.certificatePem], /does not certify the evidence signing key/],
    [[ca.certificatePem, leaf], /certificate 1 \(CN=Force evidence CA, O=Force\) is not issued by certificate 2/],
    [[leaf], /holds 1 certificate, not a signing certificate and at least one CA/],
    [[leaf, (await createCustodyCa()).certificatePem], /is not issued by certificate 2/],
  ] as const) {
    await expect(openContentCredentials(loadSigningSettings(chainSetting([...pems])), signer)).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringMatching(message) });
  }
}, 30_000);
