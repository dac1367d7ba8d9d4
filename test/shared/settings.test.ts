/**
 * Settings: Functions-style connection names, connection strings locally, managed identity in
 * Azure, and failures that name the setting (never its value).
 */
import { isCustodyError } from "../../shared/errors";
import { loadSettings, type Environment } from "../../shared/settings";

const local: Environment = {
  ServiceBusConnection: "Endpoint=sb://localhost:5672;SharedAccessKeyName=k;SharedAccessKey=secret-sb;UseDevelopmentEmulator=true;",
  EvidenceStorage: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
  EvidenceIndex: "AccountEndpoint=https://localhost:8081/;AccountKey=secret-cosmos;",
  EvidenceIndex__allowSelfSignedCertificate: "true",
};

const azure: Environment = {
  ServiceBusConnection__fullyQualifiedNamespace: "custody-prod.servicebus.windows.net",
  ServiceBusConnection__credential: "managedidentity",
  ServiceBusConnection__clientId: "0b3c5a5e-1111-4222-8333-944445555666",
  EvidenceStorage__blobServiceUri: "https://custodyprod.blob.core.windows.net",
  EvidenceIndex__accountEndpoint: "https://custody-prod.documents.azure.com:443/",
  CUSTODY_REQUIRED_STAGES: "hash,transcode,thumbnail",
};

function failure(env: Environment): string {
  try {
    loadSettings(env);
  } catch (error) {
    expect(isCustodyError(error) && error.code === "InvalidConfiguration").toBe(true);
    return (error as Error).message;
  }
  throw new Error("loadSettings accepted an invalid environment");
}

test("local connection strings", () => {
  const settings = loadSettings(local);
  expect(settings.serviceBus.kind).toBe("connectionString");
  expect(settings.cosmos?.allowSelfSignedCertificate).toBe(true);
  expect(settings.requiredStages).toEqual(["hash", "transcode", "thumbnail"]);
  expect(settings.acceptedContainers).toEqual(["originals"]);
});

test("Azure: endpoints with a user-assigned managed identity", () => {
  const settings = loadSettings(azure);
  expect(settings.serviceBus).toEqual({ kind: "identity", endpoint: "custody-prod.servicebus.windows.net", clientId: "0b3c5a5e-1111-4222-8333-944445555666" });
  expect(settings.storage).toEqual({ kind: "identity", endpoint: "https://custodyprod.blob.core.windows.net", clientId: undefined });
  expect(settings.requiredStages).toEqual(["hash", "transcode", "thumbnail"]);
});

test("without the evidence index (the media app): EvidenceIndex is neither required nor read", () => {
  const { EvidenceIndex: _index, EvidenceIndex__allowSelfSignedCertificate: _tls, ...media } = local;
  expect(() => loadSettings(media)).toThrow(/EvidenceIndex/);
  const read = new Set<string>();
  const recording = new Proxy(media, {
    get(target, key) {
      if (typeof key === "string") read.add(key);
      return target[key as string];
    },
  });
  const settings = loadSettings(recording, { evidenceIndex: false });
  expect(settings.cosmos).toBeUndefined();
  expect(settings.storage.kind).toBe("connectionString");
  expect([...read].filter((key) => key.startsWith("EvidenceIndex") || key.startsWith("CUSTODY_COSMOS"))).toEqual([]);
});

test.each([
  ["a missing connection", { ...local, ServiceBusConnection: undefined }, "ServiceBusConnection"],
  ["both forms at once", { ...local, EvidenceStorage__blobServiceUri: "https://x.blob.core.windows.net" }, "EvidenceStorage"],
  ["a malformed connection string", { ...local, EvidenceIndex: "https://localhost:8081" }, "EvidenceIndex"],
  ["a bad client id", { ...azure, ServiceBusConnection__clientId: "not-a-guid" }, "ServiceBusConnection__clientId"],
  ["an unknown credential kind", { ...azure, ServiceBusConnection__credential: "password" }, "ServiceBusConnection__credential"],
  ["an unknown stage", { ...local, CUSTODY_REQUIRED_STAGES: "hash,teleport" }, "CUSTODY_REQUIRED_STAGES"],
  ["stages without hash", { ...local, CUSTODY_REQUIRED_STAGES: "transcode" }, "CUSTODY_REQUIRED_STAGES"],
  ["self-signed TLS for a remote Cosmos", { ...azure, EvidenceIndex__allowSelfSignedCertificate: "true" }, "EvidenceIndex__allowSelfSignedCertificate"],
])("%s fails at start naming the setting, never echoing secrets", (_label, env, setting) => {
  const message = failure(env);
  expect(message).toContain(setting);
  expect(message).not.toMatch(/secret|c2VjcmV0/);
});

