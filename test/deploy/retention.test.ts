/**
 * Retention in Azure: each rule on the real files (and the real retention schedule), then on
 * copies mutated in memory to show it catches what it is for.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { RETENTION_SCHEDULE } from "../../shared/evidence/retention";
import { mutate, readDeploymentFiles, REPO_ROOT, type Files } from "./bicep";
import { appSettings, azureEnvironment, checkRoleAssignments, checkStorageAndIndexAccessMatchesCode } from "./checks";
import {
  checkDisposalSetting,
  checkLifecycle,
  checkOriginalsDefaultFromSchedule,
  checkProofRetention,
  checkRetentionRoles,
  checkRetentionSenders,
  longestRetentionDays,
  RETENTION_ROLES,
} from "./retention-checks";

const files: Files = readDeploymentFiles();
const scheduleText = readFileSync(path.join(REPO_ROOT, "retention", "schedule.json"), "utf8");
const main = "bicep/main.bicep";
const storage = "bicep/modules/evidence-storage.bicep";
const serviceBus = "bicep/modules/servicebus.bicep";
const functions = "bicep/modules/functions.bicep";
const parameters = "bicep/main.parameters.json";
const noTriggers = { core: new Set<string>(), media: new Set<string>() };

/** The schedule with its JSON changed by `edit`. */
function schedule(edit: (parsed: { defaultCategory: string; categories: Record<string, { retain: Record<string, number> }> }) => void): string {
  const parsed = JSON.parse(scheduleText) as Parameters<typeof edit>[0];
  edit(parsed);
  return JSON.stringify(parsed);
}

describe("the real templates", () => {
  test("originals: the default policy is the schedule's default category's period (31 days), not a parameter", () => {
    expect(checkOriginalsDefaultFromSchedule(files, scheduleText)).toEqual([]);
    // What Bicep computes is what the app starts every recording with.
    const defaultCategory = RETENTION_SCHEDULE.categories[RETENTION_SCHEDULE.defaultCategory];
    expect(defaultCategory.retain).toEqual({ days: 31 });
  });

  test("ledger and audit: kept at least as long as the longest category (the proof outlives the footage)", () => {
    expect(longestRetentionDays(scheduleText)).toBe(3653);
    expect(checkProofRetention(files, scheduleText)).toEqual([]);
  });

  test("the core app: a retention keeper role on originals and a rendition disposer role on derived, exactly the adapter's actions", () => {
    expect(checkRetentionRoles(files)).toEqual([]);
    expect(RETENTION_ROLES.retentionKeeperRole.dataActions).not.toContain("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write");
  });

  test("records officers send releases, case-management systems retention commands, nothing else", () => {
    expect(checkRetentionSenders(files)).toEqual([]);
  });

  test("lifecycle: originals and derived tiered to Cool after the default period and to Cold later, never deleted or archived", () => {
    expect(checkLifecycle(files)).toEqual([]);
  });

  test("disposal: a parameter, on by default, reaching the core app's CUSTODY_DISPOSAL_ENABLED", () => {
    expect(checkDisposalSetting(files)).toEqual([]);
    expect(azureEnvironment(appSettings(files), files).CUSTODY_DISPOSAL_ENABLED).toBe("true");
  });
});

