/**
 * Static checks of the Azure deployment (bicep/, azure.yaml) against the code — no Bicep
 * compiler or Azure access needed. Each rule runs on the real files and on a copy mutated in
 * memory, to show the check catches the mistake it exists for.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fixitySchedule } from "../../functions/fixity-sample";
import { appRoles, rolesNeedEvidenceIndex } from "../../functions/app-roles";
import { definitionsForRoles, FUNCTION_DEFINITIONS, TIMER_DEFINITIONS, type AppFunctionDefinition } from "../../functions/definitions";
import { EVIDENCE_INDEXING_POLICY, DEFAULT_EVIDENCE_CONTAINER_NAMES } from "../../shared/adapters/cosmos-evidence-index";
import { BLOB_CREATED_COMMITTED_APIS, BLOB_CREATED_EVENT_SCHEMA, BLOB_CREATED_EVENT_TYPE } from "../../shared/contracts/blob-created-event";
import { DERIVED_CONTAINER } from "../../shared/ports/blob-store";
import { loadSettings, type ConnectionAuth } from "../../shared/settings";
import { DEFAULT_ACCEPTED_CONTAINERS } from "../../shared/stages/ingest-stage";
import { resetTelemetryForTests, startTelemetry } from "../../shared/adapters/azure-monitor";
import { ENTITIES, entityPath } from "../../shared/topology";
import { AUDIT_CONTAINER } from "../../shared/adapters/blob-audit-log";
import { DEFAULT_SEGMENT_SECONDS } from "../../shared/media/segment-plan";
import { allDeclarations, literal, mutate, propertyPath, readDeploymentFiles, REPO_ROOT, type Files } from "./bicep";
import {
  APP_IDENTITIES,
  appSettings,
  checkAppIdentities,
  checkAppSettings,
  checkAzureYaml,
  checkCloudNeutralEndpoints,
  checkCosmosRoles,
  checkCosmosSerialized,
  checkDefaultRuleNeutralised,
  checkEventGrid,
  checkFunctionApp,
  checkLocalAuthDisabled,
  checkMediaIdentity,
  checkMediaSizing,
  checkNoLoopVariablesInLambdas,
  checkNoSecrets,
  checkAuditImmutable,
  checkLedgerImmutable,
  checkOriginalsImmutable,
  checkRoleAssignments,
  checkRoleDefinitions,
  checkServiceBusAccessMatchesCode,
  checkServiceBusAccessWiring,
  checkStorageAndIndexAccessMatchesCode,
  checkTopologyCreated,
  codeSources,
  settingNamesInCode,
  type AppIdentity,
  type SettingsProbe,
  type TriggersByIdentity,
} from "./checks";

const files: Files = readDeploymentFiles();
const topologyText = readFileSync(path.join(REPO_ROOT, "topology", "servicebus.json"), "utf8");
const contract = { eventType: BLOB_CREATED_EVENT_TYPE, committedApis: BLOB_CREATED_COMMITTED_APIS, specVersion: BLOB_CREATED_EVENT_SCHEMA.properties.specversion.const };

/** Runs the code's own settings readers on `env`, as the app of `role` does, and records every key they look at. */
const probe: SettingsProbe = {
  read(env, role) {
    const read = new Set<string>();
    const recording = new Proxy(env, {
      get(target, key) {
        if (typeof key === "string") read.add(key);
        return target[key as string];
      },
    });
    const roles = appRoles(recording);
    if (roles.length !== 1 || roles[0] !== role) throw new Error(`CUSTODY_APP_ROLE makes this app run ${roles.join(" and ")}, not ${role} alone`);
    const settings = loadSettings(recording, { evidenceIndex: rolesNeedEvidenceIndex(roles) });
    const connections: Record<string, ConnectionAuth | undefined> = { serviceBus: settings.serviceBus, storage: settings.storage };
    if (role === "core") connections.cosmos = settings.cosmos?.auth;
    for (const [name, auth] of Object.entries(connections)) {
      if (auth?.kind !== "identity" || !auth.clientId) throw new Error(`${name} would not use the app's managed identity`);
    }
    if (definitionsForRoles(roles).timers.includes(TIMER_DEFINITIONS.find((t) => t.name === "fixity-sample")!)) fixitySchedule(recording);
    resetTelemetryForTests();
    try {
      const state = startTelemetry(recording, { useAzureMonitor: () => undefined, createCredential: () => ({ getToken: async () => null }) });
      if (!state.enabled || !state.clientId) throw new Error("telemetry would not start with the app identity");
    } finally {
      resetTelemetryForTests();
    }
    return read;
  },
};

type Definitions = readonly AppFunctionDefinition[];

/** The entities an app's functions are triggered by, `queue blob-created` / `subscription evidence-received/hash`. */
function triggerEntities(definitions: Definitions, identity: AppIdentity): Set<string> {
  return new Set(
    definitions.filter((d) => d.role === identity).map((d) => (d.entity.kind === "queue" ? `queue ${d.entity.queueName}` : `subscription ${entityPath(d.entity).replace("/Subscriptions/", "/")}`)),
  );
}

function triggersByIdentity(definitions: Definitions = FUNCTION_DEFINITIONS): TriggersByIdentity {
  return { core: triggerEntities(definitions, "core"), media: triggerEntities(definitions, "media") };
}

const triggeredEntities = triggersByIdentity();

/**
 * The app each function file belongs to: the roles of the definitions it declares (`name: "…"`,
 * functions/definitions.ts). A file that uses Service Bus entities or the services without
 * declaring a function cannot be attributed, and fails the test rather than slip past it.
 */
function fileRoles(file: string, text: string, definitions: Definitions = FUNCTION_DEFINITIONS): Set<AppIdentity> {
  // The composition root builds the services for whichever app loads it; what each app uses
  // of them is read from its function files.
  if (file === "functions/services.ts") return new Set();
  const all = [...definitions, ...TIMER_DEFINITIONS];
  const declared = [...text.matchAll(/^\s*name:\s*"([a-z-]+)",$/gm)].map((m) => m[1]);
  const roles = new Set(all.filter((d) => declared.includes(d.name)).map((d) => d.role));
  if (roles.size === 0 && /ENTITIES\.|await getServices\(\)/.test(text) && declared.length === 0)
    throw new Error(`${file} uses Service Bus entities or the services but declares no function: which app does it run in?`);
  return roles;
}

