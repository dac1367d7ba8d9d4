/**
 * Rules for the deployment's network profile, audit logs, alerts and regulated-tenant options,
 * as checks over file contents (empty = the rule holds). test/deploy/network.test.ts runs them
 * on the real files and on copies mutated in memory.
 */
import { allDeclarations, objectProperty, params, property, propertyPath, stripComments, type Declaration, type Files } from "./bicep";

const MAIN = "bicep/main.bicep";
const NETWORK = "bicep/modules/network.bicep";
const ENDPOINTS = "bicep/modules/private-endpoints.bicep";
const DIAGNOSTICS = "bicep/modules/diagnostics.bicep";
const ALERTS = "bicep/modules/alerts.bicep";
const KEYS = "bicep/modules/keys.bicep";
const PROTECTION = "bicep/modules/evidence-protection.bicep";
const EVIDENCE = "bicep/modules/evidence-storage.bicep";
const HOST = "bicep/modules/host-storage.bicep";
const SERVICE_BUS = "bicep/modules/servicebus.bicep";
const COSMOS = "bicep/modules/cosmos.bicep";
const FUNCTIONS = "bicep/modules/functions.bicep";
const EVENT_GRID = "bicep/modules/eventgrid.bicep";

const PRIVATE = "privateNetwork ? 'Disabled' : 'Enabled'";

function created(files: Files, file: string, type: string): Declaration[] {
  return allDeclarations(files).filter((d) => d.file === file && d.kind === "resource" && d.type === type && !d.existing);
}

function moduleCalls(files: Files, path: string): Declaration[] {
  return allDeclarations(files).filter((d) => d.file === MAIN && d.kind === "module" && d.type === path);
}

