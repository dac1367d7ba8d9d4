/**
 * The deployment's rules as checks over file contents: each returns the problems it finds
 * (empty = the rule holds). The tests run them on the real files, and on copies mutated in
 * memory to show that each check catches what it is for.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import {
  allDeclarations,
  bicepFiles,
  loadedFiles,
  literal,
  matchingBracket,
  objectProperty,
  outputs,
  params,
  property,
  propertyPath,
  REPO_ROOT,
  resolveName,
  stripComments,
  topLevelEntries,
  vars,
  type Declaration,
  type Files,
} from "./bicep";

// ---------------------------------------------------------------------------------------------
// Roles

/**
 * Built-in role definition ids, as published in "Azure built-in roles" (learn.microsoft.com/
 * azure/role-based-access-control/built-in-roles): the only roles the templates may use.
 */
export const KNOWN_ROLES: Record<string, string> = {
  storageBlobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  storageBlobDataOwner: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
  storageBlobDelegator: "db58b8e5-c6ad-4a2a-8342-4190687cbf4a",
  serviceBusDataReceiver: "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
  serviceBusDataSender: "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
  serviceBusDataOwner: "090c5cfd-751d-490a-894a-3ce6f1109419",
  monitoringMetricsPublisher: "3913510d-42f4-4e42-8a64-420c390055eb",
  keyVaultCryptoServiceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
};

/** Roles that grant management or role-assignment rights: never assigned by these templates. */
export const FORBIDDEN_ROLES: Record<string, string> = {
  "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
  "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
  "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
  "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
  "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
};

/** Cosmos DB data-plane built-in role definitions (sqlRoleDefinitions, the same ids in every account). */
export const COSMOS_DATA_READER = "00000000-0000-0000-0000-000000000001";
export const COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002";

/** The two Function apps' identities, by the names service-bus-access.json and functions/app-roles.ts use. */
export const APP_IDENTITIES = ["core", "media"] as const;
export type AppIdentity = (typeof APP_IDENTITIES)[number];

/** `hostedApp`: host-storage.bicep's one parameter, the identity of whichever app the account hosts (main.bicep wires each; checkAppIdentities checks it). */
type Principal = AppIdentity | "hostedApp" | "eventGrid" | "operator" | "uploader" | "encryption" | "recordsOfficer" | "caseSystem";

/** Per app identity: the entities its functions are triggered by (`queue blob-created`, `subscription evidence-received/hash`). */
export type TriggersByIdentity = Record<AppIdentity, ReadonlySet<string>>;

interface Grant {
  principal: Principal;
  role: string;
  /** Resource type the assignment is scoped to. */
  scopeType: string;
  /** The scoped resource's name, when it is a literal (or a var holding one). */
  scopeName?: string;
  /** The Service Bus entity, as `queue blob-created` / `subscription evidence-received/hash`, when known (literal scope or service-bus-access.json entry). */
  entity?: string;
  file: string;
}

/** A rule of ALLOWED_GRANTS; `triggersOnly`: the scoped entity must be one a function of that identity's app is triggered by. */
type AllowedGrant = Partial<Grant> & { triggersOnly?: boolean; why: string };

const CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers";
/** A grant of a custom role is named `custom:<symbol of its roleDefinitions resource>`. */
export const CUSTOM_ROLE = "custom:";
const QUEUES = "Microsoft.ServiceBus/namespaces/queues";
const TOPICS = "Microsoft.ServiceBus/namespaces/topics";
const SUBSCRIPTIONS = "Microsoft.ServiceBus/namespaces/topics/subscriptions";

/**
 * Who may get what, where. Anything else is broader than the code needs. Service Bus entity
 * roles of the apps come from bicep/service-bus-access.json and are checked against the code,
 * per app, separately (checkServiceBusAccessMatchesCode). The media identity — the code that
 * parses untrusted video — gets no index access, and Send on media-results only.
 */
const ALLOWED_GRANTS: AllowedGrant[] = [
  { principal: "core", role: "storageBlobDataReader", scopeType: CONTAINERS, scopeName: "originals", why: "ingest, hash, fixity and reconcile read originals" },
  { principal: "core", role: "serviceBusDataReceiver", scopeType: QUEUES, why: "queue-triggered functions" },
  { principal: "core", role: "serviceBusDataSender", scopeType: QUEUES, why: "hash and fixity results, re-sent BlobCreated events" },
  { principal: "core", role: "serviceBusDataSender", scopeType: TOPICS, why: "evidence-received, evidence-ready" },
  { principal: "core", role: "serviceBusDataReceiver", scopeType: SUBSCRIPTIONS, why: "subscription-triggered functions" },
  // Owner on the one entity a function is triggered by: the Functions scale monitor reads its
  // message count through the management endpoint (Manage claim). Never a topic or the namespace.
  { principal: "core", role: "serviceBusDataOwner", scopeType: QUEUES, triggersOnly: true, why: "queue trigger + target-based scaling" },
  { principal: "core", role: "serviceBusDataOwner", scopeType: SUBSCRIPTIONS, triggersOnly: true, why: "subscription trigger + target-based scaling" },
  { principal: "core", role: "monitoringMetricsPublisher", scopeType: "Microsoft.Insights/components", why: "telemetry with Entra ID" },
  { principal: "media", role: "storageBlobDataReader", scopeType: CONTAINERS, scopeName: "originals", why: "media stages read originals" },
  { principal: "media", role: "storageBlobDataContributor", scopeType: CONTAINERS, scopeName: "derived", why: "media stages write renditions" },
  { principal: "media", role: "storageBlobDelegator", scopeType: "Microsoft.Storage/storageAccounts", file: "bicep/modules/evidence-storage.bicep", why: "user-delegation SAS for ffmpeg reads" },
  { principal: "media", role: "serviceBusDataSender", scopeType: QUEUES, entity: "queue media-results", why: "transcode and thumbnail results: the media app's only Send" },
  { principal: "media", role: "serviceBusDataReceiver", scopeType: SUBSCRIPTIONS, why: "subscription-triggered functions" },
  { principal: "media", role: "serviceBusDataOwner", scopeType: QUEUES, triggersOnly: true, why: "queue trigger (the index's segment and join orders) + target-based scaling" },
  { principal: "media", role: "serviceBusDataOwner", scopeType: SUBSCRIPTIONS, triggersOnly: true, why: "subscription trigger + target-based scaling" },
  { principal: "media", role: "monitoringMetricsPublisher", scopeType: "Microsoft.Insights/components", why: "telemetry with Entra ID" },
  {
    principal: "hostedApp",
    role: "storageBlobDataOwner",
    scopeType: "Microsoft.Storage/storageAccounts",
    file: "bicep/modules/host-storage.bicep",
    why: "Functions host storage (a host-only account per app)",
  },
  { principal: "eventGrid", role: "serviceBusDataSender", scopeType: QUEUES, scopeName: "blob-created", why: "event delivery" },
  { principal: "eventGrid", role: "storageBlobDataContributor", scopeType: CONTAINERS, scopeName: "event-deadletter", why: "event dead-lettering" },
  { principal: "operator", role: "storageBlobDataReader", scopeType: CONTAINERS, scopeName: "originals", why: "custody verify / reconcile" },
  { principal: "operator", role: "storageBlobDataContributor", scopeType: CONTAINERS, scopeName: "audit", why: "audit records of redrive/purge/reconcile" },
  { principal: "core", role: "storageBlobDataContributor", scopeType: CONTAINERS, scopeName: "ledger", why: "the index appends to the custody ledger (append blobs under protected append writes)" },
  { principal: "core", role: "storageBlobDataContributor", scopeType: CONTAINERS, scopeName: "audit", why: "the disposal timer writes one audit record per run (write-once)" },
  { principal: "core", role: "storageBlobDataContributor", scopeType: CONTAINERS, scopeName: "manifests", why: "the index stores the signed evidence manifests it issues (create-only, immutable)" },
  { principal: "operator", role: "storageBlobDataReader", scopeType: CONTAINERS, scopeName: "manifests", why: "custody export reads the signed manifests" },
  { principal: "operator", role: "storageBlobDataReader", scopeType: CONTAINERS, scopeName: "ledger", why: "custody reconcile reads the custody ledger" },
  { principal: "operator", role: "serviceBusDataOwner", scopeType: "Microsoft.ServiceBus/namespaces", why: "custody dlq (runtime counts need Manage)" },
  // The index's retention rights (evidence-storage.bicep; test/deploy/retention.test.ts checks their actions): policies, holds and disposal on originals, disposal of renditions.
  {
    principal: "core",
    role: `${CUSTOM_ROLE}retentionKeeperRole`,
    scopeType: CONTAINERS,
    scopeName: "originals",
    why: "the index sets retention policies and legal holds and disposes of expired originals",
  },
  { principal: "core", role: `${CUSTOM_ROLE}renditionDisposerRole`, scopeType: CONTAINERS, scopeName: "derived", why: "the index deletes a disposed recording's renditions" },
  // The Content Credentials signer's own role (evidence-storage.bicep; test/deploy/access.test.ts checks its actions and path condition).
  {
    principal: "core",
    role: `${CUSTOM_ROLE}imageSignerRole`,
    scopeType: CONTAINERS,
    scopeName: "derived",
    why: "content-credentials reads the thumbnail stage's images and creates their signed copies (c2pa- folders only)",
  },
  // Retention commands from people and systems outside the apps: Send only, one queue each.
  { principal: "recordsOfficer", role: "serviceBusDataSender", scopeType: QUEUES, entity: "queue retention-releases", why: "records officers release legal holds (custody release)" },
  { principal: "recordsOfficer", role: "storageBlobDataContributor", scopeType: CONTAINERS, scopeName: "audit", why: "custody release writes its audit record (write-once)" },
  { principal: "caseSystem", role: "serviceBusDataSender", scopeType: QUEUES, entity: "queue retention-commands", why: "case-management systems categorise and hold recordings" },
  // The dock's own role (evidence-storage.bicep): create and append only — no read, list or delete (test/deploy/access.test.ts checks its actions).
  { principal: "uploader", role: `${CUSTOM_ROLE}dockUploaderRole`, scopeType: CONTAINERS, scopeName: "originals", why: "docks upload recordings, write-only" },
  // The signer's own role (signing.bicep): sign and read on the one key — no encrypt, decrypt, unwrap or key management.
  { principal: "core", role: `${CUSTOM_ROLE}signerRole`, scopeType: "Microsoft.KeyVault/vaults/keys", file: "bicep/modules/signing.bicep", why: "sign evidence manifests, publish the public keys" },
  {
    principal: "encryption",
    role: "keyVaultCryptoServiceEncryptionUser",
    scopeType: "Microsoft.KeyVault/vaults/keys",
    file: "bicep/modules/keys.bicep",
    why: "storage and Cosmos DB wrap their data keys with the customer-managed key",
  },
];

