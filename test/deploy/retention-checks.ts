/**
 * Retention in Azure (docs/deploy.md "Retention and disposal"): the originals container's default
 * policy is the retention schedule's default period, read from the schedule file; the proof
 * (ledger, audit) is kept longer than any category keeps footage; the core app's retention
 * rights are two custom roles with exactly the actions its storage calls need; only records
 * officers may send releases and case-management systems only retention commands; lifecycle
 * rules tier and never delete; the disposal timer is a parameter. Each check returns its problems
 * (empty = the rule holds); retention.test.ts runs them on the real files and on mutated copies.
 */
import { allDeclarations, literal, loadedFiles, matchingBracket, objectProperty, params, property, propertyPath, resolveName, stripComments, vars, type Declaration, type Files } from "./bicep";
import { appSettings } from "./checks";

const MAIN = "bicep/main.bicep";
const STORAGE = "bicep/modules/evidence-storage.bicep";
const SERVICE_BUS = "bicep/modules/servicebus.bicep";
const FUNCTIONS = "bicep/modules/functions.bicep";
const PARAMETERS = "bicep/main.parameters.json";
const SCHEDULE = "retention/schedule.json";
const ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments";
const ROLE_DEFINITION = "Microsoft.Authorization/roleDefinitions";
const POLICY = "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies";

const BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
/** Set Blob Immutability Policy (and Delete/shorten an Unlocked one): the ABAC page's "Write Blob legal hold and immutability policy". */
export const IMMUTABILITY_ACTION = `${BLOBS}/immutableStorage/runAsSuperUser/action`;
/** Set Blob Legal Hold in the REST permissions table (a control-plane Action). */
export const CONTAINER_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/write";
export const BLOB_READ = `${BLOBS}/read`;
export const BLOB_DELETE = `${BLOBS}/delete`;
/** Delete Blob ?versionid= of a previous version (versioning-overview). */
export const DELETE_VERSION = `${BLOBS}/deleteBlobVersion/action`;

/**
 * The custom roles the templates may define, with exactly these permissions. The retention
 * roles: what shared/adapters/azure-retention-store.ts calls need, never write, append or
 * permanent delete.
 */
export const RETENTION_ROLES: Record<string, { container: string; actions: string[]; dataActions: string[] }> = {
  retentionKeeperRole: { container: "originals", actions: [CONTAINER_WRITE], dataActions: [BLOB_READ, IMMUTABILITY_ACTION, DELETE_VERSION, BLOB_DELETE] },
  renditionDisposerRole: { container: "derived", actions: [], dataActions: [BLOB_READ, DELETE_VERSION, BLOB_DELETE] },
};

interface ScheduleFile {
  defaultCategory: string;
  categories: Record<string, { retain: { days?: number; years?: number } }>;
}

/** The longest period any category keeps footage, in days: `years` calendar years hold at most one leap day in four (10 years ≤ 3653 days). */
export function longestRetentionDays(scheduleText: string): number {
  const schedule = JSON.parse(scheduleText) as ScheduleFile;
  const days = ({ days, years = 0 }: { days?: number; years?: number }): number => (days ?? 0) + 365 * years + Math.ceil(years / 4);
  return Math.max(...Object.values(schedule.categories).map(({ retain }) => days(retain)));
}

function mainModule(files: Files, type: string): Declaration | undefined {
  return allDeclarations(files).find((d) => d.file === MAIN && d.kind === "module" && d.type === type);
}

function passed(files: Files, moduleType: string, param: string): string | undefined {
  return property(objectProperty(mainModule(files, moduleType)?.body ?? "", "params") ?? "", param)?.trim();
}

function parametersJson(files: Files): Record<string, string> {
  const parsed = JSON.parse(files.get(PARAMETERS) ?? "{}") as { parameters?: Record<string, { value: unknown }> };
  return Object.fromEntries(Object.entries(parsed.parameters ?? {}).map(([name, { value }]) => [name, String(value)]));
}

function decorators(source: string, name: string): string {
  return new RegExp(String.raw`((?:^@[^\n]*\n)*)^param\s+${name}\b`, "m").exec(stripComments(source))?.[1] ?? "";
}