test("media settings: proxy side, thumbnail count, stall window and segment length, defaults 1280, 8, 60 s and 60 s, bounded and named when wrong", () => {
  expect(loadSettings(local).media).toEqual({ proxyMaxSide: 1280, thumbnailCount: 8, stallTimeoutInMs: 60_000, segmentSeconds: 60 });
  expect(loadSettings({ ...local, CUSTODY_PROXY_MAX_SIDE: "720", CUSTODY_THUMBNAIL_COUNT: "12", CUSTODY_MEDIA_STALL_TIMEOUT_MS: "120000", CUSTODY_SEGMENT_SECONDS: "30" }).media).toEqual({
    proxyMaxSide: 720,
    thumbnailCount: 12,
    stallTimeoutInMs: 120_000,
    segmentSeconds: 30,
  });
  expect(failure({ ...local, CUSTODY_SEGMENT_SECONDS: "5" })).toMatch(/CUSTODY_SEGMENT_SECONDS must be from 10 to 1800/);
  expect(failure({ ...local, CUSTODY_SEGMENT_SECONDS: "1.5" })).toMatch(/CUSTODY_SEGMENT_SECONDS must be a whole number/);
  expect(failure({ ...local, CUSTODY_PROXY_MAX_SIDE: "721" })).toMatch(/CUSTODY_PROXY_MAX_SIDE must be even/);
  expect(failure({ ...local, CUSTODY_PROXY_MAX_SIDE: "big" })).toMatch(/CUSTODY_PROXY_MAX_SIDE must be a whole number/);
  expect(failure({ ...local, CUSTODY_THUMBNAIL_COUNT: "0" })).toMatch(/CUSTODY_THUMBNAIL_COUNT must be from 1 to 99/);
  expect(failure({ ...local, CUSTODY_THUMBNAIL_COUNT: "100" })).toMatch(/CUSTODY_THUMBNAIL_COUNT/);
  expect(failure({ ...local, CUSTODY_MEDIA_STALL_TIMEOUT_MS: "1000" })).toMatch(/CUSTODY_MEDIA_STALL_TIMEOUT_MS must be from 5000 to 3600000/);
});

test("the events' CloudEvents source: /custody unless CUSTODY_EVENT_SOURCE names the deployment; a malformed one is refused", () => {
  expect(loadSettings(local).eventSource).toBe("/custody");
  expect(loadSettings({ ...local, CUSTODY_EVENT_SOURCE: "/custody/metpolice-prod" }).eventSource).toBe("/custody/metpolice-prod");
  expect(loadSettings({ ...local, CUSTODY_EVENT_SOURCE: "urn:custody:metpolice-prod" }).eventSource).toBe("urn:custody:metpolice-prod");
  for (const bad of ["custody prod", "no-scheme-or-slash", "/custody?x=1", "/custody/é"]) {
    expect(failure({ ...local, CUSTODY_EVENT_SOURCE: bad })).toMatch(/CUSTODY_EVENT_SOURCE must be a URI-reference/);
  }
});

test("the disposal timer is off unless CUSTODY_DISPOSAL_ENABLED is true; anything but true/false fails the start, naming it", () => {
  expect(loadSettings(local).disposal).toEqual({ enabled: false, maxPerRun: 500, localIntervalInMs: 0 });
  expect(loadSettings({ ...local, CUSTODY_DISPOSAL_ENABLED: "TRUE", CUSTODY_DISPOSAL_MAX: "20" }).disposal).toMatchObject({ enabled: true, maxPerRun: 20 });
  expect(loadSettings({ ...local, CUSTODY_DISPOSAL_ENABLED: "false" }).disposal.enabled).toBe(false);
  expect(() => loadSettings({ ...local, CUSTODY_DISPOSAL_ENABLED: "yes" })).toThrow(/CUSTODY_DISPOSAL_ENABLED must be true or false, not "yes"/);
});
