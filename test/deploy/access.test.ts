/**
 * Least privilege beyond the apps, and the smaller deployment rules: each check on the real
 * files, then on copies mutated in memory to show it catches what it is for.
 */
import { mutate, readDeploymentFiles, type Files } from "./bicep";
import {
  checkCitedPathsExist,
  checkDockAccess,
  checkHostStorageEndpoints,
  checkImageSignerAccess,
  checkInstanceCountBounds,
  checkOperatorAccess,
  checkPackageRoleWait,
  checkTelemetrySampling,
  citedPaths,
  renderDockCondition,
} from "./access-checks";
import { checkRoleAssignments } from "./checks";

const hook = require("../../scripts/await-package-roles.js") as {
  remainingWaitMs(createdOn: string[], nowMs: number, propagationMs: number): number;
  propagationMsFrom(env: Record<string, string | undefined>): number;
  assignmentIdsFrom(env: Record<string, string | undefined>): string[];
};

const files: Files = readDeploymentFiles();
const main = "bicep/main.bicep";
const storage = "bicep/modules/evidence-storage.bicep";
const functions = "bicep/modules/functions.bicep";
const serviceBus = "bicep/modules/servicebus.bicep";
const parameters = "bicep/main.parameters.json";
const noTriggers = { core: new Set<string>(), media: new Set<string>() };

describe("the real templates", () => {
  test("operators: their own group parameter, never the deploying principal; every operator role conditional and granted to a group", () => {
    expect(checkOperatorAccess(files)).toEqual([]);
  });

  test("docks: a write-only custom role (create and append) on originals, an ABAC path condition when a prefix is given", () => {
    expect(checkDockAccess(files)).toEqual([]);
    expect(renderDockCondition(files, "station-07/")).toContain("StringStartsWith 'station-07/'");
  });

  test("the Content Credentials signer: a custom role of read and write only on derived, for the core identity, writes allowed only in c2pa- folders of thumbnail folders", () => {
    expect(checkImageSignerAccess(files)).toEqual([]);
  });

  test("host storage by its blob endpoint, no __accountName, no queue or table URI", () => {
    expect(checkHostStorageEndpoints(files)).toEqual([]);
  });

  test("instance ceilings bounded by Flex Consumption's 40–1000", () => {
    expect(checkInstanceCountBounds(files)).toEqual([]);
  });

  test("telemetry sampling is a parameter that reaches both apps", () => {
    expect(checkTelemetrySampling(files)).toEqual([]);
  });

  test("the first deploy waits for the apps' package roles", () => {
    expect(checkPackageRoleWait(files)).toEqual([]);
  });

  test("every path the templates cite exists", () => {
    expect(citedPaths(files).map((c) => c.cited)).toEqual(expect.arrayContaining(["shared/adapters/blob-audit-log.ts", "test/deploy/templates.test.ts"]));
    expect(checkCitedPathsExist(files)).toEqual([]);
  });
});