describe("each check catches the mistake it is for (templates mutated in memory)", () => {
  test.each([
    ["a parameter again", main, "originalsDefaultRetentionDays: originalsDefaultRetentionDays\n", "originalsDefaultRetentionDays: proofRetentionDays\n"],
    ["a fixed period", main, "originalsDefaultRetentionDays: originalsDefaultRetentionDays\n", "originalsDefaultRetentionDays: 31\n"],
    ["another category", main, "retentionSchedule.categories[retentionSchedule.defaultCategory].retain.days", "retentionSchedule.categories['evidential'].retain.days"],
    ["the schedule not loaded", main, "loadJsonContent('../retention/schedule.json')", "loadJsonContent('../retention/other.json')"],
    ["the old 7-year parameter back", main, "param originalsPolicyLocked bool = false", "param originalsPolicyLocked bool = false\nparam originalsRetentionDays int = 2557"],
    ["the policy on the proof's period", storage, "immutabilityPeriodSinceCreationInDays: originalsDefaultRetentionDays", "immutabilityPeriodSinceCreationInDays: proofRetentionDays"],
  ])("originals default: %s", (_what, file, search, replacement) => {
    expect(checkOriginalsDefaultFromSchedule(mutate(files, file, search, replacement), scheduleText)).not.toEqual([]);
  });

  test.each([
    ["a default category kept in years (the template reads days)", schedule((s) => (s.categories[s.defaultCategory].retain = { years: 1 }))],
    ["a default category beyond the service's maximum", schedule((s) => (s.categories[s.defaultCategory].retain = { days: 200000 }))],
  ])("originals default: %s", (_what, changed) => {
    expect(checkOriginalsDefaultFromSchedule(files, changed)).not.toEqual([]);
  });

  test.each([
    [
      "the ledger on the originals' default",
      storage,
      "immutabilityPeriodSinceCreationInDays: proofRetentionDays\n    allowProtectedAppendWrites: true",
      "immutabilityPeriodSinceCreationInDays: originalsDefaultRetentionDays\n    allowProtectedAppendWrites: true",
    ],
    [
      "audit fixed",
      storage,
      "  parent: audit\n  name: 'default'\n  properties: {\n    immutabilityPeriodSinceCreationInDays: proofRetentionDays",
      "  parent: audit\n  name: 'default'\n  properties: {\n    immutabilityPeriodSinceCreationInDays: 365",
    ],
    [
      "manifests fixed",
      storage,
      "  parent: manifests\n  name: 'default'\n  properties: {\n    immutabilityPeriodSinceCreationInDays: proofRetentionDays",
      "  parent: manifests\n  name: 'default'\n  properties: {\n    immutabilityPeriodSinceCreationInDays: 365",
    ],
    ["a default shorter than the longest category (the old 7 years)", main, "param proofRetentionDays int = 3653", "param proofRetentionDays int = 2557"],
    ["unbounded", main, "@maxValue(146000)\n@description('Days each custody ledger entry", "@description('Days each custody ledger entry"],
    ["not mapped for azd", parameters, "${CUSTODY_PROOF_RETENTION_DAYS=3653}", "${CUSTODY_PROOF_RETENTION_DAYS=2557}"],
  ])("proof retention: %s", (_what, file, search, replacement) => {
    expect(checkProofRetention(mutate(files, file, search, replacement), scheduleText)).not.toEqual([]);
  });

  test("proof retention: a category longer than the ledger's default", () => {
    expect(
      checkProofRetention(
        files,
        schedule((s) => (s.categories["evidential-serious"].retain = { years: 12 })),
      ),
    ).not.toEqual([]);
  });

  const keeper = "dataActions: [blobRead, blobImmutability, blobDeleteVersion, blobDelete]";
  const disposer = "dataActions: [blobRead, blobDeleteVersion, blobDelete]";
  test.each([
    [
      "write added to the keeper (it could overwrite evidence)",
      keeper,
      "dataActions: [blobRead, blobImmutability, blobDeleteVersion, blobDelete, 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write']",
    ],
    ["append added", keeper, "dataActions: [blobRead, blobImmutability, blobDeleteVersion, blobDelete, 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action']"],
    [
      "permanent delete added",
      keeper,
      "dataActions: [blobRead, blobImmutability, blobDeleteVersion, blobDelete, 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/permanentDelete/action']",
    ],
    ["a wildcard", keeper, "dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*']"],
    ["no right to set policies", keeper, "dataActions: [blobRead, blobDeleteVersion, blobDelete]"],
    ["no right to delete previous versions", keeper, "dataActions: [blobRead, blobImmutability, blobDelete]"],
    ["legal hold's containers/write dropped", "        actions: [containerWrite]\n", "        actions: []\n"],
    ["a management wildcard", "        actions: [containerWrite]\n", "        actions: ['Microsoft.Storage/storageAccounts/blobServices/containers/*']\n"],
    [
      "write added to the disposer (it could replace renditions)",
      disposer,
      "dataActions: [blobRead, blobDeleteVersion, blobDelete, 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write']",
    ],
    ["the disposer unable to delete versions", disposer, "dataActions: [blobRead, blobDelete]"],
    ["assignable in the whole subscription", "    roleName: 'Custody retention keeper (${resourceGroup().name})'\n    description", "    roleName: 'Custody retention keeper'\n    description"],
    [
      "the keeper on the whole account",
      "  scope: originals\n  properties: {\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', retentionKeeperRole.name)",
      "  scope: account\n  properties: {\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', retentionKeeperRole.name)",
    ],
    [
      "the disposer on originals",
      "  scope: derived\n  properties: {\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', renditionDisposerRole.name)",
      "  scope: originals\n  properties: {\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', renditionDisposerRole.name)",
    ],
    [
      "the keeper given to the media app",
      "principalId: appPrincipalId\n    principalType: 'ServicePrincipal'\n    description: 'Core app (index): retention",
      "principalId: mediaPrincipalId\n    principalType: 'ServicePrincipal'\n    description: 'Core app (index): retention",
    ],
    [
      "the keeper only with docks",
      "resource retentionKeeperRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {",
      "resource retentionKeeperRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(uploaders)) {",
    ],
  ])("retention roles: %s", (_what, search, replacement) => {
    expect(checkRetentionRoles(mutate(files, storage, search, replacement))).not.toEqual([]);
  });

  test("retention roles: Data Owner on originals instead is refused by the role-assignment rules", () => {
    const mutated = mutate(
      files,
      storage,
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', retentionKeeperRole.name)",
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)",
    );
    expect(checkRoleAssignments(mutated, noTriggers).some((p) => p.includes("core gets storageBlobDataOwner"))).toBe(true);
    expect(checkRetentionRoles(mutated)).not.toEqual([]);
  });

  test("retention roles: the core app's retention service without the keeper role is refused by the storage rules", () => {
    const mutated = mutate(files, storage, /resource appKeepsOriginals [\s\S]*?\n}\n/, "");
    const used = { core: new Set(["retention", "blobs", "index"]), media: new Set(["media"]) };
    expect(checkStorageAndIndexAccessMatchesCode(mutated, used).some((p) => p.includes("retention keeper"))).toBe(true);
    expect(checkStorageAndIndexAccessMatchesCode(files, { core: new Set(["blobs", "index"]), media: new Set(["media"]) }).some((p) => p.includes("which no function of that app uses"))).toBe(true);
  });

  test.each([
    ["records officers on retention-commands", serviceBus, "  scope: retentionReleases\n", "  scope: retentionCommands\n"],
    [
      "records officers given Data Owner",
      serviceBus,
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)\n    principalId: recordsOfficerPrincipalId",
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)\n    principalId: recordsOfficerPrincipalId",
    ],
    ["records officers as a user", serviceBus, "principalId: recordsOfficerPrincipalId\n    principalType: 'Group'", "principalId: recordsOfficerPrincipalId\n    principalType: 'User'"],
    ["records officers even when no group is given", serviceBus, "= if (!empty(recordsOfficerPrincipalId)) {", "= {"],
    ["case systems allowed to release", serviceBus, "  scope: retentionCommands\n", "  scope: retentionReleases\n"],
    [
      "case systems given Data Owner",
      serviceBus,
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)\n    principalId: caseSystem",
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)\n    principalId: caseSystem",
    ],
    ["the records officers' group defaulting to someone", main, "param recordsOfficerGroupObjectId string = ''", "param recordsOfficerGroupObjectId string = '00000000-0000-0000-0000-000000000000'"],
    ["records officers taken from the operators' group", main, "recordsOfficerPrincipalId: recordsOfficerGroupObjectId", "recordsOfficerPrincipalId: operatorGroupObjectId"],
    ["the group not mapped for azd", parameters, "${CUSTODY_RECORDS_OFFICER_GROUP_ID}", "${AZURE_PRINCIPAL_ID}"],
    [
      "no audit record for a release",
      storage,
      "  scope: audit\n  properties: {\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)\n    principalId: recordsOfficerPrincipalId",
      "  scope: ledger\n  properties: {\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)\n    principalId: recordsOfficerPrincipalId",
    ],
    [
      "the audit grant even without a group",
      storage,
      "resource recordsOfficerWritesAudit 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(recordsOfficerPrincipalId)) {",
      "resource recordsOfficerWritesAudit 'Microsoft.Authorization/roleAssignments@2022-04-01' = {",
    ],
    ["no index read", "bicep/modules/cosmos.bicep", "    principalId: recordsOfficerPrincipalId\n", "    principalId: operatorPrincipalId\n"],
  ])("senders: %s", (_what, file, search, replacement) => {
    expect(checkRetentionSenders(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test("senders: a records officer's Send on another queue is refused by the role-assignment rules", () => {
    const mutated = mutate(files, serviceBus, "  scope: retentionReleases\n", "  scope: retentionCommands\n");
    expect(checkRoleAssignments(mutated, noTriggers).some((p) => p.includes("recordsOfficer gets serviceBusDataSender"))).toBe(true);
  });

  test.each([
    [
      "a delete action on originals",
      "                tierToCold: { daysAfterModificationGreaterThan: tierToColdAfterDays }\n              }\n              version: {",
      "                tierToCold: { daysAfterModificationGreaterThan: tierToColdAfterDays }\n                delete: { daysAfterModificationGreaterThan: 2557 }\n              }\n              version: {",
    ],
    [
      "versions archived",
      "                tierToCold: { daysAfterCreationGreaterThan: tierToColdAfterDays }\n",
      "                tierToCold: { daysAfterCreationGreaterThan: tierToColdAfterDays }\n                tierToArchive: { daysAfterCreationGreaterThan: 365 }\n",
    ],
    ["a rule over the whole account (ledger and audit included)", "filters: { blobTypes: ['blockBlob'], prefixMatch: ['${originalsName}/'] }", "filters: { blobTypes: ['blockBlob'] }"],
    ["a rule on the ledger", "prefixMatch: ['${derivedName}/']", "prefixMatch: ['${ledgerName}/']"],
    ["Cool before the non-evidential footage is disposed of", "var tierToCoolAfterDays = originalsDefaultRetentionDays + 14", "var tierToCoolAfterDays = 7"],
    ["a rule disabled", "          name: 'derived-cooler-tiers'\n          enabled: true", "          name: 'derived-cooler-tiers'\n          enabled: false"],
    ["append blobs included", "filters: { blobTypes: ['blockBlob'], prefixMatch: ['${derivedName}/'] }", "filters: { blobTypes: ['blockBlob', 'appendBlob'], prefixMatch: ['${derivedName}/'] }"],
  ])("lifecycle: %s", (_what, search, replacement) => {
    expect(checkLifecycle(mutate(files, storage, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["fixed off again", functions, "CUSTODY_DISPOSAL_ENABLED: disposalEnabled ? 'true' : 'false'", "CUSTODY_DISPOSAL_ENABLED: 'false'"],
    ["off by default", main, "param disposalEnabled bool = true", "param disposalEnabled bool = false"],
    ["not passed to the apps", main, "    disposalEnabled: disposalEnabled\n", "    disposalEnabled: false\n"],
    ["not mapped for azd", parameters, "${CUSTODY_DISPOSAL_ENABLED=true}", "${CUSTODY_DISPOSAL=true}"],
  ])("disposal: %s", (_what, file, search, replacement) => {
    expect(checkDisposalSetting(mutate(files, file, search, replacement))).not.toEqual([]);
  });
});
