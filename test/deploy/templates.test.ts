/**
 * Static checks of the Azure deployment (bicep/, azure.yaml) against the code — no Bicep
 * compiler or Azure access needed. Each rule runs on the real files and on a copy mutated in
 * memory, to show the check catches the mistake it exists for.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fixitySchedule } from "../../functions/fixity-sample";
import { FUNCTION_DEFINITIONS } from "../../functions/definitions";
import { EVIDENCE_INDEXING_POLICY, DEFAULT_EVIDENCE_CONTAINER_NAMES } from "../../shared/adapters/cosmos-evidence-index";
import { BLOB_CREATED_COMMITTED_APIS, BLOB_CREATED_EVENT_SCHEMA, BLOB_CREATED_EVENT_TYPE } from "../../shared/contracts/blob-created-event";
import { DERIVED_CONTAINER } from "../../shared/ports/blob-store";
import { loadSettings } from "../../shared/settings";
import { DEFAULT_ACCEPTED_CONTAINERS } from "../../shared/stages/ingest-stage";
import { resetTelemetryForTests, startTelemetry } from "../../shared/telemetry/azure-monitor";
import { ENTITIES, entityPath } from "../../shared/topology";
import { AUDIT_CONTAINER } from "../../cli/audit-log";
import { allDeclarations, literal, mutate, propertyPath, readDeploymentFiles, REPO_ROOT, type Files } from "./bicep";
import {
  appSettings,
  checkAppSettings,
  checkAzureYaml,
  checkCosmosRoles,
  checkEventGrid,
  checkFunctionApp,
  checkLocalAuthDisabled,
  checkNoSecrets,
  checkOriginalsImmutable,
  checkRoleAssignments,
  checkRoleDefinitions,
  checkServiceBusAccessMatchesCode,
  checkServiceBusAccessWiring,
  checkTopologyCreated,
  codeSources,
  settingNamesInCode,
  type SettingsProbe,
} from "./checks";

const files: Files = readDeploymentFiles();
const topologyText = readFileSync(path.join(REPO_ROOT, "topology", "servicebus.json"), "utf8");
const contract = { eventType: BLOB_CREATED_EVENT_TYPE, committedApis: BLOB_CREATED_COMMITTED_APIS, specVersion: BLOB_CREATED_EVENT_SCHEMA.properties.specversion.const };

/** Runs the code's own settings readers on `env` and records every key they look at. */
const probe: SettingsProbe = {
  read(env) {
    const read = new Set<string>();
    const recording = new Proxy(env as Record<string, string | undefined>, {
      get(target, key) {
        if (typeof key === "string") read.add(key);
        return target[key as string];
      },
    });
    const settings = loadSettings(recording);
    for (const [name, auth] of Object.entries({ serviceBus: settings.serviceBus, storage: settings.storage, cosmos: settings.cosmos.auth })) {
      if (auth.kind !== "identity" || !auth.clientId) throw new Error(`${name} would not use the app's managed identity`);
    }
    fixitySchedule(recording);
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

/**
 * What the functions do on Service Bus, from the code: each definition receives from its
 * trigger entity; every other ENTITIES.<x> a function file names is a destination it sends to.
 */
function serviceBusUsesFromCode(sources: Map<string, string>): Set<string> {
  const uses = new Set<string>();
  const describe = (key: string): string => {
    const value = (ENTITIES as Record<string, unknown>)[key];
    if (typeof value === "string") return `topic ${value}`;
    const entity = value as { kind: string; queueName?: string; topicName?: string; subscriptionName?: string };
    return entity.kind === "queue" ? `queue ${entity.queueName}` : `subscription ${entity.topicName}/${entity.subscriptionName}`;
  };
  for (const definition of FUNCTION_DEFINITIONS) {
    uses.add(`receive ${definition.entity.kind === "queue" ? `queue ${definition.entity.queueName}` : `subscription ${entityPath(definition.entity).replace("/Subscriptions/", "/")}`}`);
  }
  for (const [file, text] of sources) {
    if (!file.startsWith("functions/")) continue;
    const triggers = new Set([...text.matchAll(/entity:\s*ENTITIES\.([A-Za-z]+)/g)].map((m) => m[1]));
    for (const match of text.matchAll(/ENTITIES\.([A-Za-z]+)/g)) {
      if (!triggers.has(match[1])) uses.add(`send ${describe(match[1])}`);
    }
  }
  return uses;
}

const sources = codeSources();

describe("the real templates", () => {
  test("azure.yaml: service custody (function, ts) from the repository root, infrastructure in bicep/", () => {
    expect(checkAzureYaml(files)).toEqual([]);
  });

  test("no keys, SAS, list*() calls or connection strings with keys, in templates, parameters or outputs", () => {
    expect(checkNoSecrets(files)).toEqual([]);
  });

  test("shared-key / local auth is off on every storage account, Service Bus namespace, Cosmos account and Application Insights", () => {
    expect(checkLocalAuthDisabled(files)).toEqual([]);
  });

  test("originals: version-level immutability with a default retention policy from a parameter", () => {
    expect(checkOriginalsImmutable(files)).toEqual([]);
  });

  test("Event Grid: BlobCreated on originals, CloudEvents 1.0, to blob-created with the topic identity, dead-letter and retry", () => {
    expect(checkEventGrid(files, contract)).toEqual([]);
  });

  test("every queue, topic, subscription and rule is created from topology/servicebus.json", () => {
    expect(checkTopologyCreated(files, topologyText)).toEqual([]);
  });

  test("roles: only known built-in roles, each assignment scoped to the one resource it is for", () => {
    expect(checkRoleDefinitions(files)).toEqual([]);
    expect(checkRoleAssignments(files)).toEqual([]);
    expect(checkCosmosRoles(files)).toEqual([]);
  });

  test("Service Bus roles: exactly the receives and sends the functions do, at entity scope", () => {
    const uses = serviceBusUsesFromCode(sources);
    // The derivation itself: ingest receives blob-created and sends to evidence-received.
    expect(uses).toContain("receive queue blob-created");
    expect(uses).toContain("send topic evidence-received");
    expect(checkServiceBusAccessMatchesCode(files, uses)).toEqual([]);
    expect(checkServiceBusAccessWiring(files)).toEqual([]);
  });

  test("app settings: every setting the code reads is set, identity-based, and accepted by the code's own loader", () => {
    expect(checkAppSettings(files, probe, settingNamesInCode(sources, []))).toEqual([]);
    const names = appSettings(files).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["ServiceBusConnection__fullyQualifiedNamespace", "EvidenceStorage__blobServiceUri", "EvidenceIndex__accountEndpoint"]));
  });

  test("function app: Flex Consumption, Node, parameters for memory and scale, user-assigned identity", () => {
    expect(checkFunctionApp(files)).toEqual([]);
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
    ["infra path", "path: bicep", "path: infra"],
    ["host", "host: function", "host: appservice"],
    ["language", "language: ts", "language: python"],
    ["broken YAML", "services:", "services: ["],
  ])("azure.yaml: %s", (_what, search, replacement) => {
    expect(checkAzureYaml(mutate(files, "azure.yaml", search, replacement))).not.toEqual([]);
  });

  test("main.parameters.json must map the azd variables", () => {
    expect(checkAzureYaml(mutate(files, "bicep/main.parameters.json", "${AZURE_PRINCIPAL_ID}", "${AZURE_PRINCIPAL}"))).not.toEqual([]);
  });

  test.each([
    ["listKeys", storage, "output accountName string = account.name", "output accountName string = account.listKeys().keys[0].value"],
    ["connection string output", storage, "output accountName string = account.name", "output connectionString string = 'DefaultEndpointsProtocol=https;AccountName=${account.name}'"],
    ["SAS", functions, "CUSTODY_THUMBNAIL_COUNT: '8'", "CUSTODY_THUMBNAIL_COUNT: '8'\n    Sas: '?sv=2022&sig=abc'"],
    ["secure parameter", functions, "param nodeVersion string", "@secure()\nparam nodeVersion string"],
    ["SAS authorization rule", serviceBus, "output namespaceName", "resource rule 'Microsoft.ServiceBus/namespaces/authorizationRules@2024-01-01' = {\n  parent: namespace\n  name: 'send'\n}\n\noutput namespaceName"],
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
  ])("local auth: %s", (_what, file, search, replacement) => {
    expect(checkLocalAuthDisabled(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["no version-level immutability", "immutableStorageWithVersioning: { enabled: true }", "immutableStorageWithVersioning: { enabled: false }"],
    ["immutability removed", "    immutableStorageWithVersioning: { enabled: true }\n", ""],
    ["versioning off", "isVersioningEnabled: true", "isVersioningEnabled: false"],
    ["fixed retention", "immutabilityPeriodSinceCreationInDays: originalsRetentionDays", "immutabilityPeriodSinceCreationInDays: 1"],
    ["policy on another container", "  parent: originals\n  name: 'default'", "  parent: derived\n  name: 'default'"],
  ])("originals: %s", (_what, search, replacement) => {
    expect(checkOriginalsImmutable(mutate(files, storage, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["Event Grid schema", "eventDeliverySchema: 'CloudEventSchemaV1_0'", "eventDeliverySchema: 'EventGridSchema'"],
    ["key-based delivery", /deliveryWithResourceIdentity: \{[\s\S]*?\n    \}\n    retryPolicy/, "destination: {\n      endpointType: 'ServiceBusQueue'\n      properties: { resourceId: blobCreatedQueue.id }\n    }\n    retryPolicy"],
    ["another container", "containers/originals/", "containers/derived/"],
    ["another queue", "  name: 'blob-created'", "  name: 'stage-results'"],
    ["no dead-letter", /deadLetterWithResourceIdentity: \{[\s\S]*?\n    \}\n  \}\n\}/, "}\n}"],
    ["no retry policy", /retryPolicy: \{[\s\S]*?\n    \}\n/, ""],
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
    ["SQL filters unmapped", "bicep/modules/servicebus-subscription.bicep", "filterType: 'SqlFilter'", "filterType: 'Sql'"],
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
    ["reader on the account instead of originals", storage, "name: guid(originals.id, appPrincipalId, roles.storageBlobDataReader)\n  scope: originals", "name: guid(originals.id, appPrincipalId, roles.storageBlobDataReader)\n  scope: account"],
    ["write on originals", storage, "name: guid(derived.id, appPrincipalId, roles.storageBlobDataContributor)\n  scope: derived", "name: guid(derived.id, appPrincipalId, roles.storageBlobDataContributor)\n  scope: originals"],
    ["Data Owner on evidence storage", storage, "roles.storageBlobDelegator)\n    principalId", "roles.storageBlobDataOwner)\n    principalId"],
    ["no scope (resource group)", "bicep/modules/monitoring.bicep", "  scope: appInsights\n", ""],
    ["Event Grid sends to every queue", serviceBus, "  scope: blobCreatedQueue\n", "  scope: namespace\n"],
    ["app gets Service Bus Data Owner", serviceBus, "principalId: operatorPrincipalId", "principalId: appPrincipalId"],
    ["receiver at namespace scope", "bicep/modules/servicebus-subscription.bicep", "scope: subscriptionResource", "scope: namespace"],
  ])("role assignments: %s", (_what, file, search, replacement) => {
    expect(checkRoleAssignments(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test("role assignments: an access entry with a role broader than send/receive", () => {
    const broadened = mutate(files, "bicep/service-bus-access.json", '{ "topic": "evidence-ready", "role": "serviceBusDataSender"', '{ "topic": "evidence-ready", "role": "serviceBusDataOwner"');
    expect(checkRoleAssignments(broadened)).not.toEqual([]);
  });

  test.each([
    ["a receive dropped", '    { "topic": "evidence-received", "subscription": "thumbnail", "role": "serviceBusDataReceiver", "why": "thumbnail is triggered by it" },\n', ""],
    ["a receive the code does not do", '"subscriptions": [', '"subscriptions": [\n    { "topic": "evidence-ready", "subscription": "all-events", "role": "serviceBusDataReceiver", "why": "none" },'],
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
  ])("Cosmos roles: %s", (_what, search, replacement) => {
    expect(checkCosmosRoles(mutate(files, "bicep/modules/cosmos.bicep", search, replacement))).not.toEqual([]);
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
    ["host storage by connection string", "AzureWebJobsStorage__accountName: hostStorage.name", "AzureWebJobsStorage: 'UseDevelopmentStorage=true'"],
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
});