/**
 * What each app's functions do on Service Bus, from the code: each definition receives from its
 * trigger entity, whose message count the Functions host's scale monitor reads (the Manage
 * claim: target-based scaling on Flex Consumption); every other ENTITIES.<x> a function file
 * names is a destination it sends to — attributed to the app that runs the file's functions.
 */
function serviceBusUsesFromCode(sources: Map<string, string>, definitions: Definitions = FUNCTION_DEFINITIONS): Record<AppIdentity, Set<string>> {
  const uses: Record<AppIdentity, Set<string>> = { core: new Set(), media: new Set() };
  const describe = (key: string): string => {
    const value = (ENTITIES as Record<string, unknown>)[key];
    if (typeof value === "string") return `topic ${value}`;
    const entity = value as { kind: string; queueName?: string; topicName?: string; subscriptionName?: string };
    return entity.kind === "queue" ? `queue ${entity.queueName}` : `subscription ${entity.topicName}/${entity.subscriptionName}`;
  };
  for (const identity of APP_IDENTITIES) {
    for (const entity of triggerEntities(definitions, identity)) {
      uses[identity].add(`receive ${entity}`);
      uses[identity].add(`read-counts ${entity}`);
    }
  }
  for (const [file, text] of sources) {
    if (!file.startsWith("functions/")) continue;
    const roles = fileRoles(file, text, definitions);
    const triggers = new Set([...text.matchAll(/entity:\s*ENTITIES\.([A-Za-z]+)/g)].map((m) => m[1]));
    for (const match of text.matchAll(/ENTITIES\.([A-Za-z]+)/g)) {
      if (!triggers.has(match[1])) for (const role of roles) uses[role].add(`send ${describe(match[1])}`);
    }
  }
  return uses;
}

/** The services each app's function files take from the composition root (`const { blobs, index, … } = await getServices()`). */
function servicesUsedFromCode(sources: Map<string, string>): Record<AppIdentity, Set<string>> {
  const used: Record<AppIdentity, Set<string>> = { core: new Set(), media: new Set() };
  for (const [file, text] of sources) {
    if (!file.startsWith("functions/")) continue;
    const roles = fileRoles(file, text);
    for (const match of text.matchAll(/const\s*\{([^}]*)\}\s*=\s*await getServices\(\)/g)) {
      for (const name of match[1]
        .split(",")
        .map((n) => n.trim().split(":")[0].trim())
        .filter(Boolean))
        for (const role of roles) used[role].add(name);
    }
  }
  return used;
}

const sources = codeSources();

