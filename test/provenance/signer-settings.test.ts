/** Which signer a deployment gets: Key Vault when CUSTODY_SIGNING_KEY_ID names a key, else the local key in the data folder. */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { openEvidenceSigner } from "../../shared/adapters/factories";
import { LocalKeySigner, localSigningKeyDirectory } from "../../shared/adapters/local-key-signer";
import { loadSigningSettings } from "../../shared/settings";

const KEY = "https://kv-custody-abc.vault.azure.net/keys/custody-manifest-signing";

test("a Key Vault key id selects Key Vault, signing as the app's identity", () => {
  expect(loadSigningSettings({ CUSTODY_SIGNING_KEY_ID: KEY, EvidenceStorage__clientId: "0000-id" }, { localKeyDirectory: "/data/signing-keys" })).toEqual({
    kind: "keyVault",
    keyId: KEY,
    clientId: "0000-id",
  });
  expect(loadSigningSettings({ CUSTODY_SIGNING_KEY_ID: `${KEY}/0123456789abcdef0123456789abcdef` })).toEqual({ kind: "keyVault", keyId: `${KEY}/0123456789abcdef0123456789abcdef` });
});

test("a setting that is not a Key Vault key id fails the start, naming the setting", () => {
  for (const bad of [
    "kv-custody-abc",
    "http://kv.vault.azure.net/keys/k",
    "https://kv.vault.azure.net/secrets/k",
    "https://kv.vault.azure.net/keys/k?x=1",
    "https://kv.vault.azure.net/keys/k/v/extra",
  ]) {
    expect(() => loadSigningSettings({ CUSTODY_SIGNING_KEY_ID: bad }, { localKeyDirectory: "/d" })).toThrow(
      expect.objectContaining({ code: "InvalidConfiguration", message: expect.stringContaining("CUSTODY_SIGNING_KEY_ID") as unknown }),
    );
  }
});

test("without a key id: the local key in the data folder; without a data folder either: a start failure that says what to set", () => {
  expect(loadSigningSettings({ CUSTODY_SIGNING_KEY_ID: " " }, { localKeyDirectory: localSigningKeyDirectory("/data") })).toEqual({ kind: "localKey", directory: path.join("/data", "signing-keys") });
  // The stack's folder for every process of it (dev host, CLI), over the caller's default.
  expect(loadSigningSettings({ CUSTODY_SIGNING_KEY_DIR: "/stack/signing-keys" }, { localKeyDirectory: "/elsewhere" })).toEqual({ kind: "localKey", directory: "/stack/signing-keys" });
  expect(() => loadSigningSettings({})).toThrow(expect.objectContaining({ code: "InvalidConfiguration", message: expect.stringContaining("CUSTODY_SIGNING_KEY_ID") as unknown }));
});

test("the factory opens the local key in the data folder (generated once)", async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "custody-factory-"));
  try {
    const settings = loadSigningSettings({}, { localKeyDirectory: localSigningKeyDirectory(dataDir) });
    const signer = await openEvidenceSigner(settings);
    expect(signer).toBeInstanceOf(LocalKeySigner);
    expect((await openEvidenceSigner(settings)).keyId).toBe(signer.keyId);
    expect(await readdir(path.join(dataDir, "signing-keys"))).toEqual(expect.arrayContaining(["keyring.json", `${signer.keyId}.key.pem`]));
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