describe("each check catches the mistake it is for (templates mutated in memory)", () => {
  test.each([
    [
      "operators taken from azd's logged-in principal",
      parameters,
      '"operatorGroupObjectId": { "value": "${CUSTODY_OPERATOR_GROUP_ID}" }',
      '"operatorGroupObjectId": { "value": "${AZURE_PRINCIPAL_ID}" }',
    ],
    ["a principalId parameter back in main.bicep", main, "param operatorGroupObjectId string = ''", "param operatorGroupObjectId string = ''\nparam principalId string = ''"],
    ["the operator group defaulting to someone", main, "param operatorGroupObjectId string = ''", "param operatorGroupObjectId string = '00000000-0000-0000-0000-000000000000'"],
    ["the deployer() function as the operator", main, "operatorPrincipalId: operatorGroupObjectId\n    uploaders", "operatorPrincipalId: deployer().objectId\n    uploaders"],
    ["an operator role granted to a user", serviceBus, "principalType: 'Group'", "principalType: 'User'"],
    [
      "an operator role even when no group is given",
      storage,
      "resource operatorWritesAudit 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {",
      "resource operatorWritesAudit 'Microsoft.Authorization/roleAssignments@2022-04-01' = {",
    ],
    ["the Cosmos reader even when no group is given", "bicep/modules/cosmos.bicep", "= if (!empty(operatorPrincipalId)) {", "= {"],
  ])("operators: %s", (_what, file, search, replacement) => {
    expect(checkOperatorAccess(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["read added to the dock role", "dataActions: [blobWrite, blobAppend]", "dataActions: [blobWrite, blobAppend, 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read']"],
    ["delete added to the dock role", "dataActions: [blobWrite, blobAppend]", "dataActions: [blobWrite, blobAppend, 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete']"],
    ["a wildcard data action", "dataActions: [blobWrite, blobAppend]", "dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*']"],
    ["a management action", "        actions: []\n", "        actions: ['Microsoft.Storage/storageAccounts/blobServices/containers/write']\n"],
    ["append dropped", "dataActions: [blobWrite, blobAppend]", "dataActions: [blobWrite]"],
    ["assignable in the whole subscription", "assignableScopes: [resourceGroup().id]", "assignableScopes: [subscription().id]"],
    ["a tenant-wide role name", "roleName: 'Custody dock uploader (${resourceGroup().name})'", "roleName: 'Custody dock uploader'"],
    ["the role defined with no docks", "= if (!empty(uploaders)) {", "= {"],
    ["the role by its resource-group-scoped id", "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dockUploaderRole.name)", "roleDefinitionId: dockUploaderRole.id"],
    [
      "docks on the built-in Contributor role",
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dockUploaderRole.name)",
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)",
    ],
    ["the dock role on the whole account", "  scope: originals\n  properties: {\n    // The subscription-level id", "  scope: account\n  properties: {\n    // The subscription-level id"],
    ["no condition version", "conditionVersion: empty(uploader.?pathPrefix ?? '') ? null : '2.0'", "conditionVersion: '1.0'"],
    ["the prefix compared as StringLike", "StringStartsWith \\'${uploader", "StringLike \\'${uploader"],
    ["the condition exempting append", "AND !(ActionMatches{\\'${blobAppend}\\'})", ""],
    ["the condition on the container name instead of the path", "blobServices/containers/blobs:path]", "blobServices/containers:name]"],
  ])("docks: %s", (_what, search, replacement) => {
    expect(checkDockAccess(mutate(files, storage, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["delete added", "dataActions: [blobRead, blobWrite]", "dataActions: [blobRead, blobWrite, blobDelete]"],
    ["add/action added", "dataActions: [blobRead, blobWrite]", "dataActions: [blobRead, blobWrite, blobAppend]"],
    ["a wildcard data action", "dataActions: [blobRead, blobWrite]", "dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*']"],
    [
      "assignable in the whole subscription",
      "    roleName: 'Custody image signer (${resourceGroup().name})'\n    description: 'Read Custody renditions and create the signed copies of a recording\\'s images in their c2pa- folders: no delete, and no write anywhere else.'\n    type: 'CustomRole'\n    assignableScopes: [resourceGroup().id]",
      "    roleName: 'Custody image signer (${resourceGroup().name})'\n    description: 'Read Custody renditions and create the signed copies of a recording\\'s images in their c2pa- folders: no delete, and no write anywhere else.'\n    type: 'CustomRole'\n    assignableScopes: [subscription().id]",
    ],
    ["a tenant-wide role name", "roleName: 'Custody image signer (${resourceGroup().name})'", "roleName: 'Custody image signer'"],
    [
      "the role on the whole account",
      "name: guid(derived.id, appPrincipalId, imageSignerRole.name)\n  scope: derived",
      "name: guid(derived.id, appPrincipalId, imageSignerRole.name)\n  scope: account",
    ],
    ["given to the media identity", "roleDefinitions', imageSignerRole.name)\n    principalId: appPrincipalId", "roleDefinitions', imageSignerRole.name)\n    principalId: mediaPrincipalId"],
    ["no condition", /\n {4}condition: '\(\(!\(ActionMatches\{\\'\$\{blobWrite\}[^\n]*\n {4}conditionVersion: '2.0'/, ""],
    ["writes allowed in every thumbnail folder", "StringLike \\'*/thumbnail/c2pa-*\\'", "StringLike \\'*/thumbnail/*\\'"],
    [
      "the condition on the container name instead of the path",
      "blobServices/containers/blobs:path] StringLike \\'*/thumbnail/c2pa-*",
      "blobServices/containers:name] StringLike \\'*/thumbnail/c2pa-*",
    ],
  ])("image signer: %s", (_what, search, replacement) => {
    expect(checkImageSignerAccess(mutate(files, storage, search, replacement))).not.toEqual([]);
  });

  test("docks: a dock given Contributor anywhere is refused by the role-assignment rules too", () => {
    const mutated = mutate(
      files,
      storage,
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dockUploaderRole.name)",
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)",
    );
    expect(checkRoleAssignments(mutated, noTriggers).some((p) => p.includes("uploader gets storageBlobDataContributor"))).toBe(true);
  });

  test.each([
    ["__accountName (public-cloud DNS only)", "AzureWebJobsStorage__blobServiceUri: hostStorage.properties.primaryEndpoints.blob", "AzureWebJobsStorage__accountName: hostStorage.name"],
    [
      "a queue URI the identity has no role for",
      "    AzureWebJobsStorage__credential: 'managedidentity'\n    AzureWebJobsStorage__clientId: clientId",
      "    AzureWebJobsStorage__credential: 'managedidentity'\n    AzureWebJobsStorage__queueServiceUri: 'x'\n    AzureWebJobsStorage__clientId: clientId",
    ],
    [
      "a URI written by hand",
      "AzureWebJobsStorage__blobServiceUri: mediaHostStorage.properties.primaryEndpoints.blob",
      "AzureWebJobsStorage__blobServiceUri: 'https://${mediaHostStorage.name}.blob.example'",
    ],
  ])("host storage: %s", (_what, search, replacement) => {
    expect(checkHostStorageEndpoints(mutate(files, functions, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["a floor below Flex's 40", main, "@minValue(40)\n@maxValue(1000)\n@description('Upper bound on the core app", "@minValue(1)\n@maxValue(1000)\n@description('Upper bound on the core app"],
    ["no floor on the media app", main, "@minValue(40)\n@maxValue(1000)\n@description('Upper bound on the media app", "@maxValue(1000)\n@description('Upper bound on the media app"],
    ["a ceiling above Flex's 1000", main, "@maxValue(1000)\n@description('Upper bound on the core app", "@maxValue(2000)\n@description('Upper bound on the core app"],
    ["an azd default below the floor", parameters, "${CUSTODY_MAXIMUM_INSTANCE_COUNT=100}", "${CUSTODY_MAXIMUM_INSTANCE_COUNT=10}"],
  ])("instance bounds: %s", (_what, file, search, replacement) => {
    expect(checkInstanceCountBounds(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    [
      "a fixed percentage on the media app",
      functions,
      "'ClientId=${mediaClientId};Authorization=AAD'\n    CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE: string(telemetrySamplingPercentage)",
      "'ClientId=${mediaClientId};Authorization=AAD'\n    CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE: '100'",
    ],
    ["no sampling setting on the core app", functions, /\n {4}CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE: string\(telemetrySamplingPercentage\)/, ""],
    ["an unbounded parameter", main, "@maxValue(100)\n@description('Percentage", "@description('Percentage"],
    ["a sampled default", main, "param telemetrySamplingPercentage int = 100", "param telemetrySamplingPercentage int = 10"],
    [
      "not mapped for azd",
      parameters,
      '"telemetrySamplingPercentage": { "value": "${CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE=100}" }',
      '"telemetrySamplingPercentage": { "value": "${CUSTODY_TELEMETRY_SAMPLING=100}" }',
    ],
  ])("telemetry sampling: %s", (_what, file, search, replacement) => {
    expect(checkTelemetrySampling(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["no predeploy hook", "azure.yaml", "    run: node scripts/await-package-roles.js\n", "    run: echo skipped\n"],
    [
      "the apps created before their host storage roles",
      main,
      "dependsOn: [evidenceStorage, hostStorage, mediaHostStorage, serviceBus, cosmos, monitoring, privateEndpoints]",
      "dependsOn: [evidenceStorage, serviceBus, cosmos, monitoring, privateEndpoints]",
    ],
    ["the media app's assignment not waited for", main, ",${mediaHostStorage.outputs.packageRoleAssignmentId}'", "'"],
    ["the assignment id not output", "bicep/modules/host-storage.bicep", "output packageRoleAssignmentId string = appUsesHostStorage.id", "output packageRoleAssignmentId string = account.id"],
  ])("package role wait: %s", (_what, file, search, replacement) => {
    expect(checkPackageRoleWait(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test("cited paths: a template citing a file that does not exist", () => {
    expect(checkCitedPathsExist(mutate(files, storage, "AUDIT_CONTAINER (shared/adapters/blob-audit-log.ts)", "AUDIT_CONTAINER (cli/audit-log.ts)"))).not.toEqual([]);
    expect(checkCitedPathsExist(mutate(files, functions, "test/deploy/templates.test.ts", "test/deploy/settings.test.ts"))).not.toEqual([]);
  });
});

describe("the predeploy hook's wait (scripts/await-package-roles.js)", () => {
  const minute = 60_000;
  const t0 = Date.parse("2026-12-05T10:00:00Z");

  test("waits until the newest assignment is a propagation window old, then not at all", () => {
    const created = ["2026-12-05T10:00:00Z", "2026-12-05T10:03:00Z"];
    expect(hook.remainingWaitMs(created, t0 + 4 * minute, 10 * minute)).toBe(9 * minute);
    expect(hook.remainingWaitMs(created, t0 + 13 * minute, 10 * minute)).toBe(0);
    expect(hook.remainingWaitMs(created, t0 + 60 * minute, 10 * minute)).toBe(0);
    expect(hook.remainingWaitMs([], t0, 10 * minute)).toBe(0);
    expect(() => hook.remainingWaitMs(["yesterday"], t0, minute)).toThrow(/not a time/);
  });

  test("reads its window and the assignment ids from the environment", () => {
    expect(hook.propagationMsFrom({})).toBe(10 * minute);
    expect(hook.propagationMsFrom({ CUSTODY_ROLE_PROPAGATION_MINUTES: "2.5" })).toBe(2.5 * minute);
    expect(hook.propagationMsFrom({ CUSTODY_ROLE_PROPAGATION_MINUTES: "0" })).toBe(0);
    expect(() => hook.propagationMsFrom({ CUSTODY_ROLE_PROPAGATION_MINUTES: "-1" })).toThrow(/minutes/);
    expect(hook.assignmentIdsFrom({ CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS: " /a/1 ,/b/2," })).toEqual(["/a/1", "/b/2"]);
    expect(hook.assignmentIdsFrom({})).toEqual([]);
  });
});