/** The container's default policy declaration in the evidence storage module. */
function containerPolicy(files: Files, container: string): Declaration | undefined {
  const source = files.get(STORAGE) ?? "";
  const declared = allDeclarations(files).filter((d) => d.file === STORAGE);
  const symbol = declared.find((d) => d.type === "Microsoft.Storage/storageAccounts/blobServices/containers" && resolveName(property(d.body, "name"), source) === container)?.symbol;
  return declared.find((d) => d.type === POLICY && property(d.body, "parent")?.trim() === symbol);
}

/** A Bicep list of strings (literals, vars of `source` holding literals, or interpolated strings as written) → the strings. */
function stringList(value: string | undefined, source: string): string[] | undefined {
  const trimmed = value?.trim();
  if (trimmed === undefined || !trimmed.startsWith("[")) return undefined;
  return trimmed
    .slice(1, -1)
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((item) => resolveName(item, source) ?? /^'([^']*)'$/.exec(item)?.[1] ?? `<${item}>`);
}

// ---------------------------------------------------------------------------------------------
// The originals container's default = the schedule's default category

/**
 * main.bicep loads retention/schedule.json and passes its default category's period in days —
 * not a parameter — to the evidence storage module, whose originals policy uses it; the default
 * category is stated in days (Bicep reads `.retain.days`) within the service's 1–146,000.
 */