/** principalId expressions → who. `principalIds[access.identity]` (the access-file loops) names the identity per entry. */
const PRINCIPALS: Record<string, Principal> = {
  appPrincipalId: "core",
  mediaPrincipalId: "media",
  hostedAppPrincipalId: "hostedApp",
  // The system topic's system-assigned identity (eventgrid.bicep).
  "topic.identity.principalId": "eventGrid",
  "encryptionIdentity.properties.principalId": "encryption",
  operatorPrincipalId: "operator",
  "uploader.principalId": "uploader",
  recordsOfficerPrincipalId: "recordsOfficer",
  caseSystem: "caseSystem",
};
const PER_ENTRY_PRINCIPAL = "principalIds[access.identity]";

function rolesJson(files: Files): Record<string, string> {
  const text = files.get("bicep/roles.json");
  if (text === undefined) throw new Error("bicep/roles.json is missing");
  const parsed = JSON.parse(text) as Record<string, string>;
  delete parsed.$comment;
  return parsed;
}

function serviceBusAccess(files: Files): ServiceBusAccessFile {
  const text = files.get("bicep/service-bus-access.json");
  if (text === undefined) throw new Error("bicep/service-bus-access.json is missing");
  return JSON.parse(text) as ServiceBusAccessFile;
}

interface ServiceBusAccessFile {
  queues: Array<{ identity: string; queue: string; role: string }>;
  topics: Array<{ identity: string; topic: string; role: string }>;
  subscriptions: Array<{ identity: string; topic: string; subscription: string; role: string }>;
}

/** roles.json holds only the known built-in roles, with their published ids. */
export function checkRoleDefinitions(files: Files): string[] {
  const problems: string[] = [];
  for (const [name, id] of Object.entries(rolesJson(files))) {
    if (FORBIDDEN_ROLES[id.toLowerCase()]) problems.push(`roles.json: ${name} is ${FORBIDDEN_ROLES[id.toLowerCase()]} (${id}), a management role`);
    else if (KNOWN_ROLES[name] === undefined) problems.push(`roles.json: ${name} is not a role the deployment is allowed to use`);
    else if (KNOWN_ROLES[name] !== id.toLowerCase()) problems.push(`roles.json: ${name} is ${id}, but that role's id is ${KNOWN_ROLES[name]}`);
  }
  // A GUID written straight into a template would bypass roles.json.
  for (const [file, text] of bicepFiles(files)) {
    for (const match of stripComments(text).matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi)) {
      if (match[0] !== COSMOS_DATA_READER && match[0] !== COSMOS_DATA_CONTRIBUTOR) problems.push(`${file}: literal GUID ${match[0]} (role ids belong in roles.json)`);
    }
  }
  return problems;
}

/** Every Azure role assignment the templates declare, resolved to who gets which role where (problems for what cannot be resolved). */
export function roleGrants(files: Files): { grants: Array<Grant & { where: string }>; problems: string[] } {
  const problems: string[] = [];
  const grants: Array<Grant & { where: string }> = [];
  const roles = rolesJson(files);
  const access = serviceBusAccess(files);
  const declared = allDeclarations(files);
  const assignments = declared.filter((d) => d.kind === "resource" && d.type === "Microsoft.Authorization/roleAssignments");
  if (assignments.length === 0) problems.push("no role assignments found");
  for (const assignment of assignments) {
    const where = `${assignment.file} ${assignment.symbol}`;
    const props = objectProperty(assignment.body, "properties") ?? "";
    const roleExpression = property(props, "roleDefinitionId") ?? "";
    const scopeExpression = property(assignment.body, "scope")?.trim();
    const principalExpression = property(props, "principalId")?.trim() ?? "";
    const principal = PRINCIPALS[principalExpression];
    if (principal === undefined && principalExpression !== PER_ENTRY_PRINCIPAL) {
      problems.push(`${where}: principal '${principalExpression}' is not one of the deployment's identities`);
      continue;
    }
    if (scopeExpression === undefined) {
      problems.push(`${where}: no scope — it would apply to the whole resource group or subscription`);
      continue;
    }
    if (/resourceGroup\(\)|subscription\(\)|tenant\(\)|managementGroup\(/.test(scopeExpression)) {
      problems.push(`${where}: scope ${scopeExpression} is a resource group or wider`);
      continue;
    }
    const scopeSymbol = /^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]+\])?$/.exec(scopeExpression)?.[1];
    const scoped = declared.find((d) => d.file === assignment.file && d.symbol === scopeSymbol);
    if (scoped === undefined || scoped.kind !== "resource") {
      problems.push(`${where}: scope '${scopeExpression}' is not a resource declared in ${assignment.file}`);
      continue;
    }
    const entries = roleNamesOf(roleExpression, assignment, access, declared);
    if (entries === undefined) {
      problems.push(`${where}: role '${roleExpression}' is not taken from roles.json`);
      continue;
    }
    const source = files.get(assignment.file) ?? "";
    const scopeName = resolveName(property(scoped.body, "name"), source);
    const literalEntity = scopeName === undefined ? undefined : scoped.type === QUEUES ? `queue ${scopeName}` : undefined;
    for (const { role: roleName, entity, identity } of entries) {
      if (roles[roleName] === undefined && !roleName.startsWith(CUSTOM_ROLE)) {
        problems.push(`${where}: role ${roleName} is not in roles.json`);
        continue;
      }
      const who = principal ?? (identity !== undefined && (APP_IDENTITIES as readonly string[]).includes(identity) ? (identity as AppIdentity) : undefined);
      if (who === undefined) {
        problems.push(`${where}: an access entry's identity '${identity ?? "(none)"}' is not one of ${APP_IDENTITIES.join(", ")}`);
        continue;
      }
      if (principal !== undefined && identity !== undefined) {
        problems.push(`${where}: assigns the access file's entries to one fixed principal (${principalExpression}) instead of each entry's identity`);
      }
      grants.push({ where, principal: who, role: roleName, scopeType: scoped.type, scopeName, entity: entity ?? literalEntity, file: assignment.file });
    }
  }
  return { grants, problems };
}

/**
 * Every Azure role assignment: role from roles.json, scoped to a declared resource, and allowed
 * by ALLOWED_GRANTS. `triggers`: per app identity, the Service Bus entities its functions are
 * triggered by, from functions/definitions.ts.
 */
export function checkRoleAssignments(files: Files, triggers: TriggersByIdentity): string[] {
  const { grants, problems } = roleGrants(files);
  for (const grant of grants) {
    const allowed = ALLOWED_GRANTS.some(
      (rule) =>
        rule.principal === grant.principal &&
        rule.role === grant.role &&
        rule.scopeType === grant.scopeType &&
        (rule.scopeName === undefined || rule.scopeName === grant.scopeName) &&
        (rule.entity === undefined || rule.entity === grant.entity) &&
        (rule.file === undefined || rule.file === grant.file) &&
        (!rule.triggersOnly || (grant.entity !== undefined && (grant.principal === "core" || grant.principal === "media") && triggers[grant.principal].has(grant.entity))),
    );
    if (!allowed) problems.push(`${grant.where}: ${grant.principal} gets ${grant.role} on ${grant.scopeType} ${grant.entity ?? grant.scopeName ?? "(computed name)"} — broader than the code needs`);
  }
  return problems;
}

/**
 * `subscriptionResourceId('…roleDefinitions', roles.X)` → [X]; `roles[access.role]` in an
 * access loop → one grant per entry of that JSON list, with the entry's entity and identity.
 */