function squash(text: string | undefined): string {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

/** Each module call of `path` in main.bicep passes `expected` for parameter `name`. */
function passes(files: Files, path: string, name: string, expected: string): string[] {
  const calls = moduleCalls(files, path);
  if (calls.length === 0) return [`main.bicep does not call ${path}`];
  return calls.filter((c) => squash(property(objectProperty(c.body, "params") ?? "", name)) !== expected).map((c) => `main.bicep module ${c.symbol}: ${name} is not ${expected}`);
}

// ---------------------------------------------------------------------------------------------
// Private by default

/** networkProfile: 'private' by default, 'public-trial' the only other value, and everything that differs follows from it. */
export function checkNetworkProfile(files: Files): string[] {
  const problems: string[] = [];
  const main = files.get(MAIN) ?? "";
  const profile = params(main).get("networkProfile");
  if (profile?.defaultValue !== "'private'") problems.push(`networkProfile defaults to ${profile?.defaultValue ?? "nothing"}, not 'private'`);
  if (!/@allowed\(\['private', 'public-trial'\]\)\s*\n(?:@description\([^\n]*\)\s*\n)?param networkProfile/.test(stripComments(main)))
    problems.push("networkProfile does not allow exactly 'private' and 'public-trial'");
  if (!/^var privateNetwork = networkProfile == 'private'$/m.test(stripComments(main))) problems.push("privateNetwork is not networkProfile == 'private'");
  for (const path of ["modules/evidence-storage.bicep", "modules/host-storage.bicep", "modules/servicebus.bicep", "modules/cosmos.bicep", "modules/functions.bicep"])
    problems.push(...passes(files, path, "privateNetwork", "privateNetwork"));
  problems.push(...passes(files, "modules/servicebus.bicep", "skuName", "privateNetwork ? 'Premium' : 'Standard'"));
  for (const path of ["modules/network.bicep", "modules/private-endpoints.bicep"]) {
    for (const call of moduleCalls(files, path)) if (call.condition !== "privateNetwork") problems.push(`main.bicep module ${call.symbol} is not conditional on privateNetwork`);
  }
  const functions = moduleCalls(files, "modules/functions.bicep")[0];
  if (!/\bprivateEndpoints\b/.test(property(functions?.body ?? "", "dependsOn") ?? "")) problems.push("the function apps do not wait for the private endpoints they reach their services through");
  return problems;
}

/** Both storage accounts, Cosmos DB and Service Bus: no public data access in the private profile. */
export function checkPublicAccessClosed(files: Files): string[] {
  const problems: string[] = [];
  for (const [file, type] of [
    [HOST, "Microsoft.Storage/storageAccounts"],
    [COSMOS, "Microsoft.DocumentDB/databaseAccounts"],
    [SERVICE_BUS, "Microsoft.ServiceBus/namespaces"],
  ] as const) {
    for (const resource of created(files, file, type)) {
      if (squash(propertyPath(resource.body, "properties.publicNetworkAccess")) !== PRIVATE) problems.push(`${file} ${resource.symbol}: publicNetworkAccess is not ${PRIVATE}`);
    }
  }
  const host = created(files, HOST, "Microsoft.Storage/storageAccounts")[0];
  if (!/defaultAction: privateNetwork \? 'Deny'/.test(squash(propertyPath(host?.body ?? "", "properties.networkAcls")))) problems.push("host storage: firewall default is not Deny when private");
  // The evidence account: public endpoint on, but no network allowed — only the trusted Event Grid topic.
  const evidence = created(files, EVIDENCE, "Microsoft.Storage/storageAccounts")[0];
  const acls = squash(propertyPath(evidence?.body ?? "", "properties.networkAcls"));
  const privateBranch = /^privateNetwork \? \{(.*?)\} : \{/.exec(acls)?.[1] ?? "";
  if (!/defaultAction: 'Deny'/.test(privateBranch)) problems.push("evidence storage: firewall default is not Deny when private");
  // IP ranges: the docking stations' own parameter only; networks: none.
  if (!/ipRules: map\(uploaderIpRanges, range => \{ value: range, action: 'Allow' \}\) /.test(privateBranch) || !/virtualNetworkRules: \[\]/.test(privateBranch))
    problems.push("evidence storage: the private firewall lets IP ranges (other than uploaderIpRanges) or networks in");
  if (params(files.get(EVIDENCE) ?? "").get("uploaderIpRanges")?.defaultValue !== "[]" || params(files.get(MAIN) ?? "").get("uploaderIpRanges")?.defaultValue !== "[]")
    problems.push("uploaderIpRanges does not default to none");
  if (!/bypass: 'AzureServices'/.test(privateBranch)) problems.push("evidence storage: no trusted-services bypass (Event Grid dead-lettering)");
  if (!/resourceAccessRules: \[\{ tenantId: tenant\(\)\.tenantId, resourceId: resourceId\('Microsoft\.EventGrid\/systemTopics', eventGridTopicName\) \}\]/.test(privateBranch))
    problems.push("evidence storage: the resource instance rule does not name the Event Grid system topic");
  if (squash(propertyPath(evidence?.body ?? "", "properties.allowSharedKeyAccess")) !== "false") problems.push("evidence storage: shared keys would pass the trusted path");
  problems.push(...passes(files, "modules/evidence-storage.bicep", "eventGridTopicName", "eventGridTopicName"));
  problems.push(...passes(files, "modules/eventgrid.bicep", "topicName", "eventGridTopicName"));
  // Service Bus: the network rule set — no public access, default Deny, Event Grid as a trusted service.
  const rules = created(files, SERVICE_BUS, "Microsoft.ServiceBus/namespaces/networkRuleSets")[0];
  if (!rules) problems.push("Service Bus has no network rule set");
  else {
    if (rules.condition !== "privateNetwork") problems.push("the Service Bus network rule set is not the private profile's");
    for (const [key, expected] of [
      ["properties.publicNetworkAccess", "'Disabled'"],
      ["properties.defaultAction", "'Deny'"],
      ["properties.trustedServiceAccessEnabled", "true"],
      ["properties.ipRules", "[]"],
      ["properties.virtualNetworkRules", "[]"],
    ] as const)
      if (squash(propertyPath(rules.body, key)) !== expected) problems.push(`Service Bus network rule set: ${key} is not ${expected}`);
  }
  return problems;
}

/** Flex Consumption VNet integration: each app in its own delegated subnet; the deployment endpoint restricted. */
export function checkVnetIntegration(files: Files): string[] {
  const problems: string[] = [];
  const vnet = created(files, NETWORK, "Microsoft.Network/virtualNetworks")[0];
  if (!vnet) return ["no virtual network"];
  const subnets = squash(propertyPath(vnet.body, "properties.subnets"));
  for (const name of ["snet-core-app", "snet-media-app"]) {
    const subnet = new RegExp(`name: '${name}' properties: \\{ addressPrefix: '[^']*/(\\d+)' delegations: \\[\\{ name: '[^']+', properties: \\{ serviceName: '([^']+)' \\} \\}\\] \\}`).exec(subnets);
    if (!subnet) problems.push(`${name}: no subnet with one delegation`);
    else {
      if (subnet[2] !== "Microsoft.App/environments") problems.push(`${name} is delegated to ${subnet[2]}, not Microsoft.App/environments (Flex Consumption)`);
      if (Number(subnet[1]) > 27) problems.push(`${name} is a /${subnet[1]}: Flex Consumption needs at least a /27`);
    }
  }
  if (!/name: 'snet-private-endpoints' properties: \{ addressPrefix: '[^']+' privateEndpointNetworkPolicies: 'Disabled' \}/.test(subnets))
    problems.push("the private endpoint subnet is missing, delegated, or carries more than endpoints");
  const sites = created(files, FUNCTIONS, "Microsoft.Web/sites");
  const subnetParams = sites.map((site) => /^privateNetwork \? (\w+) : null$/.exec(squash(propertyPath(site.body, "properties.virtualNetworkSubnetId")))?.[1]);
  if (sites.length !== 2 || subnetParams.some((p) => p === undefined)) problems.push("a function app is not VNet-integrated in the private profile");
  else if (subnetParams[0] === subnetParams[1]) problems.push("both apps share one subnet");
  for (const [param, output] of [
    ["coreAppSubnetId", "network.outputs.coreAppSubnetId"],
    ["mediaAppSubnetId", "network.outputs.mediaAppSubnetId"],
  ])
    problems.push(...passes(files, "modules/functions.bicep", param, `privateNetwork ? ${output} : ''`));
  for (const site of sites)
    if (squash(propertyPath(site.body, "properties.siteConfig")) !== "union({ minTlsVersion: '1.2', ftpsState: 'Disabled' }, inboundRestrictions)")
      problems.push(`${site.symbol}: siteConfig is not the shared inbound restrictions`);
  const functions = stripComments(files.get(FUNCTIONS) ?? "");
  for (const line of [
    "ipSecurityRestrictionsDefaultAction: privateNetwork ? 'Deny' : 'Allow'",
    "scmIpSecurityRestrictionsDefaultAction: privateNetwork ? 'Deny' : 'Allow'",
    "scmIpSecurityRestrictionsUseMain: false",
    "scmIpSecurityRestrictions: privateNetwork ? scmAllowRules : []",
  ])
    if (!functions.includes(line)) problems.push(`functions.bicep: the deployment endpoint is not restricted (${line})`);
  if (!/var scmAllowRules = \[for \(range, i\) in deploymentAllowedIpRanges: \{.*ipAddress: range, action: 'Allow'/.test(functions))
    problems.push("functions.bicep: the scm allow-list is not deploymentAllowedIpRanges");
  return problems;
}

/** What must have a private endpoint, by resource and sub-resource (groupId). */
export const REQUIRED_PRIVATE_ENDPOINTS = [
  "evidenceStorageName blob",
  "coreHostStorageName blob",
  "coreHostStorageName queue",
  "coreHostStorageName table",
  "mediaHostStorageName blob",
  "mediaHostStorageName queue",
  "mediaHostStorageName table",
  "cosmosAccountName Sql",
  "serviceBusNamespaceName namespace",
];

export function checkPrivateEndpoints(files: Files): string[] {
  const problems: string[] = [];
  const text = stripComments(files.get(ENDPOINTS) ?? "");
  const listed = [...text.matchAll(/\{ name: (\w+), resourceId: resourceId\((?:'[^']+'|storageAccount), (\w+)\), groupId: '(\w+)' \}/g)].map((m) => ({
    entry: `${m[1]} ${m[3]}`,
    sameName: m[1] === m[2],
  }));
  for (const required of REQUIRED_PRIVATE_ENDPOINTS) if (!listed.some((l) => l.entry === required)) problems.push(`no private endpoint for ${required}`);
  for (const l of listed) if (!l.sameName) problems.push(`private endpoint ${l.entry}: named after one resource, pointing at another`);
  const groupIds = /^var groupIds = \[([^\]]*)\]$/m.exec(text)?.[1] ?? "";
  const zoneKeys = /var zoneNames = \{([\s\S]*?)\n\}/.exec(text)?.[1] ?? "";
  for (const groupId of new Set(REQUIRED_PRIVATE_ENDPOINTS.map((r) => r.split(" ")[1]))) {
    if (!groupIds.includes(`'${groupId}'`)) problems.push(`no private DNS zone created for ${groupId}`);
    if (!new RegExp(`\\b${groupId}: 'privatelink\\.`).test(zoneKeys)) problems.push(`the ${groupId} zone is not a privatelink zone`);
  }
  const pe = created(files, ENDPOINTS, "Microsoft.Network/privateEndpoints")[0];
  if (pe?.loop !== "endpoint in endpoints") problems.push("private endpoints are not created for every entry");
  if (squash(propertyPath(pe?.body ?? "", "properties.subnet")) !== "{ id: subnetId }") problems.push("private endpoints are not in the endpoint subnet");
  const groups = created(files, ENDPOINTS, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")[0];
  if (!groups || !/zoneNames\[endpoint\.groupId\]/.test(groups.body)) problems.push("private endpoints do not register in their zone");
  const links = created(files, ENDPOINTS, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")[0];
  if (squash(propertyPath(links?.body ?? "", "properties.virtualNetwork")) !== "{ id: vnetId }") problems.push("the private DNS zones are not linked to the network");
  problems.push(...passes(files, "modules/private-endpoints.bicep", "subnetId", "network.outputs.privateEndpointSubnetId"));
  return problems;
}

/** Event Grid through the trusted-services exception: its system topic's system-assigned identity, granted here, used for delivery and dead-lettering. */
export function checkEventGridTrustedDelivery(files: Files): string[] {
  const problems: string[] = [];
  const topic = created(files, EVENT_GRID, "Microsoft.EventGrid/systemTopics")[0];
  if (squash(property(topic?.body ?? "", "identity")) !== "{ type: 'SystemAssigned' }")
    problems.push("the system topic has no system-assigned identity (the one Service Bus's trusted-services exception recognises)");
  const subscription = created(files, EVENT_GRID, "Microsoft.EventGrid/systemTopics/eventSubscriptions")[0];
  const props = objectProperty(subscription?.body ?? "", "properties") ?? "";
  for (const key of ["deliveryWithResourceIdentity", "deadLetterWithResourceIdentity"])
    if (squash(propertyPath(props, `${key}.identity`)) !== "{ type: 'SystemAssigned' }") problems.push(`${key} does not use the topic's system-assigned identity`);
  const grants = created(files, EVENT_GRID, "Microsoft.Authorization/roleAssignments").filter((g) => squash(propertyPath(g.body, "properties.principalId")) === "topic.identity.principalId");
  const scopes = grants.map((g) => squash(property(g.body, "scope")));
  for (const scope of ["blobCreatedQueue", "deadLetterContainer"]) if (!scopes.includes(scope)) problems.push(`the topic's identity is not granted on ${scope}`);
  const waits = property(subscription?.body ?? "", "dependsOn") ?? "";
  for (const grant of grants) if (!waits.includes(grant.symbol)) problems.push(`the subscription does not wait for ${grant.symbol}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Audit logs

/** The tables that must outlive the workspace default (at least a year). */
export const AUDIT_TABLES = [
  "StorageBlobLogs",
  "CDBDataPlaneRequests",
  "CDBControlPlaneRequests",
  "AZMSOperationalLogs",
  "AZMSRunTimeAuditLogs",
  "AegDeliveryFailureLogs",
  "AzureActivity",
  "AppTraces",
];

/** Each kind of data resource the templates create → the log categories its diagnostic setting must send. */
const REQUIRED_LOGS: Array<{ type: string; scopeType: string; categories: string[] }> = [
  { type: "Microsoft.Storage/storageAccounts", scopeType: "Microsoft.Storage/storageAccounts/blobServices", categories: ["StorageRead", "StorageWrite", "StorageDelete"] },
  { type: "Microsoft.DocumentDB/databaseAccounts", scopeType: "Microsoft.DocumentDB/databaseAccounts", categories: ["DataPlaneRequests", "ControlPlaneRequests"] },
  { type: "Microsoft.ServiceBus/namespaces", scopeType: "Microsoft.ServiceBus/namespaces", categories: ["OperationalLogs", "RuntimeAuditLogs"] },
  { type: "Microsoft.EventGrid/systemTopics", scopeType: "Microsoft.EventGrid/systemTopics", categories: ["DeliveryFailures"] },
  { type: "Microsoft.KeyVault/vaults", scopeType: "Microsoft.KeyVault/vaults", categories: ["AuditEvent"] },
];

export function checkAuditLogs(files: Files): string[] {
  const problems: string[] = [];
  const all = allDeclarations(files);
  const diagnostics = all.filter((d) => d.file === DIAGNOSTICS);
  const source = stripComments(files.get(DIAGNOSTICS) ?? "");
  const settings = diagnostics.filter((d) => d.type === "Microsoft.Insights/diagnosticSettings");
  for (const rule of REQUIRED_LOGS) {
    if (!all.some((d) => d.kind === "resource" && !d.existing && d.type === rule.type)) continue;
    const scoped = settings.filter((s) => diagnostics.find((d) => d.symbol === /^(\w+)/.exec(squash(property(s.body, "scope")))?.[1])?.type === rule.scopeType);
    if (scoped.length === 0) {
      problems.push(`no diagnostic setting on ${rule.scopeType}`);
      continue;
    }
    for (const setting of scoped) {
      let logs = squash(propertyPath(setting.body, "properties.logs"));
      const viaVar = new RegExp(`^var ${logs} = \\[([\\s\\S]*?)\\n\\]`, "m").exec(source);
      if (viaVar) logs = viaVar[1];
      for (const category of rule.categories) if (!new RegExp(`category: '${category}', enabled: true`).test(logs)) problems.push(`${setting.symbol}: ${category} is not sent`);
      if (squash(propertyPath(setting.body, "properties.workspaceId")) !== "workspace.id") problems.push(`${setting.symbol}: not sent to the workspace`);
    }
  }
  // The evidence account's blob service by name (the chain of custody's reads), and every host account too.
  const evidenceBlob = diagnostics.find((d) => d.type === "Microsoft.Storage/storageAccounts/blobServices" && squash(property(d.body, "parent")) === "evidenceStorage");
  if (!evidenceBlob || !settings.some((s) => squash(property(s.body, "scope")) === evidenceBlob.symbol)) problems.push("no diagnostic setting on the evidence account's blob service");
  const hostLoop = settings.find((s) => s.symbol === "hostBlobDiagnostics");
  if (hostLoop?.loop !== "(name, i) in hostStorageNames") problems.push("the host accounts' blob logs are not collected");
  problems.push(...passes(files, "modules/diagnostics.bicep", "hostStorageNames", "[hostStorage.outputs.accountName, mediaHostStorage.outputs.accountName]"));
  // Retention: table-level, at least a year.
  const tablesVar = /^var auditTables = \[([\s\S]*?)\n\]/m.exec(source)?.[1] ?? "";
  for (const table of AUDIT_TABLES) if (!tablesVar.includes(`'${table}'`)) problems.push(`audit table ${table} keeps only the workspace default`);
  const tables = diagnostics.find((d) => d.type === "Microsoft.OperationalInsights/workspaces/tables");
  if (tables?.loop !== "table in auditTables" || squash(propertyPath(tables.body, "properties.totalRetentionInDays")) !== "auditRetentionDays")
    problems.push("the audit tables' total retention is not auditRetentionDays");
  const minimum = /@minValue\((\d+)\)\s*\n@maxValue\(\d+\)\s*\n(?:@description\([^\n]*\)\s*\n)?param auditRetentionDays int/.exec(source)?.[1];
  if (Number(minimum) < 365 || minimum === undefined) problems.push(`auditRetentionDays may be below a year (minimum ${minimum ?? "none"})`);
  const mainDefault = Number(params(files.get(MAIN) ?? "").get("auditRetentionDays")?.defaultValue);
  if (!(mainDefault >= 365)) problems.push("main.bicep's auditRetentionDays default is below a year");
  problems.push(...passes(files, "modules/diagnostics.bicep", "auditRetentionDays", "auditRetentionDays"));
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Alerts

export interface ReconcileLog {
  /** functions/reconcile.ts */
  source: string;
}

export function checkAlerts(files: Files, reconcile: ReconcileLog): string[] {
  const problems: string[] = [];
  const declared = allDeclarations(files).filter((d) => d.file === ALERTS && !d.existing);
  const metric = (name: string, namespace: string, scope: string): void => {
    const alert = declared.find((d) => d.type === "Microsoft.Insights/metricAlerts" && new RegExp(`metricName: '${name}'`).test(d.body));
    if (!alert) return void problems.push(`no metric alert on ${name}`);
    const criteria = squash(propertyPath(alert.body, "properties.criteria"));
    if (!criteria.includes(`metricNamespace: '${namespace}'`) || !/operator: 'GreaterThan' threshold: 0 /.test(criteria)) problems.push(`${alert.symbol}: not ${name} > 0 on ${namespace}`);
    if (squash(propertyPath(alert.body, "properties.scopes")) !== `[${scope}.id]`) problems.push(`${alert.symbol}: not scoped to ${scope}`);
    if (squash(propertyPath(alert.body, "properties.enabled")) !== "true") problems.push(`${alert.symbol}: disabled`);
  };
  metric("DeadletteredMessages", "Microsoft.ServiceBus/namespaces", "namespace");
  const deadLetters = declared.find((d) => /metricName: 'DeadletteredMessages'/.test(d.body));
  if (deadLetters && !/dimensions: \[\{ name: 'EntityName', operator: 'Include', values: \['\*'\] \}\]/.test(deadLetters.body)) problems.push("the dead-letter alert is not split by entity");
  metric("DeadLetteredCount", "Microsoft.EventGrid/systemTopics", "topic");
  const activity = declared.filter((d) => d.type === "Microsoft.Insights/activityLogAlerts");
  const watched = activity.flatMap((a) => [...a.body.matchAll(/field: 'operationName', equals: '([^']+)'/g)].map((m) => m[1]));
  for (const operation of [
    "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/delete",
    "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/lock/action",
    "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/extend/action",
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleAssignments/delete",
  ])
    if (!watched.includes(operation)) problems.push(`no activity log alert on ${operation}`);
  for (const a of activity) if (squash(propertyPath(a.body, "properties.enabled")) !== "true") problems.push(`${a.symbol}: disabled`);
  // Recordings waiting too long: the query must read the line the reconcile timer writes.
  const source = stripComments(files.get(ALERTS) ?? "");
  const summary = /^var reconcileSummary = '([^']+)'$/m.exec(source)?.[1];
  const logged = /context\.log\.warn\("([^"]+)", counts\)/.exec(reconcile.source)?.[1];
  if (summary === undefined || summary !== logged) problems.push(`the waiting-too-long query looks for "${summary ?? "?"}", but functions/reconcile.ts logs "${logged ?? "?"}"`);
  const counts = /const counts = \{([\s\S]*?)\};/.exec(reconcile.source)?.[1] ?? "";
  if (!/^\s*stuck:/m.test(counts)) problems.push("functions/reconcile.ts's summary has no `stuck` count for the query to read");
  const query = /^var waitingTooLongQuery = '(.+)'$/m.exec(source)?.[1] ?? "";
  if (!/toint\(entry\.stuck\) > 0/.test(query) || !query.startsWith("AppTraces")) problems.push("the waiting-too-long query does not count stuck recordings in AppTraces");
  const rule = declared.find((d) => d.type === "Microsoft.Insights/scheduledQueryRules");
  if (!rule || !/query: waitingTooLongQuery/.test(rule.body)) problems.push("no scheduled query alert runs the waiting-too-long query");
  // AppTraces is empty until the apps first log: validating the query would fail the first deployment.
  else if (squash(propertyPath(rule.body, "properties.skipQueryValidation")) !== "true")
    problems.push("the waiting-too-long rule validates its query against a workspace that has no AppTraces rows yet");
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Regulated options

export function checkRegulatedOptions(files: Files): string[] {
  const problems: string[] = [];
  const main = files.get(MAIN) ?? "";
  for (const name of ["customerManagedEncryption", "evidenceDeleteLock", "malwareScanningOnUpload", "zoneRedundant"]) {
    if (params(main).get(name)?.type !== "bool") problems.push(`main.bicep has no bool parameter ${name}`);
  }
  // Customer-managed keys.
  const keysCall = moduleCalls(files, "modules/keys.bicep")[0];
  if (keysCall?.condition !== "customerManagedEncryption") problems.push("the key module is not conditional on customerManagedEncryption");
  const vault = created(files, KEYS, "Microsoft.KeyVault/vaults")[0];
  for (const [key, expected] of [
    ["properties.enablePurgeProtection", "true"],
    ["properties.enableSoftDelete", "true"],
    ["properties.enableRbacAuthorization", "true"],
    ["properties.networkAcls.defaultAction", "'Deny'"],
  ] as const)
    if (squash(propertyPath(vault?.body ?? "", key)) !== expected) problems.push(`key vault: ${key} is not ${expected}`);
  const key = created(files, KEYS, "Microsoft.KeyVault/vaults/keys")[0];
  if (squash(propertyPath(key?.body ?? "", "properties.keyOps")) !== "['wrapKey', 'unwrapKey']") problems.push("the key may do more than wrap and unwrap");
  const evidence = created(files, EVIDENCE, "Microsoft.Storage/storageAccounts")[0];
  const encryption = squash(propertyPath(evidence?.body ?? "", "properties.encryption"));
  for (const part of ["requireInfrastructureEncryption: true", "keySource: 'Microsoft.Keyvault'", "identity: { userAssignedIdentity: customerManagedKey.identityId }"])
    if (!encryption.includes(part)) problems.push(`evidence storage encryption lacks ${part}`);
  if (!/^empty\(customerManagedKey\) \? null : \{/.test(encryption)) problems.push("evidence storage encryption does not follow the option");
  const cosmos = created(files, COSMOS, "Microsoft.DocumentDB/databaseAccounts")[0];
  if (squash(propertyPath(cosmos?.body ?? "", "properties.keyVaultKeyUri")) !== "empty(customerManagedKey) ? null : encryptionKey.properties.keyUri")
    problems.push("Cosmos DB is not created with the customer-managed key");
  if (!/UserAssignedIdentity=\$\{customerManagedKey\.identityId\}/.test(propertyPath(cosmos?.body ?? "", "properties.defaultIdentity") ?? ""))
    problems.push("Cosmos DB does not read the key with the encryption identity");
  for (const path of ["modules/evidence-storage.bicep", "modules/cosmos.bicep"]) problems.push(...passes(files, path, "customerManagedKey", "customerManagedKey"));
  // Lock and malware scanning.
  const protection = moduleCalls(files, "modules/evidence-protection.bicep")[0];
  if (!protection) problems.push("main.bicep does not call evidence-protection.bicep");
  problems.push(...passes(files, "modules/evidence-protection.bicep", "deleteLock", "evidenceDeleteLock"));
  problems.push(...passes(files, "modules/evidence-protection.bicep", "malwareScanning", "malwareScanningOnUpload"));
  const lock = created(files, PROTECTION, "Microsoft.Authorization/locks")[0];
  if (lock?.condition !== "deleteLock" || squash(propertyPath(lock.body, "properties.level")) !== "'CanNotDelete'" || squash(property(lock.body, "scope")) !== "account")
    problems.push("no CanNotDelete lock on the evidence account when asked");
  const defender = created(files, PROTECTION, "Microsoft.Security/defenderForStorageSettings")[0];
  if (
    defender?.condition !== "malwareScanning" ||
    squash(propertyPath(defender.body, "properties.malwareScanning.onUpload.isEnabled")) !== "true" ||
    squash(property(defender.body, "scope")) !== "account"
  )
    problems.push("no on-upload malware scanning of the evidence account when asked");
  // Zone redundancy.
  for (const path of ["modules/host-storage.bicep", "modules/servicebus.bicep", "modules/cosmos.bicep", "modules/functions.bicep"])
    problems.push(...passes(files, path, "zoneRedundant", "zoneRedundant"));
  const host = created(files, HOST, "Microsoft.Storage/storageAccounts")[0];
  if (squash(property(host?.body ?? "", "sku")) !== "{ name: zoneRedundant ? 'Standard_ZRS' : 'Standard_LRS' }") problems.push("host storage ignores zoneRedundant");
  if (!/isZoneRedundant: zoneRedundant/.test(propertyPath(cosmos?.body ?? "", "properties.locations") ?? "")) problems.push("Cosmos DB ignores zoneRedundant");
  for (const plan of created(files, FUNCTIONS, "Microsoft.Web/serverfarms"))
    if (squash(property(plan.body, "properties")) !== "{ reserved: true, zoneRedundant: zoneRedundant }") problems.push(`${plan.symbol} ignores zoneRedundant`);
  const namespace = created(files, SERVICE_BUS, "Microsoft.ServiceBus/namespaces")[0];
  if (squash(propertyPath(namespace?.body ?? "", "properties.zoneRedundant")) !== "skuName == 'Premium' && zoneRedundant") problems.push("Service Bus ignores zoneRedundant");
  const evidenceSku = params(files.get(EVIDENCE) ?? "").get("skuName")?.defaultValue;
  if (evidenceSku !== "'Standard_ZRS'") problems.push(`the evidence account is ${evidenceSku ?? "?"}, not zone-redundant`);
  return problems;
}