describe("the real templates", () => {
  test("azure.yaml: services custody and custody-media (function, ts) from app/, infrastructure in bicep/", () => {
    expect(checkAzureYaml(files)).toEqual([]);
  });

  test("no keys, shared-key SAS, list*() calls or connection strings with keys, in templates, parameters or outputs", () => {
    expect(checkNoSecrets(files)).toEqual([]);
  });

  test("shared-key / local auth is off on every storage account, Service Bus namespace, Cosmos account, Application Insights and Log Analytics workspace", () => {
    expect(checkLocalAuthDisabled(files)).toEqual([]);
  });

  test("no public-cloud host in the templates: the Service Bus namespace host comes from its serviceBusEndpoint", () => {
    expect(checkCloudNeutralEndpoints(files)).toEqual([]);
  });

  test("no lambda inside a resource or module loop reads the loop variable", () => {
    expect(checkNoLoopVariablesInLambdas(files)).toEqual([]);
  });

  test("each subscription's $Default rule is declared matching nothing; its own rules come from the topology file", () => {
    expect(checkDefaultRuleNeutralised(files, topologyText)).toEqual([]);
  });

  test("originals: version-level immutability with a default retention policy from a parameter", () => {
    expect(checkOriginalsImmutable(files)).toEqual([]);
    expect(checkLedgerImmutable(files)).toEqual([]);
    expect(checkAuditImmutable(files)).toEqual([]);
  });

  test("Event Grid: BlobCreated on originals, CloudEvents 1.0, to blob-created with the topic identity, dead-letter and retry", () => {
    expect(checkEventGrid(files, contract)).toEqual([]);
  });

  test("every queue, topic, subscription and rule is created from topology/servicebus.json", () => {
    expect(checkTopologyCreated(files, topologyText)).toEqual([]);
  });

  test("roles: only known built-in roles, each assignment scoped to the one resource it is for", () => {
    expect(checkRoleDefinitions(files)).toEqual([]);
    expect(checkRoleAssignments(files, triggeredEntities)).toEqual([]);
    expect(checkCosmosRoles(files)).toEqual([]);
  });

  test("Cosmos DB: the container and the data-plane role assignments are created one after another", () => {
    expect(checkCosmosSerialized(files)).toEqual([]);
  });

  test("Service Bus roles: per app, exactly the receives and sends its functions do, at entity scope", () => {
    const uses = serviceBusUsesFromCode(sources);
    // The derivation itself: ingest receives blob-created and sends to evidence-received; the media stages send to media-results.
    expect(uses.core).toContain("receive queue blob-created");
    expect(uses.core).toContain("send topic evidence-received");
    expect(uses.core).toContain("send queue stage-results");
    expect(uses.media).toContain("read-counts subscription evidence-received/transcode");
    expect([...uses.media].filter((u) => u.startsWith("send ")).sort()).toEqual(["send queue media-results"]);
    expect([...triggeredEntities.core].sort()).toEqual([
      "queue blob-created",
      "queue content-credentials",
      "queue media-results",
      "queue retention-commands",
      "queue retention-releases",
      "queue stage-results",
      "subscription evidence-received/hash",
      "subscription evidence-received/index",
    ]);
    expect([...triggeredEntities.media].sort()).toEqual(["queue transcode-join", "queue transcode-segments", "subscription evidence-received/thumbnail", "subscription evidence-received/transcode"]);
    expect(checkServiceBusAccessMatchesCode(files, uses)).toEqual([]);
    expect(checkServiceBusAccessWiring(files)).toEqual([]);
  });

  test("each app's identity has exactly the storage and index access its functions use", () => {
    const used = servicesUsedFromCode(sources);
    // The derivation itself: the index is core's, ffmpeg is media's.
    expect(used.core).toContain("index");
    expect(used.media).toContain("media");
    expect(used.media).not.toContain("index");
    expect(checkStorageAndIndexAccessMatchesCode(files, used)).toEqual([]);
  });

  test("the media identity (the code that parses hostile video): no Cosmos DB role, no Send but media-results", () => {
    expect(checkMediaIdentity(files, triggeredEntities.media)).toEqual([]);
  });

  test("each app runs as its own identity with its own host storage; only the core identity reaches the index", () => {
    expect(checkAppIdentities(files)).toEqual([]);
  });

  test("app settings: per app, every setting the code reads is set, identity-based, and accepted by the code's own loader in that role", () => {
    for (const service of ["custody", "custody-media"]) expect(checkAppSettings(files, probe, settingNamesInCode(sources, []), service)).toEqual([]);
    expect(appSettings(files).map((s) => s.name)).toEqual(
      expect.arrayContaining(["ServiceBusConnection__fullyQualifiedNamespace", "EvidenceStorage__blobServiceUri", "EvidenceIndex__accountEndpoint", "CUSTODY_APP_ROLE"]),
    );
    const media = appSettings(files, "custody-media").map((s) => s.name);
    expect(media).toEqual(expect.arrayContaining(["ServiceBusConnection__fullyQualifiedNamespace", "EvidenceStorage__blobServiceUri", "CUSTODY_APP_ROLE"]));
    expect(media.filter((name) => name.startsWith("EvidenceIndex"))).toEqual([]);
  });

  test("every function is registered in exactly one app, and every app's role is run by exactly one site", () => {
    const byApp = APP_IDENTITIES.map((identity) => definitionsForRoles([identity]));
    const registered = byApp.flatMap(({ functions, timers }) => [...functions, ...timers].map((d) => d.name));
    expect(registered.sort()).toEqual([...FUNCTION_DEFINITIONS, ...TIMER_DEFINITIONS].map((d) => d.name).sort());
    const roles = ["custody", "custody-media"].map((service) => literal(appSettings(files, service).find((s) => s.name === "CUSTODY_APP_ROLE")?.expression));
    expect(roles).toEqual(["core", "media"]);
  });

  test("function apps: Flex Consumption, one plan each, Node, parameters for memory and scale, user-assigned identity", () => {
    expect(checkFunctionApp(files)).toEqual([]);
  });

  test("the media app is sized for segment runs: its own 4096 MB / 100-instance parameters, one message per instance, the segment length", () => {
    expect(checkMediaSizing(files, DEFAULT_SEGMENT_SECONDS)).toEqual([]);
  });

  test("containers and Cosmos names, partition key and indexing policy are the ones the code uses", () => {
    const storage = files.get("bicep/modules/evidence-storage.bicep")!;
    const containerNames = allDeclarations(files)
      .filter((d) => d.file === "bicep/modules/evidence-storage.bicep" && d.type === "Microsoft.Storage/storageAccounts/blobServices/containers")
      .map((d) => {
        const name = propertyPath(d.body, "name")!;
        return literal(name) ?? literal(new RegExp(`var ${name} = (.+)`).exec(storage)?.[1]);
      });
    expect(containerNames).toEqual(expect.arrayContaining([...DEFAULT_ACCEPTED_CONTAINERS, DERIVED_CONTAINER, AUDIT_CONTAINER]));

    const cosmos = files.get("bicep/modules/cosmos.bicep")!;
    expect(cosmos).toContain(`var databaseName = '${DEFAULT_EVIDENCE_CONTAINER_NAMES.databaseName}'`);
    expect(cosmos).toContain(`var containerName = '${DEFAULT_EVIDENCE_CONTAINER_NAMES.containerName}'`);
    expect(cosmos).toMatch(/partitionKey: \{ paths: \['\/id'\]/);
    expect(readFileSync(path.join(REPO_ROOT, "shared/adapters/cosmos-evidence-index.ts"), "utf8")).toContain('partitionKey: { paths: ["/id"] }');
    expect(cosmos).toContain("indexingPolicy: loadJsonContent('../cosmos-indexing-policy.json')");
    expect(JSON.parse(files.get("bicep/cosmos-indexing-policy.json")!)).toEqual(EVIDENCE_INDEXING_POLICY);
  });
});

describe("each check catches the mistake it is for (templates mutated in memory)", () => {
  const storage = "bicep/modules/evidence-storage.bicep";
  const hostStorage = "bicep/modules/host-storage.bicep";
  const serviceBus = "bicep/modules/servicebus.bicep";
  const eventGrid = "bicep/modules/eventgrid.bicep";
  const functions = "bicep/modules/functions.bicep";

  test.each([
    ["the media service missing", / {2}custody-media:\n( {4}[^\n]*\n)+/, ""],
    ["the media service from another folder", /(custody-media:\n {4}project:) \./, "$1 ./media"],
    ["a service no app is tagged with", "  custody-media:", "  custody-transcoder:"],
    ["infra path", "path: bicep", "path: infra"],
    ["host", "host: function", "host: appservice"],
    ["language", "language: ts", "language: python"],
    ["broken YAML", "services:", "services: ["],
  ])("azure.yaml: %s", (_what, search, replacement) => {
    expect(checkAzureYaml(mutate(files, "azure.yaml", search, replacement))).not.toEqual([]);
  });

  test("main.parameters.json must map the azd variables", () => {
    expect(checkAzureYaml(mutate(files, "bicep/main.parameters.json", "${AZURE_LOCATION}", "${AZURE_REGION}"))).not.toEqual([]);
  });

  test.each([
    ["listKeys", storage, "output accountName string = account.name", "output accountName string = account.listKeys().keys[0].value"],
    ["connection string output", storage, "output accountName string = account.name", "output connectionString string = 'DefaultEndpointsProtocol=https;AccountName=${account.name}'"],
    ["SAS", functions, "CUSTODY_THUMBNAIL_COUNT: '8'", "CUSTODY_THUMBNAIL_COUNT: '8'\n    Sas: '?sv=2022&sig=abc'"],
    ["secure parameter", functions, "param nodeVersion string", "@secure()\nparam nodeVersion string"],
    [
      "SAS authorization rule",
      serviceBus,
      "output namespaceName",
      "resource rule 'Microsoft.ServiceBus/namespaces/authorizationRules@2024-01-01' = {\n  parent: namespace\n  name: 'send'\n}\n\noutput namespaceName",
    ],
    ["Cosmos key in a setting", functions, "CUSTODY_THUMBNAIL_COUNT: '8'", "CUSTODY_THUMBNAIL_COUNT: '8'\n    Key: cosmos.listKeys().primaryMasterKey"],
  ])("secrets: %s", (_what, file, search, replacement) => {
    expect(checkNoSecrets(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test("parameters file: a literal value instead of an azd variable", () => {
    expect(checkNoSecrets(mutate(files, "bicep/main.parameters.json", '"${AZURE_LOCATION}"', '"uksouth"'))).not.toEqual([]);
  });

  test.each([
    ["shared key on evidence storage", storage, "allowSharedKeyAccess: false", "allowSharedKeyAccess: true"],
    ["shared key unset on host storage", hostStorage, "    allowSharedKeyAccess: false\n", ""],
    ["public blob access", storage, "allowBlobPublicAccess: false", "allowBlobPublicAccess: true"],
    ["TLS 1.0", hostStorage, "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'"],
    ["Service Bus SAS", serviceBus, "disableLocalAuth: true", "disableLocalAuth: false"],
    ["Cosmos keys", "bicep/modules/cosmos.bicep", "disableLocalAuth: true", "disableLocalAuth: false"],
    ["Application Insights keys", "bicep/modules/monitoring.bicep", "DisableLocalAuth: true", "DisableLocalAuth: false"],
    ["Log Analytics workspace keys", "bicep/modules/monitoring.bicep", "features: { disableLocalAuth: true }", "features: { disableLocalAuth: false }"],
    ["Log Analytics features unset", "bicep/modules/monitoring.bicep", "    features: { disableLocalAuth: true }\n", ""],
  ])("local auth: %s", (_what, file, search, replacement) => {
    expect(checkLocalAuthDisabled(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["no version-level immutability", "immutableStorageWithVersioning: { enabled: true }", "immutableStorageWithVersioning: { enabled: false }"],
    ["immutability removed", "    immutableStorageWithVersioning: { enabled: true }\n", ""],
    ["versioning off", "isVersioningEnabled: true", "isVersioningEnabled: false"],
    ["fixed retention", "immutabilityPeriodSinceCreationInDays: originalsDefaultRetentionDays", "immutabilityPeriodSinceCreationInDays: 1"],
    ["policy on another container", "  parent: originals\n  name: 'default'", "  parent: derived\n  name: 'default'"],
  ])("originals: %s", (_what, search, replacement) => {
    expect(checkOriginalsImmutable(mutate(files, storage, search, replacement))).not.toEqual([]);
  });

  test.each([
    [
      "no version-level immutability",
      "  name: ledgerName\n  properties: {\n    publicAccess: 'None'\n    immutableStorageWithVersioning: { enabled: true }",
      "  name: ledgerName\n  properties: {\n    publicAccess: 'None'\n    immutableStorageWithVersioning: { enabled: false }",
    ],
    ["no retention policy", "  parent: ledger\n  name: 'default'", "  parent: audit\n  name: 'default'"],
    ["append writes refused (the index could not append)", "    allowProtectedAppendWrites: true", "    allowProtectedAppendWrites: false"],
    ["block blobs appendable", "    allowProtectedAppendWrites: true\n    allowProtectedAppendWritesAll: false", "    allowProtectedAppendWrites: true\n    allowProtectedAppendWritesAll: true"],
  ])("ledger: %s", (_what, search, replacement) => {
    expect(checkLedgerImmutable(mutate(files, storage, search, replacement))).not.toEqual([]);
  });

  test.each([
    [
      "no version-level immutability",
      "  name: auditName\n  properties: {\n    publicAccess: 'None'\n    immutableStorageWithVersioning: { enabled: true }",
      "  name: auditName\n  properties: {\n    publicAccess: 'None'\n    immutableStorageWithVersioning: { enabled: false }",
    ],
    ["no retention policy", "  parent: audit\n  name: 'default'", "  parent: ledger\n  name: 'default'"],
    [
      "manifests without version-level immutability",
      "  name: manifestsName\n  properties: {\n    publicAccess: 'None'\n    immutableStorageWithVersioning: { enabled: true }",
      "  name: manifestsName\n  properties: {\n    publicAccess: 'None'\n    immutableStorageWithVersioning: { enabled: false }",
    ],
    [
      "appendable",
      "    allowProtectedAppendWrites: false\n    allowProtectedAppendWritesAll: false\n  }\n}\n\n// Event Grid",
      "    allowProtectedAppendWrites: true\n    allowProtectedAppendWritesAll: false\n  }\n}\n\n// Event Grid",
    ],
  ])("audit: %s", (_what, search, replacement) => {
    expect(checkAuditImmutable(mutate(files, storage, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["Event Grid schema", "eventDeliverySchema: 'CloudEventSchemaV1_0'", "eventDeliverySchema: 'EventGridSchema'"],
    [
      "key-based delivery",
      /deliveryWithResourceIdentity: \{[\s\S]*?\n {4}\}\n {4}retryPolicy/,
      "destination: {\n      endpointType: 'ServiceBusQueue'\n      properties: { resourceId: blobCreatedQueue.id }\n    }\n    retryPolicy",
    ],
    ["another container", "containers/originals/", "containers/derived/"],
    ["another queue", "  name: 'blob-created'", "  name: 'stage-results'"],
    ["no dead-letter", /deadLetterWithResourceIdentity: \{[\s\S]*?\n {4}\}\n {2}\}\n\}/, "}\n}"],
    ["no retry policy", /retryPolicy: \{[\s\S]*?\n {4}\}\n/, ""],
    ["api filter drift", "'SftpCommit'", "'SftpCreate'"],
  ])("Event Grid: %s", (_what, search, replacement) => {
    expect(checkEventGrid(mutate(files, eventGrid, search, replacement), contract)).not.toEqual([]);
  });

  test("Event Grid: the contract stops parsing CloudEvents", () => {
    expect(checkEventGrid(files, { ...contract, specVersion: "0.3" })).not.toEqual([]);
  });

  test.each([
    ["topology not loaded", "bicep/main.bicep", "loadJsonContent('../topology/servicebus.json')", "loadJsonContent('topology.json')"],
    ["queues not looped", serviceBus, "[for queue in queueConfigs: {", "[for queue in []: {"],
    ["topics not looped", serviceBus, "var topicConfigs = contains(config, 'Topics') ? config.Topics : []", "var topicConfigs = []"],
    ["subscriptions not looped", "bicep/modules/servicebus-topic.bicep", "topic.Subscriptions", "topic.Subs"],
    ["rules not looped", "bicep/modules/servicebus-subscription.bicep", "subscriptionConfig.Rules", "[]"],
    ["a property dropped", serviceBus, "      maxDeliveryCount: queue.Properties.MaxDeliveryCount\n", ""],
    ["TTL from the file", "bicep/modules/servicebus-subscription.bicep", "defaultMessageTimeToLive: messageTimeToLive", "defaultMessageTimeToLive: props.DefaultMessageTimeToLive"],
    ["SQL filters unmapped", "bicep/modules/servicebus-subscription.bicep", ": {\n          filterType: 'SqlFilter'", ": {\n          filterType: 'Sql'"],
  ])("topology: %s", (_what, file, search, replacement) => {
    expect(checkTopologyCreated(mutate(files, file, search, replacement), topologyText)).not.toEqual([]);
  });

  test("topology: a property added to the file that Bicep does not map", () => {
    const grown = topologyText.replace('"MaxDeliveryCount": 10,', '"MaxDeliveryCount": 10,\n              "AutoDeleteOnIdle": "P7D",');
    expect(grown).not.toBe(topologyText);
    expect(checkTopologyCreated(files, grown)).not.toEqual([]);
  });

  test.each([
    ["Contributor in roles.json", "bicep/roles.json", '"monitoringMetricsPublisher"', '"contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",\n  "monitoringMetricsPublisher"'],
    ["wrong GUID for a role name", "bicep/roles.json", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"],
    ["literal GUID in a template", storage, "roles.storageBlobDelegator)\n", "'8e3af657-a8ff-443c-a75c-2fe8c4bcb635')\n"],
  ])("role definitions: %s", (_what, file, search, replacement) => {
    expect(checkRoleDefinitions(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    [
      "reader on the account instead of originals",
      storage,
      "name: guid(originals.id, appPrincipalId, roles.storageBlobDataReader)\n  scope: originals",
      "name: guid(originals.id, appPrincipalId, roles.storageBlobDataReader)\n  scope: account",
    ],
    [
      "write on originals",
      storage,
      "name: guid(derived.id, mediaPrincipalId, roles.storageBlobDataContributor)\n  scope: derived",
      "name: guid(derived.id, mediaPrincipalId, roles.storageBlobDataContributor)\n  scope: originals",
    ],
    [
      "the core identity writes renditions (only media does)",
      storage,
      "    principalId: mediaPrincipalId\n    principalType: 'ServicePrincipal'\n  }\n}\n\n// A user delegation key",
      "    principalId: appPrincipalId\n    principalType: 'ServicePrincipal'\n  }\n}\n\n// A user delegation key",
    ],
    ["Data Owner on evidence storage", storage, "roles.storageBlobDelegator)\n    principalId", "roles.storageBlobDataOwner)\n    principalId"],
    ["no scope (resource group)", "bicep/modules/monitoring.bicep", "  scope: appInsights\n", ""],
    ["Event Grid sends to every queue", eventGrid, "  scope: blobCreatedQueue\n", "  scope: namespace\n"],
    ["app gets Service Bus Data Owner", serviceBus, "principalId: operatorPrincipalId", "principalId: appPrincipalId"],
    ["receiver at namespace scope", "bicep/modules/servicebus-subscription.bicep", "scope: subscriptionResource", "scope: namespace"],
  ])("role assignments: %s", (_what, file, search, replacement) => {
    expect(checkRoleAssignments(mutate(files, file, search, replacement), triggeredEntities)).not.toEqual([]);
  });

  test.each([
    ["Data Owner on a topic", '"topic": "evidence-ready", "role": "serviceBusDataSender"', '"topic": "evidence-ready", "role": "serviceBusDataOwner"'],
    [
      "Data Owner on a subscription no function is triggered by",
      '"subscriptions": [',
      '"subscriptions": [\n    { "identity": "core", "topic": "evidence-ready", "subscription": "all-events", "role": "serviceBusDataOwner", "why": "none" },',
    ],
    [
      "Data Owner on a subscription of the other app's function",
      '"identity": "media", "topic": "evidence-received", "subscription": "transcode"',
      '"identity": "core", "topic": "evidence-received", "subscription": "transcode"',
    ],
    ["the media identity sends to stage-results", '{ "identity": "media", "queue": "media-results"', '{ "identity": "media", "queue": "stage-results"'],
    ["an entry for an identity that does not exist", '{ "identity": "media", "queue": "media-results"', '{ "identity": "ffmpeg", "queue": "media-results"'],
  ])("role assignments: %s", (_what, search, replacement) => {
    expect(checkRoleAssignments(mutate(files, "bicep/service-bus-access.json", search, replacement), triggeredEntities)).not.toEqual([]);
  });

  test("role assignments: Data Owner stays on a queue after its function stops being triggered by it", () => {
    const withoutIndexResults = FUNCTION_DEFINITIONS.filter((d) => !(d.entity.kind === "queue" && d.entity.queueName === "stage-results"));
    expect(withoutIndexResults.length).toBe(FUNCTION_DEFINITIONS.length - 1);
    expect(checkRoleAssignments(files, triggersByIdentity(withoutIndexResults))).not.toEqual([]);
    expect(checkServiceBusAccessMatchesCode(files, serviceBusUsesFromCode(sources, withoutIndexResults))).not.toEqual([]);
  });

  test.each([
    ["a trigger dropped", / {4}\{ "identity": "media", "topic": "evidence-received", "subscription": "thumbnail", [^\n]*\n/, ""],
    [
      "a receive the code does not do",
      '"subscriptions": [',
      '"subscriptions": [\n    { "identity": "core", "topic": "evidence-ready", "subscription": "all-events", "role": "serviceBusDataReceiver", "why": "none" },',
    ],
    [
      "a queue trigger with Receiver only (the scale monitor cannot read the count)",
      '"queue": "stage-results", "role": "serviceBusDataOwner"',
      '"queue": "stage-results", "role": "serviceBusDataReceiver"',
    ],
    [
      "a trigger granted to the other app's identity",
      '"identity": "core", "queue": "media-results", "role": "serviceBusDataOwner"',
      '"identity": "media", "queue": "media-results", "role": "serviceBusDataOwner"',
    ],
    [
      "the media app's send granted to the core identity",
      '"identity": "media", "queue": "media-results", "role": "serviceBusDataSender"',
      '"identity": "core", "queue": "media-results", "role": "serviceBusDataSender"',
    ],
    [
      "the media identity receives the hash subscription",
      '"subscriptions": [',
      '"subscriptions": [\n    { "identity": "media", "topic": "evidence-received", "subscription": "hash", "role": "serviceBusDataReceiver", "why": "none" },',
    ],
    ["a subscription trigger with Receiver only", '"subscription": "transcode", "role": "serviceBusDataOwner"', '"subscription": "transcode", "role": "serviceBusDataReceiver"'],
  ])("Service Bus access vs code: %s", (_what, search, replacement) => {
    expect(checkServiceBusAccessMatchesCode(mutate(files, "bicep/service-bus-access.json", search, replacement), serviceBusUsesFromCode(sources))).not.toEqual([]);
  });

  test("Service Bus access vs code: a function that stops sending somewhere (the role would outlive the use)", () => {
    const reconcile = sources.get("functions/reconcile.ts")!;
    expect(reconcile).toContain("ENTITIES.blobCreated");
    const shrunk = new Map(sources).set("functions/reconcile.ts", reconcile.replaceAll("ENTITIES.blobCreated", "undefined"));
    expect(checkServiceBusAccessMatchesCode(files, serviceBusUsesFromCode(shrunk))).not.toEqual([]);
  });

  test("Service Bus access: the access file not wired to entity-scoped assignments", () => {
    expect(checkServiceBusAccessWiring(mutate(files, serviceBus, "(access, i) in appAccess.topics:", "(access, i) in []:"))).not.toEqual([]);
    expect(checkServiceBusAccessWiring(mutate(files, "bicep/main.bicep", "loadJsonContent('service-bus-access.json')", "{}"))).not.toEqual([]);
  });

  test.each([
    ["app gets the reader role", "principalId: appPrincipalId\n    scope", "principalId: operatorPrincipalId\n    scope"],
    ["account-wide scope", "scope: '${account.id}/dbs/${databaseName}'", "scope: account.id"],
    ["app assignment in parallel with the container", "  dependsOn: [container]\n", ""],
    ["operator assignment in parallel with the app's", "  dependsOn: [appWritesIndex]\n", ""],
  ])("Cosmos roles: %s", (_what, search, replacement) => {
    expect(checkCosmosRoles(mutate(files, "bicep/modules/cosmos.bicep", search, replacement))).not.toEqual([]);
  });

  test("Cosmos: both assignments after the container but not after each other", () => {
    expect(checkCosmosSerialized(mutate(files, "bicep/modules/cosmos.bicep", "  dependsOn: [appWritesIndex]\n", "  dependsOn: [container]\n"))).not.toEqual([]);
  });

  test.each([
    [
      "hard-coded suffix in the app setting",
      functions,
      "ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace",
      "ServiceBusConnection__fullyQualifiedNamespace: '${serviceBusFullyQualifiedNamespace}.servicebus.windows.net'",
    ],
    [
      "hard-coded suffix in the module output",
      serviceBus,
      "output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]",
      "output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'",
    ],
    [
      "setting not from the module output",
      "bicep/main.bicep",
      "serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace",
      "serviceBusFullyQualifiedNamespace: serviceBus.outputs.namespaceName",
    ],
    ["hard-coded blob host", storage, "output blobServiceUri string = account.properties.primaryEndpoints.blob", "output blobServiceUri string = 'https://${account.name}.blob.core.windows.net/'"],
  ])("cloud-neutral endpoints: %s", (_what, file, search, replacement) => {
    expect(checkCloudNeutralEndpoints(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    [
      "the topic loop filters with its loop variable",
      serviceBus,
      "appSubscriptionAccess: appAccess.subscriptions",
      "appSubscriptionAccess: filter(appAccess.subscriptions, access => access.topic == topic.Name)",
    ],
    [
      "the subscription loop filters with its loop variable",
      "bicep/modules/servicebus-topic.bicep",
      "appSubscriptionAccess: appSubscriptionAccess\n",
      "appSubscriptionAccess: filter(appSubscriptionAccess, access => access.subscription == sub.Name)\n",
    ],
  ])("lambdas in loops: %s", (_what, file, search, replacement) => {
    expect(checkNoLoopVariablesInLambdas(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test("lambdas in loops: a lambda over the module's own parameters is fine", () => {
    const mutated = mutate(
      files,
      "bicep/modules/servicebus-topic.bicep",
      "appSubscriptionAccess: appSubscriptionAccess\n",
      "appSubscriptionAccess: filter(appSubscriptionAccess, entry => entry.topic == topic.Name)\n",
    );
    expect(checkNoLoopVariablesInLambdas(mutated)).toEqual([]);
  });

  test.each([
    ["$Default not declared", /\/\/ The service's catch-all rule[\s\S]*?\n\}\n/, ""],
    ["$Default left matching everything", "sqlExpression: '1=0'", "sqlExpression: '1=1'"],
    [
      "$Default only on some subscriptions",
      "resource defaultRule 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2024-01-01' = {",
      "resource defaultRule 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2024-01-01' = if (subscriptionConfig.Name == 'hash') {",
    ],
    ["$Default as a TrueFilter", "filterType: 'SqlFilter'\n    sqlFilter: { sqlExpression: '1=0' }", "filterType: 'TrueFilter'\n    sqlFilter: { sqlExpression: '1=0' }"],
  ])("subscription rules: %s", (_what, search, replacement) => {
    expect(checkDefaultRuleNeutralised(mutate(files, "bicep/modules/servicebus-subscription.bicep", search, replacement), topologyText)).not.toEqual([]);
  });

  test("subscription rules: a subscription in the topology file without rules of its own", () => {
    const bare = JSON.parse(topologyText) as { UserConfig: { Namespaces: Array<{ Topics: Array<{ Subscriptions: Array<{ Rules?: unknown[] }> }> }> } };
    delete bare.UserConfig.Namespaces[0].Topics[0].Subscriptions[0].Rules;
    expect(checkDefaultRuleNeutralised(files, JSON.stringify(bare))).not.toEqual([]);
  });

  test.each([
    ["a connection endpoint missing", "    EvidenceIndex__accountEndpoint: cosmos.properties.documentEndpoint\n", ""],
    ["a client id missing", "    ServiceBusConnection__clientId: clientId\n", ""],
    ["a key-based connection string", "CUSTODY_THUMBNAIL_COUNT: '8'", "CUSTODY_THUMBNAIL_COUNT: '8'\n    EvidenceStorage: 'UseDevelopmentStorage=true'"],
    ["the local stand-in's certificate switch", "CUSTODY_THUMBNAIL_COUNT: '8'", "CUSTODY_THUMBNAIL_COUNT: '8'\n    EvidenceIndex__allowSelfSignedCertificate: 'true'"],
    ["a credential other than managedidentity", "EvidenceStorage__credential: 'managedidentity'", "EvidenceStorage__credential: 'clientsecret'"],
    ["a pipeline setting not set", "    CUSTODY_FIXITY_SCHEDULE: '0 0 * * * *'\n", ""],
    ["a malformed setting", "CUSTODY_PROXY_MAX_SIDE: '1280'", "CUSTODY_PROXY_MAX_SIDE: '1279'"],
    ["telemetry without Entra ID", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${clientId};Authorization=AAD'\n", ""],
    ["host storage by connection string", "AzureWebJobsStorage__blobServiceUri: hostStorage.properties.primaryEndpoints.blob", "AzureWebJobsStorage: 'UseDevelopmentStorage=true'"],
  ])("app settings: %s", (_what, search, replacement) => {
    expect(checkAppSettings(mutate(files, functions, search, replacement), probe, settingNamesInCode(sources, []))).not.toEqual([]);
  });

  test("app settings: the code starts reading a new setting", () => {
    const grown = new Map(sources).set("shared/new-feature.ts", 'export const X = process.env["CUSTODY_NEW_FEATURE"];');
    expect(checkAppSettings(files, probe, settingNamesInCode(grown, []))).not.toEqual([]);
  });

  test.each([
    ["consumption plan", "sku: { tier: 'FlexConsumption', name: 'FC1' }", "sku: { tier: 'Dynamic', name: 'Y1' }"],
    ["fixed memory", "instanceMemoryMB: instanceMemoryMB", "instanceMemoryMB: 2048"],
    ["system identity for the package", "type: 'UserAssignedIdentity'", "type: 'StorageAccountConnectionString'"],
    ["no azd tag", "'azd-service-name': 'custody'", "'azd-service-name': 'api'"],
  ])("function app: %s", (_what, search, replacement) => {
    expect(checkFunctionApp(mutate(files, functions, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["the media app on the core app's plan", "serverFarmId: mediaPlan.id", "serverFarmId: plan.id"],
    ["the media app untagged", "'azd-service-name': 'custody-media'", "'azd-service-name': 'media'"],
  ])("function apps: %s", (_what, search, replacement) => {
    expect(checkFunctionApp(mutate(files, functions, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["a Cosmos DB role for the media identity", "bicep/modules/cosmos.bicep", "    principalId: appPrincipalId\n", "    principalId: mediaPrincipalId\n"],
    ["Service Bus Data Owner on the namespace for the media identity", serviceBus, "principalId: operatorPrincipalId", "principalId: mediaPrincipalId"],
    [
      "Send on stage-results (a hash claim)",
      "bicep/service-bus-access.json",
      '{ "identity": "media", "queue": "media-results", "role": "serviceBusDataSender"',
      '{ "identity": "media", "queue": "stage-results", "role": "serviceBusDataSender"',
    ],
    ["Send on evidence-ready", "bicep/service-bus-access.json", '"topics": [', '"topics": [\n    { "identity": "media", "topic": "evidence-ready", "role": "serviceBusDataSender", "why": "none" },'],
    [
      "Send on evidence-received",
      "bicep/service-bus-access.json",
      '"topics": [',
      '"topics": [\n    { "identity": "media", "topic": "evidence-received", "role": "serviceBusDataSender", "why": "none" },',
    ],
    ["Send on blob-created", "bicep/service-bus-access.json", '"queues": [', '"queues": [\n    { "identity": "media", "queue": "blob-created", "role": "serviceBusDataSender", "why": "none" },'],
    [
      "Data Owner on its results queue (Owner can send anywhere it manages, and forward)",
      "bicep/service-bus-access.json",
      '{ "identity": "media", "queue": "media-results", "role": "serviceBusDataSender"',
      '{ "identity": "media", "queue": "media-results", "role": "serviceBusDataOwner"',
    ],
    [
      "no Send on media-results at all",
      "bicep/service-bus-access.json",
      '{ "identity": "media", "queue": "media-results", "role": "serviceBusDataSender"',
      '{ "identity": "core", "queue": "media-results", "role": "serviceBusDataSender"',
    ],
    ["the access entries assigned to one fixed principal", "bicep/modules/servicebus-subscription.bicep", "principalId: principalIds[access.identity]", "principalId: mediaPrincipalId"],
    [
      "Data Owner on a queue no media function is triggered by",
      "bicep/service-bus-access.json",
      '{ "identity": "media", "queue": "transcode-join", "role": "serviceBusDataOwner"',
      '{ "identity": "media", "queue": "stage-results", "role": "serviceBusDataOwner"',
    ],
  ])("media identity: %s", (_what, file, search, replacement) => {
    expect(checkMediaIdentity(mutate(files, file, search, replacement), triggeredEntities.media)).not.toEqual([]);
  });

  test.each([
    ["the media identity cannot sign read URLs", storage, /resource mediaSignsReadUrls [\s\S]*?\n\}\n/, ""],
    ["the media identity cannot write renditions", storage, /resource mediaWritesDerived [\s\S]*?\n\}\n/, ""],
    [
      "the core identity keeps the delegator role it no longer uses",
      storage,
      "  name: guid(account.id, mediaPrincipalId, roles.storageBlobDelegator)\n  scope: account\n  properties: {\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDelegator)\n    principalId: mediaPrincipalId",
      "  name: guid(account.id, appPrincipalId, roles.storageBlobDelegator)\n  scope: account\n  properties: {\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDelegator)\n    principalId: appPrincipalId",
    ],
    ["the core identity loses the index", "bicep/modules/cosmos.bicep", "    principalId: appPrincipalId\n", "    principalId: mediaPrincipalId\n"],
  ])("storage and index access vs code: %s", (_what, file, search, replacement) => {
    expect(checkStorageAndIndexAccessMatchesCode(mutate(files, file, search, replacement), servicesUsedFromCode(sources))).not.toEqual([]);
  });

  test("storage and index access vs code: a media function starts using the index", () => {
    const transcode = sources.get("functions/transcode.ts")!;
    expect(transcode).toContain("const { blobs, media, publisher, settings } = await getServices();");
    const grown = new Map(sources).set(
      "functions/transcode.ts",
      transcode.replace("const { blobs, media, publisher, settings } = await getServices();", "const { blobs, media, publisher, settings, index } = await getServices();"),
    );
    expect(checkStorageAndIndexAccessMatchesCode(files, servicesUsedFromCode(grown))).not.toEqual([]);
  });

  test("Service Bus access vs code: a media function starts sending to stage-results", () => {
    const thumbnail = sources.get("functions/thumbnail.ts")!;
    const grown = new Map(sources).set("functions/thumbnail.ts", thumbnail.replace("ENTITIES.mediaResults.queueName", "ENTITIES.stageResults.queueName"));
    expect(serviceBusUsesFromCode(grown).media).toContain("send queue stage-results");
    expect(checkServiceBusAccessMatchesCode(files, serviceBusUsesFromCode(grown))).not.toEqual([]);
  });

  test.each([
    ["the media app runs as the core identity", functions, "userAssignedIdentities: { '${mediaIdentity.id}': {} }", "userAssignedIdentities: { '${appIdentity.id}': {} }"],
    ["the media app runs as both identities", functions, "userAssignedIdentities: { '${mediaIdentity.id}': {} }", "userAssignedIdentities: { '${mediaIdentity.id}': {}, '${appIdentity.id}': {} }"],
    ["the media package read with the core identity", functions, "userAssignedIdentityResourceId: mediaIdentity.id", "userAssignedIdentityResourceId: appIdentity.id"],
    ["a media connection with the core client id", functions, "ServiceBusConnection__clientId: mediaClientId", "ServiceBusConnection__clientId: clientId"],
    ["media telemetry as the core identity", functions, "'ClientId=${mediaClientId};Authorization=AAD'", "'ClientId=${clientId};Authorization=AAD'"],
    [
      "the media package in the core app's host storage",
      functions,
      "'${mediaHostStorage.properties.primaryEndpoints.blob}${mediaDeploymentContainerName}'",
      "'${hostStorage.properties.primaryEndpoints.blob}${mediaDeploymentContainerName}'",
    ],
    [
      "the media host setting names the core app's account",
      functions,
      "AzureWebJobsStorage__blobServiceUri: mediaHostStorage.properties.primaryEndpoints.blob",
      "AzureWebJobsStorage__blobServiceUri: hostStorage.properties.primaryEndpoints.blob",
    ],
    [
      "both apps share one host storage account",
      "bicep/main.bicep",
      "mediaHostStorageName: mediaHostStorage.outputs.accountName\n    mediaDeploymentContainerName: mediaHostStorage.outputs.deploymentContainerName",
      "mediaHostStorageName: hostStorage.outputs.accountName\n    mediaDeploymentContainerName: hostStorage.outputs.deploymentContainerName",
    ],
    ["the media host storage granted to the core identity", "bicep/main.bicep", "hostedAppPrincipalId: identities.outputs.mediaPrincipalId", "hostedAppPrincipalId: identities.outputs.appPrincipalId"],
    ["the two host accounts with one name", "bicep/main.bicep", "accountNamePrefix: 'stcustodymd'", "accountNamePrefix: 'stcustodyfn'"],
    [
      "the index given to the media identity",
      "bicep/main.bicep",
      "    appPrincipalId: identities.outputs.appPrincipalId\n    operatorPrincipalId: operatorGroupObjectId",
      "    appPrincipalId: identities.outputs.mediaPrincipalId\n    operatorPrincipalId: operatorGroupObjectId",
    ],
  ])("app identities: %s", (_what, file, search, replacement) => {
    expect(checkAppIdentities(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["an evidence index setting", "    CUSTODY_APP_ROLE: 'media'\n", "    CUSTODY_APP_ROLE: 'media'\n    EvidenceIndex__accountEndpoint: cosmos.properties.documentEndpoint\n"],
    ["a setting only core functions use", "    CUSTODY_APP_ROLE: 'media'\n", "    CUSTODY_APP_ROLE: 'media'\n    CUSTODY_EVENT_SOURCE: eventSource\n"],
    ["the core role", "CUSTODY_APP_ROLE: 'media'", "CUSTODY_APP_ROLE: 'core'"],
    ["no role (it would register every function)", "    CUSTODY_APP_ROLE: 'media'\n", ""],
    ["a setting its stages read not set", /(CUSTODY_APP_ROLE: 'media'[\s\S]*?) {4}CUSTODY_THUMBNAIL_COUNT: '8'\n/, "$1"],
  ])("media app settings: %s", (_what, search, replacement) => {
    expect(checkAppSettings(mutate(files, functions, search, replacement), probe, settingNamesInCode(sources, []), "custody-media")).not.toEqual([]);
  });

  test.each([
    ["the media app on the core app's memory parameter", functions, "instanceMemoryMB: mediaInstanceMemoryMB", "instanceMemoryMB: instanceMemoryMB"],
    ["the media app on the core app's instance ceiling", functions, "maximumInstanceCount: mediaMaximumInstanceCount", "maximumInstanceCount: maximumInstanceCount"],
    ["1 vCPU instances by default", "bicep/main.bicep", "param mediaInstanceMemoryMB int = 4096", "param mediaInstanceMemoryMB int = 2048"],
    [
      "a memory size Flex does not offer",
      "bicep/main.bicep",
      "@allowed([2048, 4096])\n@description('Flex Consumption instance memory of the media app",
      "@allowed([512, 2048, 4096])\n@description('Flex Consumption instance memory of the media app",
    ],
    ["no ceiling on the instance parameter", "bicep/main.bicep", "@maxValue(1000)\n@description('Upper bound on the media app", "@description('Upper bound on the media app"],
    ["another default instance ceiling", "bicep/main.bicep", "param mediaMaximumInstanceCount int = 100", "param mediaMaximumInstanceCount int = 500"],
    ["the instance ceiling fixed in main.bicep", "bicep/main.bicep", "mediaMaximumInstanceCount: mediaMaximumInstanceCount\n", "mediaMaximumInstanceCount: 100\n"],
    ["host.json's four messages per instance", functions, "    AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls: '1'\n", ""],
    ["two segment runs per instance", functions, "AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls: '1'", "AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls: '2'"],
    ["no segment length", functions, "    CUSTODY_SEGMENT_SECONDS: '60'\n", ""],
    ["another segment length than the code's default", functions, "CUSTODY_SEGMENT_SECONDS: '60'", "CUSTODY_SEGMENT_SECONDS: '300'"],
  ])("media sizing: %s", (_what, file, search, replacement) => {
    expect(checkMediaSizing(mutate(files, file, search, replacement), DEFAULT_SEGMENT_SECONDS)).not.toEqual([]);
  });

  test("core app settings: the segment length (the media app's plan run chooses it)", () => {
    expect(
      checkAppSettings(mutate(files, functions, "    CUSTODY_APP_ROLE: 'core'\n", "    CUSTODY_APP_ROLE: 'core'\n    CUSTODY_SEGMENT_SECONDS: '60'\n"), probe, settingNamesInCode(sources, [])),
    ).not.toEqual([]);
  });

  test("core app settings: no role (it would register the media functions too)", () => {
    expect(checkAppSettings(mutate(files, functions, "    CUSTODY_APP_ROLE: 'core'\n", ""), probe, settingNamesInCode(sources, []))).not.toEqual([]);
  });
});