function roleNamesOf(expression: string, assignment: Declaration, access: ServiceBusAccessFile, declared: Declaration[]): Array<{ role: string; entity?: string; identity?: string }> | undefined {
  const custom = /^subscriptionResourceId\(\s*'Microsoft\.Authorization\/roleDefinitions'\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\.name\s*\)$/.exec(expression.trim())?.[1];
  if (custom !== undefined && declared.some((d) => d.file === assignment.file && d.symbol === custom && d.type === "Microsoft.Authorization/roleDefinitions" && !d.existing))
    return [{ role: `${CUSTOM_ROLE}${custom}` }];
  const direct = /subscriptionResourceId\(\s*'Microsoft\.Authorization\/roleDefinitions'\s*,\s*roles\.([A-Za-z]+)\s*\)/.exec(expression);
  if (direct) return [{ role: direct[1] }];
  if (/subscriptionResourceId\(\s*'Microsoft\.Authorization\/roleDefinitions'\s*,\s*roles\[access\.role\]\s*\)/.test(expression)) {
    const collection = /\bin\s+(appAccess(?:\.(queues|topics|subscriptions))?)\s*$/.exec(assignment.loop ?? "")?.[2] as keyof ServiceBusAccessFile | undefined;
    if (collection === "queues") return access.queues.map((e) => ({ role: e.role, entity: `queue ${e.queue}`, identity: e.identity }));
    if (collection === "topics") return access.topics.map((e) => ({ role: e.role, entity: `topic ${e.topic}`, identity: e.identity }));
    return access.subscriptions.map((e) => ({ role: e.role, entity: `subscription ${e.topic}/${e.subscription}`, identity: e.identity }));
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Service Bus access ↔ code

/**
 * What a role on one entity lets an app do, as the uses the code is compared with. Data Owner
 * on an entity a function is triggered by stands for the trigger's two needs: receive, and the
 * scale monitor's read of the message count (the Manage claim). Owner could also send, but a
 * send is recorded by its own Sender entry, so the access file keeps saying what the code sends.
 */
function verbs(role: string): string[] {
  if (role === "serviceBusDataReceiver") return ["receive"];
  if (role === "serviceBusDataSender") return ["send"];
  if (role === "serviceBusDataOwner") return ["receive", "read-counts"];
  return [`(${role})`];
}

/** What one app's identity may do, from the access file. */
export function serviceBusAccessUses(files: Files, identity: AppIdentity): Set<string> {
  const access = serviceBusAccess(files);
  const mine = <T extends { identity: string }>(entries: T[]): T[] => entries.filter((e) => e.identity === identity);
  return new Set([
    ...mine(access.queues).flatMap((a) => verbs(a.role).map((v) => `${v} queue ${a.queue}`)),
    ...mine(access.topics).flatMap((a) => verbs(a.role).map((v) => `${v} topic ${a.topic}`)),
    ...mine(access.subscriptions).flatMap((a) => verbs(a.role).map((v) => `${v} subscription ${a.topic}/${a.subscription}`)),
  ]);
}

/** Per app: the access file grants its identity exactly the receives and sends its functions do — no more, no less. */
export function checkServiceBusAccessMatchesCode(files: Files, codeUses: Record<AppIdentity, Set<string>>): string[] {
  const problems: string[] = [];
  const access = serviceBusAccess(files);
  for (const entry of [...access.queues, ...access.topics, ...access.subscriptions]) {
    if (!(APP_IDENTITIES as readonly string[]).includes(entry.identity))
      problems.push(`service-bus-access.json: an entry for identity '${entry.identity}', which is not one of ${APP_IDENTITIES.join(", ")}`);
  }
  for (const identity of APP_IDENTITIES) {
    const granted = serviceBusAccessUses(files, identity);
    for (const use of codeUses[identity]) if (!granted.has(use)) problems.push(`the ${identity} app's code does "${use}" but service-bus-access.json grants its identity no role for it`);
    for (const use of granted)
      if (!codeUses[identity].has(use)) problems.push(`service-bus-access.json grants the ${identity} identity "${use}", which no function of that app does (broader than needed)`);
  }
  return problems;
}

/** The access file is what the templates assign: loaded by main.bicep and looped at entity scope. */
export function checkServiceBusAccessWiring(files: Files): string[] {
  const problems: string[] = [];
  const main = files.get("bicep/main.bicep") ?? "";
  if (!loadedFiles("bicep/main.bicep", main).includes("bicep/service-bus-access.json")) problems.push("main.bicep does not load service-bus-access.json");
  const declared = allDeclarations(files).filter((d) => d.type === "Microsoft.Authorization/roleAssignments");
  const expect = (file: string, collection: RegExp, scopeType: string): void => {
    const found = declared.find((d) => d.file === file && collection.test(d.loop ?? ""));
    if (!found) {
      problems.push(`${file}: no role assignment loop over ${collection.source}`);
      return;
    }
    const scopeSymbol = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(property(found.body, "scope")?.trim() ?? "")?.[1];
    const scoped = allDeclarations(files).find((d) => d.file === file && d.symbol === scopeSymbol);
    if (scoped?.type !== scopeType) problems.push(`${file}: ${found.symbol} is scoped to ${scoped?.type ?? "nothing"}, not ${scopeType}`);
  };
  expect("bicep/modules/servicebus.bicep", /\bin\s+appAccess\.queues$/, "Microsoft.ServiceBus/namespaces/queues");
  expect("bicep/modules/servicebus.bicep", /\bin\s+appAccess\.topics$/, "Microsoft.ServiceBus/namespaces/topics");
  expect("bicep/modules/servicebus-subscription.bicep", /\bin\s+appAccess$/, "Microsoft.ServiceBus/namespaces/topics/subscriptions");
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Cosmos DB data-plane roles

export function checkCosmosRoles(files: Files): string[] {
  const problems: string[] = [];
  const file = "bicep/modules/cosmos.bicep";
  const source = files.get(file) ?? "";
  const variables = vars(source);
  const assignments = allDeclarations(files).filter((d) => d.type === "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments");
  const app = assignments.find((d) => property(objectProperty(d.body, "properties") ?? "", "principalId")?.trim() === "appPrincipalId");
  if (!app) problems.push("no Cosmos DB data-plane role assignment (sqlRoleAssignments) for the app identity");
  for (const assignment of assignments) {
    const props = objectProperty(assignment.body, "properties") ?? "";
    const roleVar = /sqlRoleDefinitions\/\$\{([A-Za-z_]+)\}/.exec(property(props, "roleDefinitionId") ?? "")?.[1];
    const roleId = roleVar ? literal(variables.get(roleVar)) : undefined;
    const principal = property(props, "principalId")?.trim();
    const expected = principal === "appPrincipalId" ? COSMOS_DATA_CONTRIBUTOR : principal === "operatorPrincipalId" || principal === "recordsOfficerPrincipalId" ? COSMOS_DATA_READER : undefined;
    if (expected === undefined) problems.push(`${assignment.symbol}: principal ${principal} should have no Cosmos DB data access`);
    else if (roleId !== expected) problems.push(`${assignment.symbol}: ${principal} gets Cosmos role ${roleId ?? "(unknown)"}, expected ${expected}`);
    if (!/\/dbs\//.test(property(props, "scope") ?? "")) problems.push(`${assignment.symbol}: scope is the whole account, not the database`);
  }
  problems.push(...checkCosmosSerialized(files));
  return problems;
}

/** Symbols a declaration names in `dependsOn: [a, b]`. */
export function dependsOnSymbols(declaration: Declaration): string[] {
  const value = property(declaration.body, "dependsOn")?.trim() ?? "";
  if (!value.startsWith("[")) return [];
  return [...value.slice(1, -1).matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)].map((m) => m[0]);
}

/**
 * Cosmos DB locks the whole account while it creates a container or a data-plane role
 * assignment; a second one started meanwhile fails with 412 ("another operation is in
 * progress", terraform-provider-azurerm#15842, #17233). So the container and every
 * sqlRoleAssignment must be ordered one after another by dependsOn: of any two, one must
 * (transitively) depend on the other.
 */
export function checkCosmosSerialized(files: Files): string[] {
  const file = "bicep/modules/cosmos.bicep";
  const declared = allDeclarations(files).filter((d) => d.file === file && d.kind === "resource" && !d.existing);
  const locked = declared.filter((d) => d.type === "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers" || d.type === "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments");
  const bySymbol = new Map(declared.map((d) => [d.symbol, d]));
  const ancestors = (symbol: string, seen = new Set<string>()): Set<string> => {
    const declaration = bySymbol.get(symbol);
    if (!declaration) return seen;
    const parent = property(declaration.body, "parent")?.trim();
    for (const next of [...dependsOnSymbols(declaration), ...(parent ? [parent] : [])]) {
      if (!seen.has(next)) {
        seen.add(next);
        ancestors(next, seen);
      }
    }
    return seen;
  };
  const problems: string[] = [];
  for (let i = 0; i < locked.length; i++) {
    for (let j = i + 1; j < locked.length; j++) {
      const [a, b] = [locked[i].symbol, locked[j].symbol];
      if (!ancestors(a).has(b) && !ancestors(b).has(a))
        problems.push(`${file}: ${a} and ${b} can run at the same time (Cosmos DB refuses concurrent operations on one account with 412); order them with dependsOn`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Keys, secrets, local auth

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/\blist[A-Z][A-Za-z]*\s*\(/, "a list*() call (listKeys, listConnectionStrings, listAccountSas …) returns keys"],
  [/\.list[A-Z][A-Za-z]*\s*\(/, "a resource.list*() call returns keys"],
  [/AccountKey\s*=/i, "an account key"],
  [/SharedAccessKey/i, "a SAS key"],
  [/SharedAccessSignature/i, "a SAS"],
  [/[?&]sig=/i, "a SAS signature"],
  [/DefaultEndpointsProtocol\s*=/i, "a storage connection string"],
  [/InstrumentationKey\s*=/i, "an instrumentation key"],
  [/@secure\(\)/, "a secure parameter (nothing secret should need passing)"],
  [/primary(Master)?Key|secondary(Master)?Key|primaryConnectionString|secondaryConnectionString/i, "a key property"],
  [/authorizationRules/i, "a SAS authorization rule"],
];

/** No keys, shared-key SAS or connection strings with keys anywhere in the deployment files or outputs (the app's user-delegation SAS is made by the code at run time, with its Entra ID identity). */
export function checkNoSecrets(files: Files): string[] {
  const problems: string[] = [];
  for (const [file, raw] of files) {
    if (!file.startsWith("bicep/")) continue;
    const text = file.endsWith(".bicep") ? stripComments(raw) : raw;
    for (const [pattern, what] of SECRET_PATTERNS) if (pattern.test(text)) problems.push(`${file}: ${what} (${pattern.source})`);
    if (file.endsWith(".bicep")) {
      // The one connection string in the templates is Application Insights': it names the
      // component (its key cannot ingest with local auth off) and is passed straight to the app.
      text.split("\n").forEach((line, i) => {
        if (/connectionstring/i.test(line) && !/^\s*APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights\.properties\.ConnectionString\s*$/.test(line)) {
          problems.push(`${file}:${i + 1}: a connection string: ${line.trim()}`);
        }
      });
      for (const output of outputs(raw)) {
        if (/key|secret|password|connectionstring|sas\b|token|credential/i.test(`${output.name} ${output.value}`))
          problems.push(`${file}: output ${output.name} looks like a secret (${output.value})`);
      }
    }
  }
  const parameters = files.get("bicep/main.parameters.json");
  if (parameters) {
    const values = JSON.parse(parameters) as { parameters: Record<string, { value: unknown }> };
    for (const [name, { value }] of Object.entries(values.parameters)) {
      if (typeof value !== "string" || !/^\$\{[A-Z0-9_]+(=[^}]*)?\}$/.test(value)) problems.push(`main.parameters.json: ${name} is not an azd environment reference (${JSON.stringify(value)})`);
      if (/key|secret|password|token/i.test(name)) problems.push(`main.parameters.json: parameter ${name} looks like a secret`);
    }
  }
  return problems;
}

const LOCAL_AUTH_RULES: Array<{ type: string; property: string; expected: string; what: string }> = [
  { type: "Microsoft.Storage/storageAccounts", property: "properties.allowSharedKeyAccess", expected: "false", what: "shared-key access" },
  { type: "Microsoft.Storage/storageAccounts", property: "properties.allowBlobPublicAccess", expected: "false", what: "anonymous blob access" },
  { type: "Microsoft.Storage/storageAccounts", property: "properties.minimumTlsVersion", expected: "'TLS1_2'", what: "TLS below 1.2" },
  { type: "Microsoft.ServiceBus/namespaces", property: "properties.disableLocalAuth", expected: "true", what: "SAS (local) auth" },
  { type: "Microsoft.DocumentDB/databaseAccounts", property: "properties.disableLocalAuth", expected: "true", what: "key (local) auth" },
  { type: "Microsoft.Insights/components", property: "properties.DisableLocalAuth", expected: "true", what: "instrumentation-key ingestion" },
  { type: "Microsoft.OperationalInsights/workspaces", property: "properties.features.disableLocalAuth", expected: "true", what: "workspace (shared) key access" },
];

/** Every storage account, Service Bus namespace, Cosmos account, Application Insights component and Log Analytics workspace the templates create is keyless. */
export function checkLocalAuthDisabled(files: Files): string[] {
  const problems: string[] = [];
  const created = allDeclarations(files).filter((d) => d.kind === "resource" && !d.existing);
  for (const type of new Set(LOCAL_AUTH_RULES.map((r) => r.type))) {
    if (!created.some((d) => d.type === type)) problems.push(`no ${type} is created`);
  }
  for (const resource of created) {
    for (const rule of LOCAL_AUTH_RULES.filter((r) => r.type === resource.type)) {
      const value = propertyPath(resource.body, rule.property);
      if (value !== rule.expected) problems.push(`${resource.file} ${resource.symbol}: ${rule.property} is ${value ?? "not set"} — ${rule.what} is allowed`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Cloud-neutral endpoints

/** Host suffixes of the public Azure cloud; sovereign clouds use others. */
const PUBLIC_CLOUD_SUFFIXES = [/servicebus\.windows\.net/i, /core\.windows\.net/i, /documents\.azure\.com/i, /azurewebsites\.net/i, /vault\.azure\.net/i];

/**
 * No public-cloud host written into a template: endpoints come from the resources themselves
 * (`primaryEndpoints.blob`, `documentEndpoint`, `serviceBusEndpoint`), so the deployment works
 * in Azure Government or Azure operated by 21Vianet too. The Service Bus namespace host the app
 * and the CLI use is the host of the namespace's serviceBusEndpoint.
 */
export function checkCloudNeutralEndpoints(files: Files): string[] {
  const problems: string[] = [];
  for (const [file, raw] of bicepFiles(files)) {
    const text = stripComments(raw);
    text.split("\n").forEach((line, i) => {
      for (const suffix of PUBLIC_CLOUD_SUFFIXES) if (suffix.test(line)) problems.push(`${file}:${i + 1}: public-cloud host written into the template (${line.trim()}); take it from the resource`);
    });
  }
  const serviceBus = files.get("bicep/modules/servicebus.bicep") ?? "";
  const fqdn = outputs(serviceBus).find((o) => o.name === "fullyQualifiedNamespace");
  if (!fqdn || !/\bnamespace\.properties\.serviceBusEndpoint\b/.test(fqdn.value))
    problems.push("servicebus.bicep output fullyQualifiedNamespace is not taken from namespace.properties.serviceBusEndpoint");
  const setting = appSettings(files).find((s) => s.name === "ServiceBusConnection__fullyQualifiedNamespace");
  const passed = setting ? traceModuleParameter(files, "bicep/modules/functions.bicep", setting.expression) : undefined;
  if (passed !== "serviceBus.outputs.fullyQualifiedNamespace")
    problems.push(`ServiceBusConnection__fullyQualifiedNamespace is ${setting?.expression ?? "not set"}, not the servicebus module's fullyQualifiedNamespace output`);
  const output = outputs(files.get("bicep/main.bicep") ?? "").find((o) => o.name === "ServiceBusConnection__fullyQualifiedNamespace");
  if (output?.value !== "serviceBus.outputs.fullyQualifiedNamespace") problems.push("main.bicep output ServiceBusConnection__fullyQualifiedNamespace is not the servicebus module's output");
  return problems;
}

/** What main.bicep passes for parameter `expression` of module `file`, when `expression` is a bare parameter name. */
function traceModuleParameter(files: Files, file: string, expression: string): string | undefined {
  const name = expression.trim();
  if (!params(files.get(file) ?? "").has(name)) return undefined;
  const caller = allDeclarations(files).find((d) => d.file === "bicep/main.bicep" && d.kind === "module" && `bicep/${d.type}` === file);
  return caller ? property(objectProperty(caller.body, "params") ?? "", name)?.trim() : undefined;
}

// ---------------------------------------------------------------------------------------------
// Lambdas in loops

/**
 * No lambda (`x => …`) inside a resource or module loop refers to that loop's variables: ARM
 * would have to evaluate copyIndex() inside a lambda, which is not documented to work. Filter
 * inside the child module, against its own parameters, instead.
 */
export function checkNoLoopVariablesInLambdas(files: Files): string[] {
  const problems: string[] = [];
  for (const declaration of allDeclarations(files)) {
    if (!declaration.loop) continue;
    const header = /^(?:\(([^)]*)\)|([A-Za-z_][A-Za-z0-9_]*))\s+in\b/.exec(declaration.loop);
    const loopVariables = (header?.[1] ?? header?.[2] ?? "")
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean);
    const body = declaration.body;
    for (const arrow of body.matchAll(/=>/g)) {
      // The call the lambda is an argument of: the nearest unclosed '(' before the arrow.
      let depth = 0;
      let open = -1;
      for (let i = arrow.index - 1; i >= 0; i--) {
        const c = body[i];
        if (c === ")" || c === "]" || c === "}") depth++;
        else if (c === "(" || c === "[" || c === "{") {
          if (depth === 0 && c === "(") {
            open = i;
            break;
          }
          depth = Math.max(0, depth - 1);
        }
      }
      if (open < 0) continue;
      const call = body.slice(open, matchingBracket(body, open) + 1);
      const lambdaParams = (/(?:\(([^)]*)\)|([A-Za-z_][A-Za-z0-9_]*))\s*=>/.exec(call)?.slice(1).find(Boolean) ?? "").split(",").map((v) => v.trim());
      for (const variable of loopVariables) {
        if (lambdaParams.includes(variable)) continue;
        if (new RegExp(`(?<![.\\w])${variable}\\b`).test(call)) problems.push(`${declaration.file} ${declaration.symbol}: a lambda reads loop variable '${variable}' (${call.replace(/\s+/g, " ")})`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Subscription rules: $Default

/**
 * Each subscription's `$Default` rule (1=1, created by the service) is declared with a filter
 * that matches nothing, so whether or not the service removes it when other rules are added,
 * it delivers no message — in particular no redrive copy addressed to another subscription.
 */
export function checkDefaultRuleNeutralised(files: Files, topologyText: string): string[] {
  const problems: string[] = [];
  const file = "bicep/modules/servicebus-subscription.bicep";
  const declared = allDeclarations(files).filter((d) => d.file === file && d.type === "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules" && !d.existing);
  const subscription = allDeclarations(files).find((d) => d.file === file && d.type === "Microsoft.ServiceBus/namespaces/topics/subscriptions" && !d.existing);
  const defaultRule = declared.find((d) => literal(property(d.body, "name")) === "$Default");
  if (!defaultRule) return [`${file}: no rule named $Default: the service's 1=1 rule may stay and deliver every message, redrive copies for other subscriptions included`];
  if (defaultRule.loop || defaultRule.condition) problems.push(`${file} ${defaultRule.symbol}: $Default must be declared once per subscription, unconditionally`);
  if (property(defaultRule.body, "parent")?.trim() !== subscription?.symbol) problems.push(`${file} ${defaultRule.symbol}: $Default is not a rule of the subscription the module creates`);
  const filterType = literal(propertyPath(defaultRule.body, "properties.filterType"));
  const expression = literal(propertyPath(defaultRule.body, "properties.sqlFilter.sqlExpression"))?.replace(/\s+/g, "").toUpperCase();
  if (filterType !== "SqlFilter" || !(expression === "1=0" || expression === "FALSE"))
    problems.push(`${file} ${defaultRule.symbol}: $Default is ${filterType ?? "?"} ${expression ?? "?"}, not a SqlFilter matching nothing (1=0)`);
  if (propertyPath(defaultRule.body, "properties.action") !== undefined) problems.push(`${file} ${defaultRule.symbol}: $Default carries an action`);
  const topology = JSON.parse(topologyText) as TopologyFile;
  for (const topic of topology.UserConfig.Namespaces[0].Topics ?? []) {
    for (const sub of topic.Subscriptions ?? []) {
      if ((sub.Rules ?? []).length === 0) problems.push(`topology: ${topic.Name}/${sub.Name} has no rules of its own (with $Default neutralised it would receive nothing)`);
      for (const rule of sub.Rules ?? []) if (rule.Name === "$Default") problems.push(`topology: ${topic.Name}/${sub.Name} names a rule $Default, which the template neutralises`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Immutable originals

export function checkOriginalsImmutable(files: Files): string[] {
  return checkImmutableContainer(files, "originals", { protectedAppendWrites: false });
}

/** The custody ledger: write once like the originals, but its append blobs may be appended to (protected append writes). */
export function checkLedgerImmutable(files: Files): string[] {
  return checkImmutableContainer(files, "ledger", { protectedAppendWrites: true });
}

/** The operators' audit log: write once, never changed or deleted (its writer holds Data Contributor). */
export function checkAuditImmutable(files: Files): string[] {
  return [...checkImmutableContainer(files, "audit", { protectedAppendWrites: false }), ...checkImmutableContainer(files, "manifests", { protectedAppendWrites: false })];
}

function checkImmutableContainer(files: Files, name: string, expected: { protectedAppendWrites: boolean }): string[] {
  const problems: string[] = [];
  const file = "bicep/modules/evidence-storage.bicep";
  const source = files.get(file) ?? "";
  const declared = allDeclarations(files).filter((d) => d.file === file);
  const blobService = declared.find((d) => d.type === "Microsoft.Storage/storageAccounts/blobServices");
  if (propertyPath(blobService?.body ?? "", "properties.isVersioningEnabled") !== "true") problems.push("blob versioning is not enabled on the evidence account (version-level immutability needs it)");
  const container = declared.find((d) => d.type === "Microsoft.Storage/storageAccounts/blobServices/containers" && resolveName(property(d.body, "name"), source) === name);
  if (!container) return [...problems, `no ${name} container`];
  if (container.condition) problems.push(`the ${name} container is conditional (${container.condition})`);
  if (propertyPath(container.body, "properties.immutableStorageWithVersioning.enabled") !== "true")
    problems.push(`${name} lacks version-level immutability (immutableStorageWithVersioning.enabled: true)`);
  if (propertyPath(container.body, "properties.publicAccess") !== "'None'") problems.push(`${name} is not private`);
  const policy = declared.find((d) => d.type === "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies" && property(d.body, "parent")?.trim() === container.symbol);
  if (!policy) return [...problems, `${name} has no default time-based retention policy`];
  if (literal(property(policy.body, "name")) !== "default") problems.push("the retention policy must be named 'default'");
  const days = propertyPath(policy.body, "properties.immutabilityPeriodSinceCreationInDays");
  if (days === undefined || !params(source).has(days)) problems.push(`the retention period is ${days ?? "not set"}, not a parameter`);
  if (propertyPath(policy.body, "properties.allowProtectedAppendWrites") !== String(expected.protectedAppendWrites)) {
    problems.push(expected.protectedAppendWrites ? `protected append writes are not allowed on ${name} (its append blobs could not grow)` : `protected append writes are allowed on ${name}`);
  }
  if (propertyPath(policy.body, "properties.allowProtectedAppendWritesAll") !== "false") problems.push(`${name}: allowProtectedAppendWritesAll lets block blobs be appended to`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Event Grid

export function checkEventGrid(files: Files, contract: { eventType: string; committedApis: readonly string[]; specVersion: string }): string[] {
  const problems: string[] = [];
  const file = "bicep/modules/eventgrid.bicep";
  const source = files.get(file) ?? "";
  const declared = allDeclarations(files).filter((d) => d.file === file);
  const topic = declared.find((d) => d.type === "Microsoft.EventGrid/systemTopics" && !d.existing);
  if (!topic) return ["no Event Grid system topic"];
  if (literal(propertyPath(topic.body, "properties.topicType")) !== "Microsoft.Storage.StorageAccounts") problems.push("the system topic is not on a storage account");
  if (!/UserAssigned|SystemAssigned/.test(propertyPath(topic.body, "identity.type") ?? "")) problems.push("the system topic has no managed identity");
  const subscriptions = declared.filter((d) => d.type === "Microsoft.EventGrid/systemTopics/eventSubscriptions");
  if (subscriptions.length !== 1) return [...problems, `expected one event subscription, found ${subscriptions.length}`];
  const props = objectProperty(subscriptions[0].body, "properties") ?? "";
  if (contract.specVersion !== "1.0") problems.push(`the ingest contract parses specversion ${contract.specVersion}, not CloudEvents 1.0`);
  if (literal(property(props, "eventDeliverySchema")) !== "CloudEventSchemaV1_0")
    problems.push("events are not delivered as CloudEvents 1.0 (the schema shared/contracts/blob-created-event.ts parses)");
  if (property(props, "destination") !== undefined) problems.push("a plain `destination` is set: delivery must use the topic identity (deliveryWithResourceIdentity)");
  const delivery = objectProperty(props, "deliveryWithResourceIdentity");
  if (!delivery) problems.push("no deliveryWithResourceIdentity: events would be delivered without the topic's identity");
  else {
    if (!/UserAssigned|SystemAssigned/.test(propertyPath(delivery, "identity.type") ?? "")) problems.push("delivery identity type missing");
    if (literal(propertyPath(delivery, "destination.endpointType")) !== "ServiceBusQueue") problems.push("events are not delivered to a Service Bus queue");
    const queueSymbol = /^([A-Za-z_]+)\.id$/.exec(propertyPath(delivery, "destination.properties.resourceId") ?? "")?.[1];
    const queue = declared.find((d) => d.symbol === queueSymbol);
    if (queue?.type !== "Microsoft.ServiceBus/namespaces/queues" || literal(property(queue.body, "name")) !== "blob-created") problems.push("events are not delivered to the blob-created queue");
  }
  const deadLetter = objectProperty(props, "deadLetterWithResourceIdentity");
  if (!deadLetter) problems.push("no dead-letter destination with the topic identity (deadLetterWithResourceIdentity)");
  else if (literal(propertyPath(deadLetter, "deadLetterDestination.endpointType")) !== "StorageBlob") problems.push("dead-letter destination is not a blob container");
  if (property(props, "deadLetterDestination") !== undefined) problems.push("a key-based deadLetterDestination is set");
  if (!objectProperty(props, "retryPolicy")) problems.push("no retry policy");
  const filter = objectProperty(props, "filter") ?? "";
  if (!(property(filter, "includedEventTypes") ?? "").includes(`'${contract.eventType}'`)) problems.push(`the subscription does not include ${contract.eventType}`);
  if (literal(property(filter, "subjectBeginsWith")) !== "/blobServices/default/containers/originals/") problems.push("the subscription is not filtered to the originals container");
  const apis = vars(source).get("committedApis");
  const listed = apis ? [...apis.matchAll(/'([^']+)'/g)].map((m) => m[1]) : [];
  if (JSON.stringify(listed) !== JSON.stringify([...contract.committedApis]))
    problems.push(`the data.api filter (${listed.join(", ")}) differs from BLOB_CREATED_COMMITTED_APIS (${contract.committedApis.join(", ")})`);
  if (!/key:\s*'data\.api'/.test(filter) || !/values:\s*committedApis/.test(filter)) problems.push("the subscription does not filter data.api to committed blobs");
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Topology

/** Emulator property name → how servicebus*.bicep must refer to it. */
const TOPOLOGY_LOOPS: Array<{ file: string; declaration: (d: Declaration) => boolean; collection: string; what: string }> = [
  { file: "bicep/modules/servicebus.bicep", declaration: (d) => d.type === "Microsoft.ServiceBus/namespaces/queues" && !d.existing, collection: "Queues", what: "queues" },
  { file: "bicep/modules/servicebus.bicep", declaration: (d) => d.kind === "module" && d.type === "servicebus-topic.bicep", collection: "Topics", what: "topics" },
  { file: "bicep/modules/servicebus-topic.bicep", declaration: (d) => d.kind === "module" && d.type === "servicebus-subscription.bicep", collection: "Subscriptions", what: "subscriptions" },
  { file: "bicep/modules/servicebus-subscription.bicep", declaration: (d) => d.type === "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules", collection: "Rules", what: "rules" },
];

interface TopologyFile {
  UserConfig: {
    Namespaces: Array<{
      Queues?: Array<{ Name: string; Properties: Record<string, unknown> }>;
      Topics?: Array<{
        Name: string;
        Properties: Record<string, unknown>;
        Subscriptions?: Array<{ Name: string; Properties: Record<string, unknown>; Rules?: Array<{ Name: string; Properties: Record<string, unknown> }> }>;
      }>;
    }>;
  };
}

export function checkTopologyCreated(files: Files, topologyText: string): string[] {
  const problems: string[] = [];
  const main = files.get("bicep/main.bicep") ?? "";
  if (!loadedFiles("bicep/main.bicep", main).includes("topology/servicebus.json")) problems.push("main.bicep does not loadJsonContent('../topology/servicebus.json')");
  if (!/topology:\s*topology\b/.test(stripComments(main))) problems.push("main.bicep does not pass the loaded topology to the Service Bus module");
  const declared = allDeclarations(files);
  for (const loop of TOPOLOGY_LOOPS) {
    const source = files.get(loop.file) ?? "";
    const found = declared.filter((d) => d.file === loop.file && loop.declaration(d));
    const looped = found.find((d) => {
      const collection = /\bin\s+([A-Za-z_]+)\s*$/.exec(d.loop ?? "")?.[1];
      const definition = collection ? vars(source).get(collection) : undefined;
      return definition !== undefined && new RegExp(`\\.${loop.collection}\\b`).test(definition);
    });
    if (!looped) problems.push(`${loop.file}: the ${loop.what} are not created by a loop over the topology's ${loop.collection}`);
  }
  // Every property the file sets must be carried over (a new one would otherwise be ignored).
  const topology = JSON.parse(topologyText) as TopologyFile;
  const namespace = topology.UserConfig.Namespaces[0];
  const mapped = (file: string, entities: Array<{ Properties: Record<string, unknown> }>, what: string): void => {
    const source = stripComments(files.get(file) ?? "");
    const keys = new Set(entities.flatMap((e) => Object.keys(e.Properties ?? {})));
    for (const key of keys) {
      if (key === "DefaultMessageTimeToLive") {
        if (!/defaultMessageTimeToLive:\s*messageTimeToLive\b/.test(source)) problems.push(`${file}: ${what} TTL is not set from the messageTimeToLive parameter`);
      } else if (!new RegExp(`\\.\\??${key}\\b`).test(source)) problems.push(`${file}: the topology's ${what} property ${key} is not mapped to ARM`);
    }
  };
  const topics = namespace.Topics ?? [];
  const subscriptions = topics.flatMap((t) => t.Subscriptions ?? []);
  const rules = subscriptions.flatMap((s) => s.Rules ?? []);
  mapped("bicep/modules/servicebus.bicep", namespace.Queues ?? [], "queue");
  mapped("bicep/modules/servicebus-topic.bicep", topics, "topic");
  mapped("bicep/modules/servicebus-subscription.bicep", subscriptions, "subscription");
  // The rules created from the file: the looped declaration (the neutralised $Default is another).
  const ruleSource =
    declared.find((d) => d.file === "bicep/modules/servicebus-subscription.bicep" && d.type === "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules" && d.loop !== undefined)?.body ?? "";
  for (const rule of rules) {
    const type = rule.Properties.FilterType;
    if (type === "Sql" && !/filterType:\s*'SqlFilter'/.test(ruleSource)) problems.push(`rule ${rule.Name}: SQL filters are not mapped to filterType 'SqlFilter'`);
    else if (type === "Correlation" && !/filterType:\s*'CorrelationFilter'/.test(ruleSource)) problems.push(`rule ${rule.Name}: correlation filters are not mapped`);
    else if (type !== "Sql" && type !== "Correlation") problems.push(`rule ${rule.Name}: filter type ${String(type)} is not handled`);
    if ("Action" in rule.Properties && !/action:\s*\{\s*sqlExpression/.test(ruleSource)) problems.push(`rule ${rule.Name}: its action is not mapped`);
  }
  const ttl = params(main).get("messageTimeToLive")?.defaultValue;
  if (ttl !== "'P14D'") problems.push(`main.bicep messageTimeToLive default is ${ttl ?? "missing"} (Azure entities must not expire messages after the emulator's PT1H)`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Function app and its settings

export interface AppSetting {
  name: string;
  /** The Bicep expression. */
  expression: string;
}

/** The function apps: azd service name (the site's azd-service-name tag) → the role the app runs. */
export const FUNCTION_APPS: Record<string, AppIdentity> = { custody: "core", "custody-media": "media" };

/** The site (Microsoft.Web/sites) tagged azd-service-name: `service`. */
export function functionSite(files: Files, service: string): Declaration | undefined {
  return allDeclarations(files).find(
    (d) => d.file === "bicep/modules/functions.bicep" && d.type === "Microsoft.Web/sites" && !d.existing && new RegExp(`'azd-service-name':\\s*'${service}'`).test(property(d.body, "tags") ?? ""),
  );
}

/** The app settings of the site tagged `service` (default: the core app, `custody`). */
export function appSettings(files: Files, service = "custody"): AppSetting[] {
  const site = functionSite(files, service);
  if (!site) return [];
  const declared = allDeclarations(files).filter((d) => d.type === "Microsoft.Web/sites/config" && property(d.body, "parent")?.trim() === site.symbol);
  const settings = declared.find((d) => literal(property(d.body, "name")) === "appsettings");
  if (!settings) return [];
  const props = objectProperty(settings.body, "properties") ?? "";
  return [...topLevelEntries(props)].map(([name, expression]) => ({ name, expression }));
}

/**
 * The environment the app would see in Azure: literals as written, and for expressions a
 * representative value of the right shape (the endpoint or client id ARM would fill in).
 */
export function azureEnvironment(settings: AppSetting[], files?: Files): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { name, expression } of settings) {
    const converted = /^string\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/.exec(expression.trim())?.[1];
    // `flag ? 'a' : 'b'` with a bool parameter: the branch its default picks.
    const choice = /^([A-Za-z_][A-Za-z0-9_]*)\s*\?\s*('[^']*')\s*:\s*('[^']*')$/.exec(expression.trim());
    const flag = choice && files ? literalThroughModules(files, "bicep/modules/functions.bicep", choice[1]) : undefined;
    const chosen = choice && (flag === "true" || flag === "false") ? literal(flag === "true" ? choice[2] : choice[3]) : undefined;
    const value = chosen ?? literal(expression) ?? (files ? literalThroughModules(files, "bicep/modules/functions.bicep", converted ?? expression) : undefined);
    if (value !== undefined) env[name] = value;
    else if (/__clientId$/.test(name)) env[name] = "3f2c1a7e-9b6d-4c1e-8f00-0123456789ab";
    else if (/__fullyQualifiedNamespace$/.test(name)) env[name] = "sb-custody-example.servicebus.windows.net";
    else if (/__blobServiceUri$/.test(name)) env[name] = "https://stcustodyevexample.blob.core.windows.net/";
    else if (/__accountEndpoint$/.test(name)) env[name] = "https://cosmos-custody-example.documents.azure.com:443/";
    // A Key Vault key's keyUri (versionless): what `<key>.properties.keyUri` gives.
    else if (/\.properties\.keyUri$/.test(expression.trim())) env[name] = "https://kv-sign-example.vault.azure.net/keys/custody-evidence-signing";
    else if (name === "APPLICATIONINSIGHTS_AUTHENTICATION_STRING") env[name] = expression.replace(/^'|'$/g, "").replace(/\$\{[A-Za-z]+\}/, "3f2c1a7e-9b6d-4c1e-8f00-0123456789ab");
    else env[name] = `<${expression}>`;
  }
  return env;
}

/**
 * Follows a module parameter back to a literal: `param x` of `file` ← main.bicep passes
 * `other.outputs.y` ← `output y … = v` of that module ← `var v = '…'`; an interpolated string
 * passed directly becomes a representative value with `example` for each `${…}`. Undefined when
 * any step is not that simple.
 */
export function literalThroughModules(files: Files, file: string, expression: string): string | undefined {
  const name = expression.trim();
  if (!params(files.get(file) ?? "").has(name)) return undefined;
  const modules = allDeclarations(files).filter((d) => d.file === "bicep/main.bicep" && d.kind === "module");
  const caller = modules.find((d) => `bicep/${d.type}` === file);
  const passed = caller ? property(objectProperty(caller.body, "params") ?? "", name)?.trim() : undefined;
  const fromOutput = passed ? /^([A-Za-z_]+)\.outputs\.([A-Za-z_]+)$/.exec(passed) : null;
  // A main.bicep parameter passed through stands for its default (a number as its digits, a bool as true or false).
  const mainDefault = passed ? params(files.get("bicep/main.bicep") ?? "").get(passed)?.defaultValue : undefined;
  if (mainDefault !== undefined) return literal(mainDefault) ?? (/^(\d+|true|false)$/.test(mainDefault) ? mainDefault : undefined);
  // An interpolated string ('/custody/${environmentName}') stands for a value of its shape.
  if (!fromOutput) return passed ? (literal(passed) ?? literal(passed.replace(/\$\{[^}]*\}/g, "example"))) : undefined;
  const producer = modules.find((d) => d.symbol === fromOutput[1]);
  const producerFile = producer ? `bicep/${producer.type}` : undefined;
  const source = producerFile ? (files.get(producerFile) ?? "") : "";
  const output = outputs(source).find((o) => o.name === fromOutput[2]);
  return output ? resolveName(output.value, source) : undefined;
}

/** Settings the code reads that must NOT be set in Azure, with the reason. */
export const LOCAL_ONLY_SETTINGS: Record<string, string> = {
  ServiceBusConnection: "a connection string (SAS key); Azure uses ServiceBusConnection__fullyQualifiedNamespace",
  EvidenceStorage: "a connection string (account key); Azure uses EvidenceStorage__blobServiceUri",
  EvidenceIndex: "a connection string (account key); Azure uses EvidenceIndex__accountEndpoint",
  EvidenceIndex__allowSelfSignedCertificate: "the local Cosmos stand-in's certificate only",
  CUSTODY_FIXITY_INTERVAL_MS: "the dev host's timer only (Azure runs CUSTODY_FIXITY_SCHEDULE)",
  CUSTODY_RECONCILE_INTERVAL_MS: "the dev host's timer only (Azure runs CUSTODY_RECONCILE_SCHEDULE)",
  CUSTODY_DISPOSAL_INTERVAL_MS: "the dev host's timer only (Azure runs CUSTODY_DISPOSAL_SCHEDULE)",
  CUSTODY_SIGNING_KEY_DIR: "the local signing key's folder; Azure signs in Key Vault (CUSTODY_SIGNING_KEY_ID)",
};

/** Setting names the code names in its source: CUSTODY_* literals and Functions-style connection keys. */
export function settingNamesInCode(sources: Map<string, string>, connectionPrefixes: string[]): Set<string> {
  const names = new Set<string>();
  for (const text of sources.values()) {
    for (const match of text.matchAll(/"(CUSTODY_[A-Z0-9_]+)"/g)) names.add(match[1]);
    for (const match of text.matchAll(/"((?:FFMPEG|FFPROBE)_PATH)"|variable:\s*"([A-Z_]+)"/g)) names.add(match[1] ?? match[2]);
    for (const match of text.matchAll(/"(APPLICATIONINSIGHTS_[A-Z_]+)"/g)) names.add(match[1]);
  }
  for (const prefix of connectionPrefixes) names.add(prefix);
  return names;
}

export function codeSources(): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
      const relative = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) sources.set(relative, readFileSync(path.join(REPO_ROOT, relative), "utf8"));
    }
  };
  walk("shared");
  walk("functions");
  return sources;
}

export interface SettingsProbe {
  /** Runs the code's settings readers against `env` as the app of `role` would; returns the keys they read, or throws what they throw. */
  read(env: Record<string, string>, role: AppIdentity): Set<string>;
}

/**
 * Settings the shared loader reads in every app but only the core app's functions use (the
 * index's, ingest's and the timers'): the media app runs without them (the loader's defaults,
 * which nothing in it acts on), so its settings say only what it runs.
 */
export const CORE_ONLY_SETTINGS: Record<string, string> = {
  CUSTODY_REQUIRED_STAGES: "the index decides readiness",
  CUSTODY_ACCEPTED_CONTAINERS: "ingest and reconcile",
  CUSTODY_EVENT_SOURCE: "the index publishes the events",
  CUSTODY_FIXITY_SCHEDULE: "the fixity-sample timer",
  CUSTODY_FIXITY_SAMPLE: "the fixity-sample timer",
  CUSTODY_FIXITY_RECHECK_HOURS: "the fixity-sample timer",
  CUSTODY_RECONCILE_SCHEDULE: "the reconcile timer",
  CUSTODY_RECONCILE_STUCK_AFTER_MINUTES: "the reconcile timer",
  CUSTODY_RECONCILE_LOOKBACK_HOURS: "the reconcile timer",
  CUSTODY_DISPOSAL_SCHEDULE: "the disposal timer",
  CUSTODY_DISPOSAL_MAX: "the disposal timer",
  CUSTODY_DISPOSAL_ENABLED: "the disposal timer (main.bicep disposalEnabled)",
  CUSTODY_SIGNING_KEY_ID: "the index signs evidence manifests (only the core identity may sign: bicep/modules/signing.bicep)",
  CUSTODY_CONTENT_CREDENTIALS_CHAIN: "the content-credentials function signs images with the same key (core app only)",
  CUSTODY_COSMOS_DATABASE: "the evidence index",
  CUSTODY_COSMOS_CONTAINER: "the evidence index",
  CUSTODY_RETRY_BUDGET_MINUTES: "the index schedules the stages' retries and ingest/the index re-schedule their own messages",
  CUSTODY_RETRY_FIRST_DELAY_MS: "the index schedules the stages' retries and ingest/the index re-schedule their own messages",
  CUSTODY_RETRY_MAX_DELAY_MS: "the index schedules the stages' retries and ingest/the index re-schedule their own messages",
};

/** Settings only the media app acts on: not set on the core app (the shared loader may read them there, with their defaults). */
export const MEDIA_ONLY_SETTINGS: Record<string, string> = {
  CUSTODY_SEGMENT_SECONDS: "the transcode plan run (media app) chooses the segment length; the index takes it from the plan",
  FFMPEG_PATH: "the media app's pinned ffmpeg (its package's tools/ffmpeg/); the core app runs no ffmpeg and carries none",
  FFPROBE_PATH: "the media app's pinned ffprobe (its package's tools/ffmpeg/); the core app runs no ffmpeg and carries none",
};

/**
 * One app's settings (`service`: custody or custody-media): every setting the code reads in
 * that role is set, identity-based, with that app's own client id, and accepted by the code's
 * own loader; CUSTODY_APP_ROLE names the role. The media app has no evidence index setting.
 */
export function checkAppSettings(files: Files, probe: SettingsProbe, namesInCode: Set<string>, service = "custody"): string[] {
  const problems: string[] = [];
  const role = FUNCTION_APPS[service];
  if (role === undefined) return [`no function app is known as ${service}`];
  const settings = appSettings(files, service);
  if (settings.length === 0) return [`no appsettings resource (Microsoft.Web/sites/config 'appsettings') for the ${service} app found`];
  const env = azureEnvironment(settings, files);
  let read: Set<string>;
  try {
    read = probe.read(env, role);
  } catch (error) {
    return [`the code refuses the ${service} app's Bicep settings: ${(error as Error).message}`];
  }
  const unusedHere = role === "media" ? CORE_ONLY_SETTINGS : MEDIA_ONLY_SETTINGS;
  for (const key of read) {
    if (key in env || key in unusedHere) continue;
    if (!(key in LOCAL_ONLY_SETTINGS)) problems.push(`the ${service} app's code reads ${key}, which Bicep does not set`);
  }
  for (const key of namesInCode) {
    if (!(key in env) && !(key in LOCAL_ONLY_SETTINGS) && !(key in unusedHere)) problems.push(`the code names setting ${key}, which Bicep does not set on the ${service} app`);
  }
  for (const key of Object.keys(LOCAL_ONLY_SETTINGS)) if (key in env) problems.push(`Bicep sets ${key} on the ${service} app: ${LOCAL_ONLY_SETTINGS[key]}`);
  if (literal(settings.find((s) => s.name === "CUSTODY_APP_ROLE")?.expression) !== role)
    problems.push(`the ${service} app's CUSTODY_APP_ROLE is not '${role}': it would register ${role === "core" ? "other" : "every"} app's functions`);
  if (role === "media") {
    for (const { name } of settings) {
      if (/^EvidenceIndex/.test(name) || name in CORE_ONLY_SETTINGS) problems.push(`the media app sets ${name}: it has no index access and runs none of the functions that use it`);
    }
  } else {
    for (const { name } of settings) if (name in MEDIA_ONLY_SETTINGS) problems.push(`the core app sets ${name}: ${MEDIA_ONLY_SETTINGS[name]}`);
  }
  for (const { name, expression } of settings) {
    if (/__credential$/.test(name) && literal(expression) !== "managedidentity") problems.push(`${service}: ${name} is ${expression}, not 'managedidentity'`);
  }
  const prefixes = [...new Set(settings.filter((s) => /__credential$/.test(s.name)).map((s) => s.name.replace(/__credential$/, "")))];
  for (const prefix of prefixes) if (!(`${prefix}__clientId` in env)) problems.push(`${service}: ${prefix}__clientId is not set: the user-assigned identity would not be used`);
  if ("AzureWebJobsStorage" in env) problems.push(`${service}: AzureWebJobsStorage is a connection string: use AzureWebJobsStorage__blobServiceUri with the identity`);
  if (!("AzureWebJobsStorage__accountName" in env) && !("AzureWebJobsStorage__blobServiceUri" in env)) problems.push(`${service}: host storage (AzureWebJobsStorage__…) is not identity-based`);
  if (!/^ClientId=[0-9a-f-]{36};Authorization=AAD$/.test(env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? ""))
    problems.push(`${service}: APPLICATIONINSIGHTS_AUTHENTICATION_STRING is not ClientId=<app identity>;Authorization=AAD`);
  return problems;
}

/** Each function app (both azd services): Flex Consumption on its own plan, Node, a user-assigned identity and an identity-based deployment container. */
export function checkFunctionApp(files: Files): string[] {
  const problems: string[] = [];
  const file = "bicep/modules/functions.bicep";
  const source = files.get(file) ?? "";
  const declared = allDeclarations(files).filter((d) => d.file === file);
  const plans = new Set<string>();
  for (const service of Object.keys(FUNCTION_APPS)) {
    const site = functionSite(files, service);
    if (!site) {
      problems.push(`no site is tagged azd-service-name: ${service} (azure.yaml's service)`);
      continue;
    }
    const props = objectProperty(site.body, "properties") ?? "";
    const planSymbol = /^([A-Za-z_][A-Za-z0-9_]*)\.id$/.exec(property(props, "serverFarmId")?.trim() ?? "")?.[1];
    const plan = declared.find((d) => d.symbol === planSymbol && d.type === "Microsoft.Web/serverfarms");
    if (literal(propertyPath(plan?.body ?? "", "sku.name")) !== "FC1" || literal(propertyPath(plan?.body ?? "", "sku.tier")) !== "FlexConsumption")
      problems.push(`${service}: the plan is not Flex Consumption (FC1)`);
    if (planSymbol !== undefined && plans.has(planSymbol)) problems.push(`${service}: shares its plan with another app (Flex Consumption runs one app per plan)`);
    if (planSymbol !== undefined) plans.add(planSymbol);
    const config = objectProperty(props, "functionAppConfig") ?? "";
    if (literal(propertyPath(config, "runtime.name")) !== "node") problems.push(`${service}: the runtime is not node`);
    const version = propertyPath(config, "runtime.version");
    if (!version || !params(source).has(version)) problems.push(`${service}: the Node version is not a parameter`);
    for (const key of ["instanceMemoryMB", "maximumInstanceCount"]) {
      const value = propertyPath(config, `scaleAndConcurrency.${key}`);
      if (!value || !params(source).has(value)) problems.push(`${service}: scaleAndConcurrency.${key} is not a parameter`);
    }
    if (literal(propertyPath(config, "deployment.storage.authentication.type")) !== "UserAssignedIdentity") problems.push(`${service}: the deployment container is not read with the app identity`);
    if (literal(propertyPath(site.body, "identity.type")) !== "UserAssigned") problems.push(`${service}: the app has no user-assigned identity`);
  }
  return problems;
}

/** The decorators (`@allowed([…])`, `@maxValue(n)`, …) written directly above `param name` in `source`. */
function paramDecorators(source: string, name: string): string {
  const match = new RegExp(String.raw`((?:^@[^\n]*\n)*)^param\s+${name}\b`, "m").exec(stripComments(source));
  return match?.[1] ?? "";
}

/**
 * The media app sized for segment runs (docs/deploy.md "The media app, sized for segments"):
 * its own instance memory and instance ceiling, from main.bicep parameters that default to
 * 4096 MB (2 vCPU: a segment encode uses both) and 100 instances (at most Flex's 1,000); one Service Bus message per function per instance
 * (`maxConcurrentCalls` 1, overriding the shared host.json's 4); the segment length setting at
 * the code's default.
 */
export function checkMediaSizing(files: Files, defaultSegmentSeconds: number): string[] {
  const problems: string[] = [];
  const file = "bicep/modules/functions.bicep";
  const main = files.get("bicep/main.bicep") ?? "";
  const scale = (service: string, key: string): string | undefined =>
    propertyPath(objectProperty(objectProperty(functionSite(files, service)?.body ?? "", "properties") ?? "", "functionAppConfig") ?? "", `scaleAndConcurrency.${key}`)?.trim();
  const expectations: Array<{ key: string; allowed?: string; defaultValue: number; max?: number }> = [
    { key: "instanceMemoryMB", allowed: "[2048, 4096]", defaultValue: 4096 },
    { key: "maximumInstanceCount", defaultValue: 100, max: 1000 },
  ];
  for (const { key, allowed, defaultValue, max } of expectations) {
    const media = scale("custody-media", key);
    if (media === undefined) {
      problems.push(`the media app has no scaleAndConcurrency.${key}`);
      continue;
    }
    if (media === scale("custody", key)) problems.push(`the media app's ${key} is the core app's (${media}): it is sized for segment runs on its own`);
    const passed = traceModuleParameter(files, file, media);
    const param = passed === undefined ? undefined : params(main).get(passed);
    if (passed === undefined || param === undefined) {
      problems.push(`the media app's ${key} (${media}) is not a main.bicep parameter passed to the functions module`);
      continue;
    }
    if (Number(param.defaultValue) !== defaultValue) problems.push(`main.bicep ${passed} defaults to ${param.defaultValue}, not ${defaultValue}`);
    const decorators = paramDecorators(main, passed);
    if (allowed !== undefined && !decorators.includes(`@allowed(${allowed})`)) problems.push(`main.bicep ${passed} does not allow exactly ${allowed}`);
    const maxValue = /@maxValue\((\d+)\)/.exec(decorators)?.[1];
    if (max !== undefined && (maxValue === undefined || Number(maxValue) > max)) problems.push(`main.bicep ${passed} has no @maxValue of at most ${max} (Flex Consumption's ceiling)`);
  }
  const env = azureEnvironment(appSettings(files, "custody-media"), files);
  const concurrency = env.AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls;
  if (concurrency !== "1") problems.push(`the media app's Service Bus maxConcurrentCalls is ${concurrency ?? "host.json's (not overridden)"}, not 1 segment run per function per instance`);
  if (env.CUSTODY_SEGMENT_SECONDS !== String(defaultSegmentSeconds))
    problems.push(`the media app's CUSTODY_SEGMENT_SECONDS is ${env.CUSTODY_SEGMENT_SECONDS ?? "not set"}, not the code's default ${defaultSegmentSeconds}`);
  return problems;
}

/** The identity module output, host storage module and Cosmos principal each app's wiring must use. */
const APP_WIRING: Record<AppIdentity, { service: string; identityParam: string; identityOutput: string; principalOutput: string; hostStorageParam: string; containerParam: string }> = {
  core: {
    service: "custody",
    identityParam: "appIdentityName",
    identityOutput: "appIdentityName",
    principalOutput: "appPrincipalId",
    hostStorageParam: "hostStorageName",
    containerParam: "deploymentContainerName",
  },
  media: {
    service: "custody-media",
    identityParam: "mediaIdentityName",
    identityOutput: "mediaIdentityName",
    principalOutput: "mediaPrincipalId",
    hostStorageParam: "mediaHostStorageName",
    containerParam: "mediaDeploymentContainerName",
  },
};

/**
 * Each app runs as its own identity, end to end: the site's user-assigned identity, the
 * package read and every connection's client id are that identity's; its host storage is its
 * own account (Owner there could replace the other app's package), hosted for that identity;
 * and only the core identity reaches the evidence index.
 */
export function checkAppIdentities(files: Files): string[] {
  const problems: string[] = [];
  const file = "bicep/modules/functions.bicep";
  const source = stripComments(files.get(file) ?? "");
  const declared = allDeclarations(files);
  const mainModules = declared.filter((d) => d.file === "bicep/main.bicep" && d.kind === "module");
  const moduleParams = (symbol: string | undefined): string => objectProperty(mainModules.find((d) => d.symbol === symbol)?.body ?? "", "params") ?? "";
  const functionsModule = mainModules.find((d) => d.type === "modules/functions.bicep");
  const passed = objectProperty(functionsModule?.body ?? "", "params") ?? "";
  const hostModules = new Set<string>();
  for (const identity of APP_IDENTITIES) {
    const wiring = APP_WIRING[identity];
    const site = functionSite(files, wiring.service);
    if (!site) {
      problems.push(`no site for the ${identity} app (${wiring.service})`);
      continue;
    }
    // The identity resource the site runs as, and the variable holding its client id.
    const identitySymbol = declared.find(
      (d) => d.file === file && d.existing && d.type === "Microsoft.ManagedIdentity/userAssignedIdentities" && property(d.body, "name")?.trim() === wiring.identityParam,
    )?.symbol;
    if (!identitySymbol) {
      problems.push(`functions.bicep: no identity resource named by ${wiring.identityParam}`);
      continue;
    }
    if (property(passed, wiring.identityParam)?.trim() !== `identities.outputs.${wiring.identityOutput}`)
      problems.push(`main.bicep passes ${property(passed, wiring.identityParam)?.trim() ?? "nothing"} as ${wiring.identityParam}, not identities.outputs.${wiring.identityOutput}`);
    const identities = property(objectProperty(site.body, "identity") ?? "", "userAssignedIdentities") ?? "";
    if (!identities.includes(`\${${identitySymbol}.id}`) || (identities.match(/\$\{/g) ?? []).length !== 1)
      problems.push(`${wiring.service}: the site does not run as exactly its own identity (${identitySymbol})`);
    const storage = objectProperty(objectProperty(objectProperty(objectProperty(site.body, "properties") ?? "", "functionAppConfig") ?? "", "deployment") ?? "", "storage") ?? "";
    if (propertyPath(storage, "authentication.userAssignedIdentityResourceId") !== `${identitySymbol}.id`) problems.push(`${wiring.service}: the package is read with another identity than the app's`);
    const hostSymbol = declared.find((d) => d.file === file && d.existing && d.type === "Microsoft.Storage/storageAccounts" && property(d.body, "name")?.trim() === wiring.hostStorageParam)?.symbol;
    if (!hostSymbol || !(property(storage, "value") ?? "").includes(`\${${hostSymbol}.properties.primaryEndpoints.blob}\${${wiring.containerParam}}`))
      problems.push(`${wiring.service}: the package container is not in the app's own host storage (${wiring.hostStorageParam}/${wiring.containerParam})`);
    const clientIdVar = [...vars(source)].find(([, value]) => value === `${identitySymbol}.properties.clientId`)?.[0];
    const settings = appSettings(files, wiring.service);
    for (const { name, expression } of settings) {
      if (/__clientId$/.test(name) && expression.trim() !== clientIdVar) problems.push(`${wiring.service}: ${name} is ${expression}, not the app's own identity (${clientIdVar ?? "?"})`);
      if (name === "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" && !expression.includes(`\${${clientIdVar}}`)) problems.push(`${wiring.service}: telemetry is sent as another identity`);
      if (name === "AzureWebJobsStorage__blobServiceUri" && expression.trim() !== `${hostSymbol}.properties.primaryEndpoints.blob`)
        problems.push(`${wiring.service}: the host storage setting names another account than the app's own`);
    }
    // The host storage account passed for this app is a module instance hosting this identity.
    const hostModule = /^([A-Za-z_][A-Za-z0-9_]*)\.outputs\.accountName$/.exec(property(passed, wiring.hostStorageParam)?.trim() ?? "")?.[1];
    const containerModule = /^([A-Za-z_][A-Za-z0-9_]*)\.outputs\.deploymentContainerName$/.exec(property(passed, wiring.containerParam)?.trim() ?? "")?.[1];
    if (!hostModule || hostModule !== containerModule) problems.push(`${wiring.service}: its host storage and package container do not come from one host-storage module`);
    else {
      if (hostModules.has(hostModule)) problems.push(`${wiring.service}: shares host storage module ${hostModule} with another app`);
      hostModules.add(hostModule);
      if (mainModules.find((d) => d.symbol === hostModule)?.type !== "modules/host-storage.bicep") problems.push(`${wiring.service}: ${hostModule} is not a host-storage module`);
      if (property(moduleParams(hostModule), "hostedAppPrincipalId")?.trim() !== `identities.outputs.${wiring.principalOutput}`)
        problems.push(`${wiring.service}: its host storage (${hostModule}) is granted to another identity than the app's`);
    }
  }
  const prefixes = [...hostModules].map((m) => property(moduleParams(m), "accountNamePrefix")?.trim());
  if (new Set(prefixes).size !== prefixes.length) problems.push(`the host storage accounts would have the same name (prefixes ${prefixes.join(", ")})`);
  // Only the core identity reaches the index: the cosmos module gets the core principal and nothing names the media one.
  const cosmosModule = mainModules.find((d) => d.type === "modules/cosmos.bicep");
  if (property(moduleParams(cosmosModule?.symbol), "appPrincipalId")?.trim() !== "identities.outputs.appPrincipalId")
    problems.push("main.bicep gives the evidence index (cosmos module) another identity than the core app's");
  if (/mediaPrincipalId|mediaIdentity/.test(stripComments(cosmosModule?.body ?? ""))) problems.push("main.bicep passes the media identity to the cosmos module");
  return problems;
}

/**
 * The media identity's whole reach, on every path the templates grant access: no Cosmos DB
 * data-plane role, and no Send (Sender or Owner) on any queue or topic but media-results — so
 * the code that parses untrusted video cannot claim a hash (stage-results), publish an event
 * (evidence-ready), announce a recording (evidence-received, blob-created) or touch the index.
 */
/** `mediaTriggers`: the entities the media app's functions are triggered by (Data Owner there is the trigger's, see ALLOWED_GRANTS). */
export function checkMediaIdentity(files: Files, mediaTriggers: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const assignment of allDeclarations(files).filter((d) => d.type === "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")) {
    if (property(objectProperty(assignment.body, "properties") ?? "", "principalId")?.trim() === "mediaPrincipalId")
      problems.push(`${assignment.file} ${assignment.symbol}: the media identity gets a Cosmos DB data-plane role`);
  }
  const { grants, problems: unresolved } = roleGrants(files);
  problems.push(...unresolved);
  for (const grant of grants.filter((g) => g.principal === "media")) {
    if (/^Microsoft\.DocumentDB\//.test(grant.scopeType)) problems.push(`${grant.where}: the media identity gets ${grant.role} on the Cosmos DB account`);
    const sends = grant.role === "serviceBusDataSender" || grant.role === "serviceBusDataOwner";
    const onQueueOrTopic = grant.scopeType === "Microsoft.ServiceBus/namespaces" || grant.scopeType === QUEUES || grant.scopeType === TOPICS;
    const resultsSend = grant.role === "serviceBusDataSender" && grant.entity === "queue media-results";
    // Owner on a queue that triggers a media function (the index's work orders): it could send to that queue, which only hands the media app more of its own work.
    const triggerOwner = grant.role === "serviceBusDataOwner" && grant.scopeType === QUEUES && grant.entity !== undefined && mediaTriggers.has(grant.entity);
    if (sends && onQueueOrTopic && !resultsSend && !triggerOwner) {
      problems.push(
        `${grant.where}: the media identity gets ${grant.role} on ${grant.entity ?? grant.scopeName ?? grant.scopeType} — it may send to media-results only (and own the queues that trigger it)`,
      );
    }
  }
  if (!grants.some((g) => g.principal === "media" && g.role === "serviceBusDataSender" && g.entity === "queue media-results"))
    problems.push("the media identity cannot send its results to media-results");
  return problems;
}

/**
 * What each app's functions use, from the function files (`const { … } = await getServices()`),
 * against what its identity is granted: the index ⇔ the Cosmos DB data-plane role; the media
 * tool (ffmpeg reading through signed URLs, renditions written) ⇔ Blob Delegator on the evidence
 * account and Contributor on derived; blobs ⇔ Reader on originals; retention (the index's
 * policies, holds and disposal) ⇔ the retention keeper role on originals and the rendition
 * disposer role on derived.
 */
export function checkStorageAndIndexAccessMatchesCode(files: Files, servicesUsed: Record<AppIdentity, Set<string>>): string[] {
  const problems: string[] = [];
  const { grants, problems: unresolved } = roleGrants(files);
  problems.push(...unresolved);
  const cosmosPrincipals = new Set(
    allDeclarations(files)
      .filter((d) => d.type === "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
      .map((d) => PRINCIPALS[property(objectProperty(d.body, "properties") ?? "", "principalId")?.trim() ?? ""]),
  );
  for (const identity of APP_IDENTITIES) {
    const uses = servicesUsed[identity];
    const has = (role: string, scopeName?: string, scopeType?: string): boolean =>
      grants.some((g) => g.principal === identity && g.role === role && (scopeName === undefined || g.scopeName === scopeName) && (scopeType === undefined || g.scopeType === scopeType));
    const needs: Array<[boolean, boolean, string]> = [
      [uses.has("index"), cosmosPrincipals.has(identity), "the evidence index (Cosmos DB data-plane role)"],
      [uses.has("media"), has("storageBlobDelegator", undefined, "Microsoft.Storage/storageAccounts"), "signing read URLs for ffmpeg (Storage Blob Delegator)"],
      [uses.has("media"), has("storageBlobDataContributor", "derived"), "writing renditions (Contributor on derived)"],
      [uses.has("blobs") || uses.has("media"), has("storageBlobDataReader", "originals"), "reading originals (Reader on originals)"],
      [uses.has("retention"), has(`${CUSTOM_ROLE}retentionKeeperRole`, "originals"), "setting retention policies and legal holds, and disposing of originals (the retention keeper role on originals)"],
      [uses.has("retention"), has(`${CUSTOM_ROLE}renditionDisposerRole`, "derived"), "deleting a disposed recording's renditions (the rendition disposer role on derived)"],
      [uses.has("contentCredentials"), has(`${CUSTOM_ROLE}imageSignerRole`, "derived"), "reading the thumbnail stage's images and creating their signed copies (the image signer role on derived)"],
      [uses.has("audit"), has("storageBlobDataContributor", "audit"), "writing audit records (Contributor on audit)"],
      [uses.has("manifests"), has("storageBlobDataContributor", "manifests"), "storing signed evidence manifests (Contributor on manifests)"],
    ];
    for (const [needed, granted, what] of needs) {
      if (needed && !granted) problems.push(`the ${identity} app's functions need ${what}, which its identity is not granted`);
      if (!needed && granted) problems.push(`the ${identity} identity is granted ${what}, which no function of that app uses (broader than needed)`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// azd

export function checkAzureYaml(files: Files): string[] {
  const problems: string[] = [];
  let doc: { name?: unknown; infra?: { path?: unknown; provider?: unknown; module?: unknown }; services?: Record<string, { project?: unknown; language?: unknown; host?: unknown }> };
  try {
    doc = parseYaml(files.get("azure.yaml") ?? "") as typeof doc;
  } catch (error) {
    return [`azure.yaml is not valid YAML: ${(error as Error).message}`];
  }
  if (typeof doc?.name !== "string" || !/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(doc.name)) problems.push("azure.yaml name must be lower-case letters, digits and hyphens");
  const infraPath = doc?.infra?.path;
  if (infraPath !== "bicep" && infraPath !== "./bicep" && infraPath !== "bicep/") problems.push(`azure.yaml infra.path is ${JSON.stringify(infraPath)}, not bicep`);
  const module = typeof doc?.infra?.module === "string" ? doc.infra.module : "main";
  if (typeof infraPath === "string" && !files.has(`bicep/${module}.bicep`)) problems.push(`azure.yaml points to ${infraPath}/${module}.bicep, which does not exist`);
  if (!files.has("bicep/main.parameters.json")) problems.push("bicep/main.parameters.json is missing");
  // One package, two apps: each service deploys app/ (the deployment package) to the site tagged with its name.
  for (const name of Object.keys(FUNCTION_APPS)) {
    const service = doc?.services?.[name];
    if (!service) {
      problems.push(`azure.yaml has no service ${name}`);
      continue;
    }
    if (service.host !== "function") problems.push(`service ${name} host is ${JSON.stringify(service.host)}, not function`);
    if (service.language !== "ts") problems.push(`service ${name} language is ${JSON.stringify(service.language)}, not ts`);
    if (service.project !== "./app" && service.project !== "app") problems.push(`service ${name} project is ${JSON.stringify(service.project)}, not app/ (the deployment package)`);
    if (!functionSite(files, name)) problems.push(`service ${name}: no function app is tagged azd-service-name: ${name}`);
  }
  for (const name of Object.keys(doc?.services ?? {}))
    if (!(name in FUNCTION_APPS)) problems.push(`azure.yaml service ${name} is not one of the function apps (${Object.keys(FUNCTION_APPS).join(", ")})`);
  const parameters = JSON.parse(files.get("bicep/main.parameters.json") ?? "{}") as { parameters?: Record<string, { value: string }> };
  const declared = params(files.get(`bicep/${module}.bicep`) ?? "");
  for (const [name, variable] of [
    ["environmentName", "AZURE_ENV_NAME"],
    ["location", "AZURE_LOCATION"],
  ]) {
    if (parameters.parameters?.[name]?.value !== `\${${variable}}`) problems.push(`main.parameters.json: ${name} is not \${${variable}}`);
  }
  for (const name of Object.keys(parameters.parameters ?? {})) if (!declared.has(name)) problems.push(`main.parameters.json sets ${name}, which main.bicep does not declare`);
  for (const [name, { defaultValue }] of declared)
    if (defaultValue === undefined && !(name in (parameters.parameters ?? {}))) problems.push(`main.bicep parameter ${name} has no default and no value in main.parameters.json`);
  return problems;
}
