/**
 * The deployment's network profile, audit logs, alerts and regulated-tenant options, checked
 * statically (test/deploy/network-checks.ts): each rule on the real templates, then on copies
 * mutated in memory to show it catches the mistake it is for.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { mutate, readDeploymentFiles, REPO_ROOT, type Files } from "./bicep";
import {
  checkAlerts,
  checkAuditLogs,
  checkEventGridTrustedDelivery,
  checkNetworkProfile,
  checkPrivateEndpoints,
  checkPublicAccessClosed,
  checkRegulatedOptions,
  checkVnetIntegration,
} from "./network-checks";

const files: Files = readDeploymentFiles();
const reconcile = { source: readFileSync(path.join(REPO_ROOT, "functions", "reconcile.ts"), "utf8") };

const MAIN = "bicep/main.bicep";
const HOST = "bicep/modules/host-storage.bicep";
const EVIDENCE = "bicep/modules/evidence-storage.bicep";
const SERVICE_BUS = "bicep/modules/servicebus.bicep";
const COSMOS = "bicep/modules/cosmos.bicep";
const FUNCTIONS = "bicep/modules/functions.bicep";
const NETWORK = "bicep/modules/network.bicep";
const ENDPOINTS = "bicep/modules/private-endpoints.bicep";
const EVENT_GRID = "bicep/modules/eventgrid.bicep";
const DIAGNOSTICS = "bicep/modules/diagnostics.bicep";
const ALERTS = "bicep/modules/alerts.bicep";
const KEYS = "bicep/modules/keys.bicep";
const PROTECTION = "bicep/modules/evidence-protection.bicep";

describe("the real templates", () => {
  test("private by default: networkProfile 'private' | 'public-trial', every module follows it, Service Bus Premium when private", () => {
    expect(checkNetworkProfile(files)).toEqual([]);
  });

  test("no public data access when private: host accounts, Cosmos DB, Service Bus disabled; the evidence account denies every network but the trusted Event Grid topic", () => {
    expect(checkPublicAccessClosed(files)).toEqual([]);
  });

  test("Flex Consumption VNet integration: each app in its own subnet delegated to Microsoft.App/environments; the deployment endpoint restricted", () => {
    expect(checkVnetIntegration(files)).toEqual([]);
  });

  test("private endpoints and privatelink DNS zones for both kinds of storage account, Cosmos DB and Service Bus", () => {
    expect(checkPrivateEndpoints(files)).toEqual([]);
  });

  test("Event Grid delivers and dead-letters with its system topic's system-assigned identity, granted before the subscription", () => {
    expect(checkEventGridTrustedDelivery(files)).toEqual([]);
  });

  test("audit logs: blob reads/writes/deletes, Cosmos DB, Service Bus, Event Grid and Key Vault into Log Analytics; audit tables kept at least a year", () => {
    expect(checkAuditLogs(files)).toEqual([]);
  });

  test("alerts: dead-lettered messages, Event Grid dead-letters, immutability and role-assignment changes, recordings waiting too long (read from the reconcile timer's own log line)", () => {
    expect(checkAlerts(files, reconcile)).toEqual([]);
  });

  test("regulated options: customer-managed keys, delete lock, malware scanning on upload, zone redundancy — each a parameter", () => {
    expect(checkRegulatedOptions(files)).toEqual([]);
  });
});

describe("each check catches the mistake it is for (templates mutated in memory)", () => {
  test.each([
    ["public by default", MAIN, "param networkProfile string = 'private'", "param networkProfile string = 'public-trial'"],
    ["a third profile", MAIN, "@allowed(['private', 'public-trial'])", "@allowed(['private', 'public-trial', 'open'])"],
    ["inverted switch", MAIN, "var privateNetwork = networkProfile == 'private'", "var privateNetwork = networkProfile != 'private'"],
    ["Standard when private", MAIN, "skuName: privateNetwork ? 'Premium' : 'Standard'", "skuName: 'Standard'"],
    [
      "a module not told",
      MAIN,
      "    privateNetwork: privateNetwork\n    zoneRedundant: zoneRedundant\n  }\n}\n\nmodule serviceBus",
      "    privateNetwork: false\n    zoneRedundant: zoneRedundant\n  }\n}\n\nmodule serviceBus",
    ],
    ["network always", MAIN, "module network 'modules/network.bicep' = if (privateNetwork) {", "module network 'modules/network.bicep' = {"],
    ["apps start before the endpoints", MAIN, ", monitoring, privateEndpoints]", ", monitoring]"],
  ])("network profile: %s", (_what, file, search, replacement) => {
    expect(checkNetworkProfile(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["host storage public", HOST, "publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'", "publicNetworkAccess: 'Enabled'"],
    ["host firewall open", HOST, "defaultAction: privateNetwork ? 'Deny' : 'Allow'", "defaultAction: 'Allow'"],
    ["Cosmos public", COSMOS, "publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'", "publicNetworkAccess: 'Enabled'"],
    ["Service Bus public", SERVICE_BUS, "publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'", "publicNetworkAccess: 'Enabled'"],
    ["evidence firewall open", EVIDENCE, "          defaultAction: 'Deny'", "          defaultAction: 'Allow'"],
    ["evidence lets an IP range in", EVIDENCE, "          ipRules: map(uploaderIpRanges, range => { value: range, action: 'Allow' })", "          ipRules: [{ value: '0.0.0.0/0', action: 'Allow' }]"],
    ["docks allowed by default", MAIN, "param uploaderIpRanges array = []", "param uploaderIpRanges array = ['0.0.0.0/0']"],
    ["no trusted topic", EVIDENCE, "          resourceAccessRules: [{ tenantId: tenant().tenantId, resourceId: resourceId('Microsoft.EventGrid/systemTopics', eventGridTopicName) }]\n", ""],
    ["no trusted services", EVIDENCE, "          bypass: 'AzureServices'", "          bypass: 'None'"],
    ["Service Bus rules always public", SERVICE_BUS, "    publicNetworkAccess: 'Disabled'\n    defaultAction: 'Deny'", "    publicNetworkAccess: 'Enabled'\n    defaultAction: 'Deny'"],
    ["Service Bus default Allow", SERVICE_BUS, "    defaultAction: 'Deny'", "    defaultAction: 'Allow'"],
    ["Event Grid not trusted", SERVICE_BUS, "trustedServiceAccessEnabled: true", "trustedServiceAccessEnabled: false"],
    [
      "no rule set",
      SERVICE_BUS,
      "resource networkRules 'Microsoft.ServiceBus/namespaces/networkRuleSets@2024-01-01' = if (privateNetwork) {",
      "resource networkRules 'Microsoft.ServiceBus/namespaces/networkRuleSets@2024-01-01' = if (false) {",
    ],
    ["another topic through the firewall", MAIN, "    eventGridTopicName: eventGridTopicName\n    uploaderIpRanges", "    eventGridTopicName: 'evgt-other'\n    uploaderIpRanges"],
  ])("public access: %s", (_what, file, search, replacement) => {
    expect(checkPublicAccessClosed(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    [
      "wrong delegation",
      NETWORK,
      "delegations: [{ name: 'flex-consumption', properties: { serviceName: 'Microsoft.App/environments' } }]",
      "delegations: [{ name: 'flex-consumption', properties: { serviceName: 'Microsoft.Web/serverFarms' } }]",
    ],
    ["subnet too small", NETWORK, "addressPrefix: '${base}.1.0/24'", "addressPrefix: '${base}.1.0/28'"],
    [
      "endpoints in a delegated subnet",
      NETWORK,
      "          privateEndpointNetworkPolicies: 'Disabled'",
      "          privateEndpointNetworkPolicies: 'Disabled'\n          delegations: [{ name: 'x', properties: { serviceName: 'Microsoft.App/environments' } }]",
    ],
    ["core app not integrated", FUNCTIONS, "virtualNetworkSubnetId: privateNetwork ? coreAppSubnetId : null", "virtualNetworkSubnetId: null"],
    ["one subnet for both", FUNCTIONS, "virtualNetworkSubnetId: privateNetwork ? mediaAppSubnetId : null", "virtualNetworkSubnetId: privateNetwork ? coreAppSubnetId : null"],
    ["media app in the core subnet", MAIN, "mediaAppSubnetId: privateNetwork ? network.outputs.mediaAppSubnetId : ''", "mediaAppSubnetId: privateNetwork ? network.outputs.coreAppSubnetId : ''"],
    ["scm open", FUNCTIONS, "scmIpSecurityRestrictionsDefaultAction: privateNetwork ? 'Deny' : 'Allow'", "scmIpSecurityRestrictionsDefaultAction: 'Allow'"],
    ["scm follows the site rules", FUNCTIONS, "scmIpSecurityRestrictionsUseMain: false", "scmIpSecurityRestrictionsUseMain: true"],
    [
      "media app unrestricted",
      FUNCTIONS,
      "    siteConfig: union({ minTlsVersion: '1.2', ftpsState: 'Disabled' }, inboundRestrictions)\n    functionAppConfig: {\n      deployment: {\n        storage: {\n          type: 'blobContainer'\n          value: '${mediaHostStorage",
      "    siteConfig: { minTlsVersion: '1.2', ftpsState: 'Disabled' }\n    functionAppConfig: {\n      deployment: {\n        storage: {\n          type: 'blobContainer'\n          value: '${mediaHostStorage",
    ],
  ])("VNet integration: %s", (_what, file, search, replacement) => {
    expect(checkVnetIntegration(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["no queue endpoint on the media host account", ENDPOINTS, "  { name: mediaHostStorageName, resourceId: resourceId(storageAccount, mediaHostStorageName), groupId: 'queue' }\n", ""],
    ["no Cosmos DB endpoint", ENDPOINTS, "  { name: cosmosAccountName, resourceId: resourceId('Microsoft.DocumentDB/databaseAccounts', cosmosAccountName), groupId: 'Sql' }\n", ""],
    [
      "endpoint on the wrong account",
      ENDPOINTS,
      "{ name: evidenceStorageName, resourceId: resourceId(storageAccount, evidenceStorageName), groupId: 'blob' }",
      "{ name: evidenceStorageName, resourceId: resourceId(storageAccount, coreHostStorageName), groupId: 'blob' }",
    ],
    ["no Service Bus zone", ENDPOINTS, "var groupIds = ['blob', 'queue', 'table', 'Sql', 'namespace']", "var groupIds = ['blob', 'queue', 'table', 'Sql']"],
    ["public zone name", ENDPOINTS, "  table: 'privatelink.table.${storageSuffix}'", "  table: 'table.${storageSuffix}'"],
    ["zones not linked", ENDPOINTS, "    virtualNetwork: { id: vnetId }", "    virtualNetwork: { id: '' }"],
    ["endpoints in an app subnet", MAIN, "subnetId: network.outputs.privateEndpointSubnetId", "subnetId: network.outputs.coreAppSubnetId"],
  ])("private endpoints: %s", (_what, file, search, replacement) => {
    expect(checkPrivateEndpoints(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["user-assigned topic identity", EVENT_GRID, "  identity: { type: 'SystemAssigned' }\n  properties: {\n    source", "  identity: { type: 'UserAssigned' }\n  properties: {\n    source"],
    [
      "delivery without the identity",
      EVENT_GRID,
      "    deliveryWithResourceIdentity: {\n      identity: { type: 'SystemAssigned' }",
      "    deliveryWithResourceIdentity: {\n      identity: { type: 'UserAssigned' }",
    ],
    ["no Send grant", EVENT_GRID, "  scope: blobCreatedQueue\n", "  scope: deadLetterContainer\n"],
    ["subscription does not wait", EVENT_GRID, "dependsOn: [topicSendsBlobCreated, topicWritesDeadLetters]", "dependsOn: [topicSendsBlobCreated]"],
  ])("Event Grid trusted delivery: %s", (_what, file, search, replacement) => {
    expect(checkEventGridTrustedDelivery(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["no blob reads", DIAGNOSTICS, "  { category: 'StorageRead', enabled: true }\n", ""],
    ["evidence blob setting gone", DIAGNOSTICS, "  scope: evidenceBlobService\n", "  scope: evidenceStorage\n"],
    ["no Cosmos data plane", DIAGNOSTICS, "      { category: 'DataPlaneRequests', enabled: true }\n", ""],
    ["no Service Bus runtime audit", DIAGNOSTICS, "serviceBusPremium ? [{ category: 'RuntimeAuditLogs', enabled: true }] : []", "[]"],
    ["no Event Grid delivery failures", DIAGNOSTICS, "logs: [{ category: 'DeliveryFailures', enabled: true }]", "logs: [{ category: 'DeliveryFailures', enabled: false }]"],
    ["Key Vault not logged", DIAGNOSTICS, "logs: [{ category: 'AuditEvent', enabled: true }]", "logs: []"],
    ["elsewhere than the workspace", DIAGNOSTICS, "  scope: cosmos\n  properties: {\n    workspaceId: workspace.id", "  scope: cosmos\n  properties: {\n    workspaceId: ''"],
    ["host accounts not logged", MAIN, "hostStorageNames: [hostStorage.outputs.accountName, mediaHostStorage.outputs.accountName]", "hostStorageNames: [hostStorage.outputs.accountName]"],
    ["blob logs kept 90 days", DIAGNOSTICS, "  'StorageBlobLogs'\n", ""],
    ["total retention fixed", DIAGNOSTICS, "totalRetentionInDays: auditRetentionDays", "totalRetentionInDays: 90"],
    ["a year is not the floor", DIAGNOSTICS, "@minValue(365)\n@maxValue(4383)", "@minValue(30)\n@maxValue(4383)"],
    ["main default below a year", MAIN, "param auditRetentionDays int = 2557", "param auditRetentionDays int = 180"],
  ])("audit logs: %s", (_what, file, search, replacement) => {
    expect(checkAuditLogs(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    [
      "dead-letter threshold",
      ALERTS,
      "          metricName: 'DeadletteredMessages'\n          dimensions: [{ name: 'EntityName', operator: 'Include', values: ['*'] }]\n          operator: 'GreaterThan'\n          threshold: 0",
      "          metricName: 'DeadletteredMessages'\n          dimensions: [{ name: 'EntityName', operator: 'Include', values: ['*'] }]\n          operator: 'GreaterThan'\n          threshold: 10",
    ],
    ["dead letters not per entity", ALERTS, "          dimensions: [{ name: 'EntityName', operator: 'Include', values: ['*'] }]\n", ""],
    ["no Event Grid dead-letter alert", ALERTS, "metricName: 'DeadLetteredCount'", "metricName: 'MatchedEventCount'"],
    ["lock unwatched", ALERTS, "immutabilityPolicies/lock/action'", "immutabilityPolicies/read'"],
    ["role removals unwatched", ALERTS, "'Microsoft.Authorization/roleAssignments/delete'", "'Microsoft.Authorization/roleAssignments/read'"],
    ["query for a line nobody writes", ALERTS, "var reconcileSummary = 'reconcile finished: recordings re-announced or rebuilt'", "var reconcileSummary = 'reconcile: recordings stuck'"],
    ["query ignores the count", ALERTS, "toint(entry.stuck) > 0", "toint(entry.reemitted) > 0"],
    ["query validated on an empty workspace", ALERTS, "    skipQueryValidation: true\n", ""],
  ])("alerts: %s", (_what, file, search, replacement) => {
    expect(checkAlerts(mutate(files, file, search, replacement), reconcile)).not.toEqual([]);
  });

  test("alerts: the reconcile timer stops logging its stuck count", () => {
    expect(checkAlerts(files, { source: reconcile.source.replace(/^\s*stuck: outcome\.scanned\.stuck,\n/m, "") })).not.toEqual([]);
  });

  test.each([
    ["keys always", MAIN, "module keys 'modules/keys.bicep' = if (customerManagedEncryption) {", "module keys 'modules/keys.bicep' = {"],
    ["no purge protection", KEYS, "enablePurgeProtection: true", "enablePurgeProtection: false"],
    ["vault open", KEYS, "networkAcls: { defaultAction: 'Deny'", "networkAcls: { defaultAction: 'Allow'"],
    ["key may sign", KEYS, "keyOps: ['wrapKey', 'unwrapKey']", "keyOps: ['wrapKey', 'unwrapKey', 'sign']"],
    ["no infrastructure encryption", EVIDENCE, "requireInfrastructureEncryption: true", "requireInfrastructureEncryption: false"],
    ["Cosmos without the key", COSMOS, "keyVaultKeyUri: empty(customerManagedKey) ? null : encryptionKey.properties.keyUri", "keyVaultKeyUri: null"],
    ["Cosmos not told", MAIN, "    customerManagedKey: customerManagedKey\n  }\n}\n\nmodule functions", "    customerManagedKey: {}\n  }\n}\n\nmodule functions"],
    ["read-only lock", PROTECTION, "level: 'CanNotDelete'", "level: 'ReadOnly'"],
    ["lock ignores its parameter", MAIN, "deleteLock: evidenceDeleteLock", "deleteLock: false"],
    ["scanning off", PROTECTION, "onUpload: { isEnabled: true", "onUpload: { isEnabled: false"],
    ["host storage always LRS", HOST, "sku: { name: zoneRedundant ? 'Standard_ZRS' : 'Standard_LRS' }", "sku: { name: 'Standard_LRS' }"],
    ["Cosmos single zone", COSMOS, "isZoneRedundant: zoneRedundant", "isZoneRedundant: false"],
    ["plan ignores it", FUNCTIONS, "properties: { reserved: true, zoneRedundant: zoneRedundant }", "properties: { reserved: true }"],
    ["evidence LRS", EVIDENCE, "param skuName string = 'Standard_ZRS'", "param skuName string = 'Standard_LRS'"],
  ])("regulated options: %s", (_what, file, search, replacement) => {
    expect(checkRegulatedOptions(mutate(files, file, search, replacement))).not.toEqual([]);
  });
});
