/**
 * The functions' composition root: a failure to build the services (e.g. Cosmos DB unreachable
 * at the first invocation) must not be remembered — the next invocation tries again, instead of
 * every later message failing until the process restarts.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { getServices, signsImages, useServices } from "../../functions/services";
import { LOCAL_COSMOS_KEY, startLocalCosmos, type CosmosInstance } from "../../local/cosmos";

const saved = { ...process.env };
let cosmos: CosmosInstance | undefined;

afterEach(async () => {
  const current = await getServicesIfAny();
  await current?.close();
  useServices(undefined);
  await cosmos?.stop();
  process.env = { ...saved };
});

async function getServicesIfAny() {
  try {
    return await getServices();
  } catch {
    return undefined;
  }
}

test("a failed start is retried by the next invocation, not cached", async () => {
  useServices(undefined);
  Object.assign(process.env, {
    // Service Bus and Blob clients connect lazily: only Cosmos DB is reached while building the services.
    ServiceBusConnection: "Endpoint=sb://localhost:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true",
    EvidenceStorage: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${LOCAL_COSMOS_KEY};BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;`,
    EvidenceIndex: `AccountEndpoint=https://localhost:1/;AccountKey=${LOCAL_COSMOS_KEY};`,
    EvidenceIndex__allowSelfSignedCertificate: "true",
  });
  await expect(getServices()).rejects.toMatchObject({ code: "Transient" });

  cosmos = await startLocalCosmos();
  process.env.EvidenceIndex = cosmos.connectionString;
  const services = await getServices();
  expect(services.settings.cosmos?.databaseName).toBe("custody");
});

test("the media app (CUSTODY_APP_ROLE=media) starts without any evidence index setting, and its index refuses every call", async () => {
  useServices(undefined);
  for (const key of Object.keys(process.env)) if (key.startsWith("EvidenceIndex") || key.startsWith("CUSTODY_COSMOS")) delete process.env[key];
  Object.assign(process.env, {
    CUSTODY_APP_ROLE: "media",
    ServiceBusConnection: "Endpoint=sb://localhost:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true",
    EvidenceStorage: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${LOCAL_COSMOS_KEY};BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;`,
  });
  const services = await getServices();
  expect(services.settings.cosmos).toBeUndefined();
  await expect(services.index.read("ev-1")).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringContaining("CUSTODY_APP_ROLE=media") });

  // The same environment as the core app (or both roles) is refused at start, naming the setting.
  useServices(undefined);
  process.env.CUSTODY_APP_ROLE = "core";
  await expect(getServices()).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringContaining("EvidenceIndex") });
  useServices(undefined);
  process.env.CUSTODY_APP_ROLE = "thumbnails";
  await expect(getServices()).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringContaining("CUSTODY_APP_ROLE") });
});

test("the core app with a local signing key signs images under the local chain made in the key's folder; the media app never holds the signer", async () => {
  useServices(undefined);
  cosmos = await startLocalCosmos();
  const keys = mkdtempSync(path.join(os.tmpdir(), "custody-services-keys-"));
  try {
    Object.assign(process.env, {
      CUSTODY_APP_ROLE: "core",
      ServiceBusConnection: "Endpoint=sb://localhost:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true",
      EvidenceStorage: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${LOCAL_COSMOS_KEY};BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;`,
      EvidenceIndex: cosmos.connectionString,
      EvidenceIndex__allowSelfSignedCertificate: "true",
      CUSTODY_SIGNING_KEY_DIR: keys,
    });
    const core = await getServices();
    expect(signsImages(core)).toBe(true);
    expect(core.contentCredentials?.keyId).toBe(core.signer?.keyId);
    expect(core.contentCredentials?.trustAnchorPems).toEqual([readFileSync(path.join(keys, "content-credentials", "custody-ca.pem"), "utf8")]);
    await core.close();

    useServices(undefined);
    for (const key of Object.keys(process.env)) if (key.startsWith("EvidenceIndex")) delete process.env[key];
    process.env.CUSTODY_APP_ROLE = "media";
    const media = await getServices();
    expect(media.signer).toBeUndefined();
    expect(signsImages(media)).toBe(false);
  } finally {
    rmSync(keys, { recursive: true, force: true });
  }
}, 30_000);