export function checkOriginalsDefaultFromSchedule(files: Files, scheduleText: string): string[] {
  const problems: string[] = [];
  const main = files.get(MAIN) ?? "";
  if (!loadedFiles(MAIN, main).includes(SCHEDULE)) problems.push(`main.bicep does not loadJsonContent('../${SCHEDULE}')`);
  const mainVars = vars(main);
  const scheduleVar = [...mainVars].find(([, value]) => /^loadJsonContent\(\s*'\.\.\/retention\/schedule\.json'\s*\)$/.test(value))?.[0];
  const value = passed(files, "modules/evidence-storage.bicep", "originalsDefaultRetentionDays");
  if (value === undefined) problems.push("main.bicep does not pass originalsDefaultRetentionDays to the evidence storage module");
  else if (params(main).has(value)) problems.push(`main.bicep passes the parameter ${value} as the originals' default retention: it must come from the schedule`);
  else {
    const expression = (mainVars.get(value) ?? value).replace(/\s/g, "");
    const expected = scheduleVar ? `${scheduleVar}.categories[${scheduleVar}.defaultCategory].retain.days` : "(the schedule's var)";
    if (expression !== expected) problems.push(`the originals' default retention is ${expression}, not the schedule's default category's days (${expected})`);
  }
  for (const name of ["originalsRetentionDays", "originalsDefaultRetentionDays"]) if (params(main).has(name)) problems.push(`main.bicep declares a parameter ${name}: the period is the schedule's`);
  if ("originalsRetentionDays" in parametersJson(files)) problems.push("main.parameters.json still sets originalsRetentionDays");
  const days = propertyPath(containerPolicy(files, "originals")?.body ?? "", "properties.immutabilityPeriodSinceCreationInDays")?.trim();
  if (days !== "originalsDefaultRetentionDays" || !params(files.get(STORAGE) ?? "").has(days))
    problems.push(`the originals policy's period is ${days ?? "not set"}, not the module's originalsDefaultRetentionDays`);
  const schedule = JSON.parse(scheduleText) as ScheduleFile;
  const retain = schedule.categories[schedule.defaultCategory]?.retain;
  if (retain === undefined) problems.push(`the schedule's default category ${schedule.defaultCategory} does not exist`);
  else {
    if (retain.years !== undefined) problems.push(`the schedule's default category keeps ${retain.years} years: the template reads its days only (give the period in days)`);
    if (!Number.isSafeInteger(retain.days) || (retain.days ?? 0) < 1 || (retain.days ?? 0) > 146000)
      problems.push(`the default category's days (${retain.days ?? "none"}) are not a container policy period (1–146,000)`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The proof outlives the footage

/**
 * The ledger and audit containers' policies use `proofRetentionDays`, a main.bicep parameter
 * (bounded 1–146,000, mapped for azd with the same default) whose default is at least the
 * longest period in the schedule: an entry outlives the footage it is about.
 */
export function checkProofRetention(files: Files, scheduleText: string): string[] {
  const problems: string[] = [];
  const main = files.get(MAIN) ?? "";
  for (const container of ["ledger", "audit", "manifests"]) {
    const days = propertyPath(containerPolicy(files, container)?.body ?? "", "properties.immutabilityPeriodSinceCreationInDays")?.trim();
    if (days !== "proofRetentionDays") problems.push(`the ${container} policy's period is ${days ?? "not set"}, not proofRetentionDays`);
  }
  if (passed(files, "modules/evidence-storage.bicep", "proofRetentionDays") !== "proofRetentionDays") problems.push("main.bicep does not pass its proofRetentionDays to the evidence storage module");
  const declared = params(main).get("proofRetentionDays");
  const longest = longestRetentionDays(scheduleText);
  const fallback = Number(declared?.defaultValue);
  if (declared?.type !== "int" || !(fallback >= longest))
    problems.push(`main.bicep proofRetentionDays defaults to ${declared?.defaultValue ?? "nothing"}, shorter than the longest category (${longest} days)`);
  const bounds = decorators(main, "proofRetentionDays");
  if (!/@minValue\(1\)/.test(bounds) || !/@maxValue\(146000\)/.test(bounds)) problems.push("main.bicep proofRetentionDays is not bounded by the service's 1–146,000 days");
  if (parametersJson(files).proofRetentionDays !== `\${CUSTODY_PROOF_RETENTION_DAYS=${declared?.defaultValue ?? "?"}}`)
    problems.push(`main.parameters.json: proofRetentionDays is not \${CUSTODY_PROOF_RETENTION_DAYS=${declared?.defaultValue ?? "?"}}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The core app's retention roles

/** Both retention roles: exactly their permissions, resource-group assignable, named per resource group, assigned to the core app on their one container. */
export function checkRetentionRoles(files: Files): string[] {
  const problems: string[] = [];
  const source = files.get(STORAGE) ?? "";
  const declared = allDeclarations(files);
  for (const [symbol, expected] of Object.entries(RETENTION_ROLES)) {
    const role = declared.find((d) => d.file === STORAGE && d.symbol === symbol && d.type === ROLE_DEFINITION && !d.existing);
    if (!role) {
      problems.push(`evidence-storage.bicep: no ${symbol} custom role definition`);
      continue;
    }
    if (role.condition !== undefined) problems.push(`${symbol} is conditional (${role.condition}): the index needs it whenever it runs`);
    const props = objectProperty(role.body, "properties") ?? "";
    if (literal(property(props, "type")) !== "CustomRole") problems.push(`${symbol}: type is not 'CustomRole'`);
    if (property(props, "assignableScopes")?.replace(/\s/g, "") !== "[resourceGroup().id]") problems.push(`${symbol}: assignable beyond this resource group`);
    if (!/\$\{resourceGroup\(\)\.name\}/.test(property(props, "roleName") ?? "")) problems.push(`${symbol}: roleName does not name the resource group (role names are unique in the tenant)`);
    const permissions = property(props, "permissions")?.trim() ?? "";
    if (!permissions.startsWith("[") || [...permissions.matchAll(/\{/g)].length !== 1) problems.push(`${symbol}: not exactly one permissions block`);
    const block = permissions.slice(permissions.indexOf("{") + 1, permissions.lastIndexOf("}"));
    const sorted = (list: string[] | undefined): string => JSON.stringify([...(list ?? ["(missing)"])].sort());
    for (const [key, want] of [
      ["actions", expected.actions],
      ["dataActions", expected.dataActions],
      ["notActions", []],
      ["notDataActions", []],
    ] as const) {
      const got = stringList(property(block, key), source);
      if (sorted(got) !== sorted([...want])) problems.push(`${symbol}: ${key} are ${JSON.stringify(got ?? null)}, not exactly ${JSON.stringify(want)}`);
    }
    const assignments = declared.filter(
      (d) =>
        d.type === ROLE_ASSIGNMENT &&
        property(objectProperty(d.body, "properties") ?? "", "roleDefinitionId")?.replace(/\s/g, "") === `subscriptionResourceId('Microsoft.Authorization/roleDefinitions',${symbol}.name)`,
    );
    if (assignments.length !== 1) problems.push(`${symbol}: ${assignments.length} assignments, expected one (the core app's)`);
    for (const assignment of assignments) {
      const p = objectProperty(assignment.body, "properties") ?? "";
      const scope = property(assignment.body, "scope")?.trim();
      const scoped = declared.find((d) => d.file === assignment.file && d.symbol === scope);
      if (resolveName(property(scoped?.body ?? "", "name"), source) !== expected.container || scoped?.type !== "Microsoft.Storage/storageAccounts/blobServices/containers")
        problems.push(`${assignment.symbol}: not scoped to the ${expected.container} container`);
      if (property(p, "principalId")?.trim() !== "appPrincipalId") problems.push(`${assignment.symbol}: not the core app's identity`);
      if (literal(property(p, "principalType")) !== "ServicePrincipal") problems.push(`${assignment.symbol}: principalType is not 'ServicePrincipal'`);
      if (assignment.condition !== undefined || assignment.loop !== undefined) problems.push(`${assignment.symbol}: conditional or looped`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Who may send retention commands and releases

/**
 * Records officers: a group parameter (empty = none, mapped for azd), Send on `retention-releases`
 * only, plus what `custody release` reads and writes (the index, read-only; its audit record),
 * every grant only when the group is given. Case-management systems: an array parameter, Send on
 * `retention-commands` only, one service-principal assignment per entry.
 */
export function checkRetentionSenders(files: Files): string[] {
  const problems: string[] = [];
  const main = files.get(MAIN) ?? "";
  const declaredParams = params(main);
  if (declaredParams.get("recordsOfficerGroupObjectId")?.type !== "string" || declaredParams.get("recordsOfficerGroupObjectId")?.defaultValue !== "''")
    problems.push("main.bicep: no `param recordsOfficerGroupObjectId string = ''`");
  if (parametersJson(files).recordsOfficerGroupObjectId !== "${CUSTODY_RECORDS_OFFICER_GROUP_ID}")
    problems.push("main.parameters.json: recordsOfficerGroupObjectId is not ${CUSTODY_RECORDS_OFFICER_GROUP_ID}");
  if (declaredParams.get("caseManagementPrincipalIds")?.type !== "array" || declaredParams.get("caseManagementPrincipalIds")?.defaultValue !== "[]")
    problems.push("main.bicep: no `param caseManagementPrincipalIds array = []`");
  if (passed(files, "modules/servicebus.bicep", "recordsOfficerPrincipalId") !== "recordsOfficerGroupObjectId")
    problems.push("main.bicep does not pass recordsOfficerGroupObjectId to the Service Bus module");
  if (passed(files, "modules/servicebus.bicep", "caseManagementPrincipalIds") !== "caseManagementPrincipalIds")
    problems.push("main.bicep does not pass caseManagementPrincipalIds to the Service Bus module");
  const source = files.get(SERVICE_BUS) ?? "";
  const declared = allDeclarations(files);
  const check = (principal: RegExp, expected: { queue: string; type: string; condition?: string; loop?: RegExp }, who: string): void => {
    const grants = declared.filter((d) => d.file === SERVICE_BUS && d.type === ROLE_ASSIGNMENT && principal.test(property(objectProperty(d.body, "properties") ?? "", "principalId")?.trim() ?? ""));
    if (grants.length !== 1) problems.push(`${grants.length} Service Bus role assignments for ${who}, expected one`);
    for (const grant of grants) {
      const p = objectProperty(grant.body, "properties") ?? "";
      const scoped = declared.find((d) => d.file === grant.file && d.symbol === property(grant.body, "scope")?.trim());
      if (scoped?.type !== "Microsoft.ServiceBus/namespaces/queues" || resolveName(property(scoped.body, "name"), source) !== expected.queue)
        problems.push(`${grant.symbol}: ${who} not scoped to the queue ${expected.queue}`);
      if (property(p, "roleDefinitionId")?.replace(/\s/g, "") !== "subscriptionResourceId('Microsoft.Authorization/roleDefinitions',roles.serviceBusDataSender)")
        problems.push(`${grant.symbol}: ${who} get more than Send`);
      if (literal(property(p, "principalType")) !== expected.type) problems.push(`${grant.symbol}: principalType is not '${expected.type}'`);
      if (expected.condition !== undefined && grant.condition?.replace(/\s/g, "") !== expected.condition) problems.push(`${grant.symbol}: not conditional on ${expected.condition}`);
      if (expected.loop !== undefined && !expected.loop.test(grant.loop ?? "")) problems.push(`${grant.symbol}: not one assignment per entry of caseManagementPrincipalIds`);
    }
  };
  check(/^recordsOfficerPrincipalId$/, { queue: "retention-releases", type: "Group", condition: "!empty(recordsOfficerPrincipalId)" }, "records officers");
  check(/^caseSystem$/, { queue: "retention-commands", type: "ServicePrincipal", loop: /^caseSystem\s+in\s+caseManagementPrincipalIds$/ }, "case-management systems");
  // What `custody release` needs besides Send: the index read (each recording checked first) and its audit record.
  for (const module of ["modules/evidence-storage.bicep", "modules/cosmos.bicep"])
    if (passed(files, module, "recordsOfficerPrincipalId") !== "recordsOfficerGroupObjectId") problems.push(`main.bicep does not pass recordsOfficerGroupObjectId to ${module}`);
  const officerGrants = declared.filter(
    (d) =>
      (d.type === ROLE_ASSIGNMENT || d.type === "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments") &&
      property(objectProperty(d.body, "properties") ?? "", "principalId")?.trim() === "recordsOfficerPrincipalId",
  );
  for (const grant of officerGrants) {
    if (grant.condition?.replace(/\s/g, "") !== "!empty(recordsOfficerPrincipalId)") problems.push(`${grant.file} ${grant.symbol}: not conditional on a records officers' group being given`);
    if (grant.type === ROLE_ASSIGNMENT && literal(propertyPath(grant.body, "properties.principalType")) !== "Group") problems.push(`${grant.file} ${grant.symbol}: principalType is not 'Group'`);
  }
  const auditGrant = officerGrants.find((d) => d.file === STORAGE && property(d.body, "scope")?.trim() === "audit");
  if (propertyPath(auditGrant?.body ?? "", "properties.roleDefinitionId")?.replace(/\s/g, "") !== "subscriptionResourceId('Microsoft.Authorization/roleDefinitions',roles.storageBlobDataContributor)")
    problems.push("records officers cannot write their audit record (Storage Blob Data Contributor on audit)");
  if (!officerGrants.some((d) => d.type === "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")) problems.push("records officers cannot read the index (a Cosmos DB data-plane reader role)");
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle: tiering only

/** The inner text of each `{…}` element of a Bicep array value. */
function arrayObjects(value: string | undefined): string[] {
  const text = value?.trim() ?? "";
  const found: string[] = [];
  for (let i = text.indexOf("{"); i >= 0;) {
    const close = matchingBracket(text, i);
    found.push(text.slice(i + 1, close));
    i = text.indexOf("{", close + 1);
  }
  return found;
}

/**
 * One lifecycle policy on the evidence account; each rule enabled, block blobs under `originals/`
 * or `derived/` only (a rule without a prefix would reach the ledger and audit), tier actions only
 * — no delete (disposal is the index's; lifecycle delete does not work in immutable containers),
 * no Archive — and Cool no earlier than the default category's period. Both containers are tiered.
 */
export function checkLifecycle(files: Files): string[] {
  const problems: string[] = [];
  const source = files.get(STORAGE) ?? "";
  const policies = allDeclarations(files).filter((d) => d.type === "Microsoft.Storage/storageAccounts/managementPolicies" && !d.existing);
  if (policies.length !== 1) return [`${policies.length} lifecycle policies, expected one on the evidence account`];
  const policy = policies[0];
  if (policy.file !== STORAGE || property(policy.body, "parent")?.trim() !== "account") problems.push("the lifecycle policy is not on the evidence account");
  if (policy.condition !== undefined) problems.push("the lifecycle policy is conditional");
  const rules = arrayObjects(propertyPath(policy.body, "properties.policy.rules"));
  if (rules.length === 0) problems.push("the lifecycle policy has no rules");
  const variables = vars(source);
  const tiered = new Set<string>();
  for (const rule of rules) {
    const name = literal(property(rule, "name")) ?? "(unnamed)";
    if (property(rule, "enabled")?.trim() !== "true") problems.push(`rule ${name}: not enabled`);
    const filters = objectProperty(objectProperty(rule, "definition") ?? "", "filters") ?? "";
    const prefixes = (stringList(property(filters, "prefixMatch"), source) ?? []).map((p) => p.replace(/\$\{([A-Za-z_]+)\}/g, (_all, v: string) => literal(variables.get(v)) ?? `<${v}>`));
    if (prefixes.length === 0) problems.push(`rule ${name}: no prefixMatch — it would reach every container, the ledger and audit included`);
    for (const prefix of prefixes) {
      if (prefix === "originals/" || prefix === "derived/") tiered.add(prefix);
      else problems.push(`rule ${name}: prefix ${prefix} is not originals/ or derived/`);
    }
    if (JSON.stringify(stringList(property(filters, "blobTypes"), source)) !== '["blockBlob"]') problems.push(`rule ${name}: blobTypes are not ['blockBlob']`);
    const actions = objectProperty(objectProperty(rule, "definition") ?? "", "actions") ?? "";
    for (const kind of ["baseBlob", "version", "snapshot"]) {
      const body = objectProperty(actions, kind);
      if (body === undefined) continue;
      for (const action of ["delete", "tierToArchive"])
        if (property(body, action) !== undefined) problems.push(`rule ${name}: ${kind}.${action} (lifecycle only tiers; deleting is the index's, archive takes hours to read)`);
      const cool = propertyPath(body, `tierToCool.${kind === "baseBlob" ? "daysAfterModificationGreaterThan" : "daysAfterCreationGreaterThan"}`)?.trim();
      const coolValue = cool === undefined ? undefined : (variables.get(cool) ?? cool).replace(/\s/g, "");
      if (coolValue === undefined || !/^originalsDefaultRetentionDays(\+\d+)?$/.test(coolValue))
        problems.push(
          `rule ${name}: ${kind}.tierToCool at ${coolValue ?? "nothing"}, not after the default category's period (originalsDefaultRetentionDays + days): footage about to be disposed of would pay Cool's 30-day minimum`,
        );
    }
  }
  for (const prefix of ["originals/", "derived/"]) if (!tiered.has(prefix)) problems.push(`no lifecycle rule tiers ${prefix}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The disposal timer

/** CUSTODY_DISPOSAL_ENABLED on the core app comes from main.bicep's disposalEnabled (bool, default true, mapped for azd). */
export function checkDisposalSetting(files: Files): string[] {
  const problems: string[] = [];
  const setting = appSettings(files)
    .find((s) => s.name === "CUSTODY_DISPOSAL_ENABLED")
    ?.expression.replace(/\s/g, "");
  if (setting !== "disposalEnabled?'true':'false'") problems.push(`the core app's CUSTODY_DISPOSAL_ENABLED is ${setting ?? "not set"}, not disposalEnabled ? 'true' : 'false'`);
  if (params(files.get(FUNCTIONS) ?? "").get("disposalEnabled")?.type !== "bool") problems.push("functions.bicep: no bool parameter disposalEnabled");
  if (passed(files, "modules/functions.bicep", "disposalEnabled") !== "disposalEnabled") problems.push("main.bicep does not pass disposalEnabled to the functions module");
  const declared = params(files.get(MAIN) ?? "").get("disposalEnabled");
  if (declared?.type !== "bool" || declared.defaultValue !== "true")
    problems.push(`main.bicep disposalEnabled is ${declared ? `${declared.type} = ${declared.defaultValue ?? "(no default)"}` : "missing"}, not bool = true`);
  if (parametersJson(files).disposalEnabled !== "${CUSTODY_DISPOSAL_ENABLED=true}") problems.push("main.parameters.json: disposalEnabled is not ${CUSTODY_DISPOSAL_ENABLED=true}");
  return problems;
}
