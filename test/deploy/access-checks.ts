/**
 * Who holds what beyond the apps: the operators (a group of their own, never the deploying
 * principal), the docking stations (write-only, optionally one path prefix each), and the
 * smaller deployment rules of the same review — the host storage setting, the Flex instance
 * bounds, the telemetry sampling parameter, the wait for the package roles, and the paths the
 * templates cite. Each check returns its problems (empty = the rule holds); access.test.ts runs
 * them on the real files and on mutated copies.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { allDeclarations, bicepFiles, objectProperty, outputs, params, property, propertyPath, REPO_ROOT, stripComments, vars, literal, type Declaration, type Files } from "./bicep";
import { appSettings, dependsOnSymbols, FUNCTION_APPS, functionSite } from "./checks";
import { RETENTION_ROLES } from "./retention-checks";

const MAIN = "bicep/main.bicep";
const STORAGE = "bicep/modules/evidence-storage.bicep";
const ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments";
const ROLE_DEFINITION = "Microsoft.Authorization/roleDefinitions";

/** The data actions a dock needs: Put Blob / Put Block / Put Block List, and Append Block. Nothing that reads, lists or deletes. */
export const DOCK_DATA_ACTIONS = ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"];

function mainParamDecorators(source: string, name: string): string {
  return new RegExp(String.raw`((?:^@[^\n]*\n)*)^param\s+${name}\b`, "m").exec(stripComments(source))?.[1] ?? "";
}

function parametersJson(files: Files): Record<string, string> {
  const parsed = JSON.parse(files.get("bicep/main.parameters.json") ?? "{}") as { parameters?: Record<string, { value: unknown }> };
  return Object.fromEntries(Object.entries(parsed.parameters ?? {}).map(([name, { value }]) => [name, String(value)]));
}

function mainModule(files: Files, type: string): Declaration | undefined {
  return allDeclarations(files).find((d) => d.file === MAIN && d.kind === "module" && d.type === type);
}

// ---------------------------------------------------------------------------------------------
// Operators

/**
 * Operator roles come from `operatorGroupObjectId` alone — an Entra ID group, empty = none — and
 * never from the principal that runs azd: azd fills AZURE_PRINCIPAL_ID (and the `deployer()`
 * function returns) the logged-in principal, a CI service principal included, whatever `.env` says.
 */
export function checkOperatorAccess(files: Files): string[] {
  const problems: string[] = [];
  const main = files.get(MAIN) ?? "";
  const declared = params(main);
  const operator = declared.get("operatorGroupObjectId");
  if (operator?.type !== "string" || operator.defaultValue !== "''") problems.push("main.bicep: no `param operatorGroupObjectId string = ''` (operators' group; empty = no operator roles)");
  for (const name of ["principalId", "principalType"]) if (declared.has(name)) problems.push(`main.bicep declares ${name}: azd fills it with whoever deploys`);
  for (const [name, value] of Object.entries(parametersJson(files))) {
    if (/AZURE_PRINCIPAL_(ID|TYPE)/.test(value)) problems.push(`main.parameters.json: ${name} takes ${value}, the principal that runs azd`);
  }
  if (parametersJson(files).operatorGroupObjectId !== "${CUSTODY_OPERATOR_GROUP_ID}") problems.push("main.parameters.json: operatorGroupObjectId is not ${CUSTODY_OPERATOR_GROUP_ID}");
  for (const [file, text] of bicepFiles(files)) {
    if (/\b(az\.)?deployer\(\)/.test(stripComments(text))) problems.push(`${file}: uses deployer(), the principal that runs the deployment`);
  }
  // Every module that grants the operator gets exactly the group parameter.
  for (const module of allDeclarations(files).filter((d) => d.file === MAIN && d.kind === "module")) {
    const passed = property(objectProperty(module.body, "params") ?? "", "operatorPrincipalId")?.trim();
    if (passed !== undefined && passed !== "operatorGroupObjectId") problems.push(`main.bicep passes ${passed} to ${module.symbol} as the operator`);
  }
  const grants = allDeclarations(files).filter(
    (d) =>
      (d.type === ROLE_ASSIGNMENT || d.type === "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments") &&
      property(objectProperty(d.body, "properties") ?? "", "principalId")?.trim() === "operatorPrincipalId",
  );
  if (grants.length === 0) problems.push("no operator role assignment found");
  for (const grant of grants) {
    const where = `${grant.file} ${grant.symbol}`;
    if (grant.condition?.replace(/\s/g, "") !== "!empty(operatorPrincipalId)") problems.push(`${where}: not conditional on an operators' group being given (if (!empty(operatorPrincipalId)))`);
    if (grant.type === ROLE_ASSIGNMENT && literal(propertyPath(grant.body, "properties.principalType")) !== "Group") problems.push(`${where}: principalType is not 'Group'`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Docking stations

/** The Bicep string of `condition` with the dock loop's values put in: what ARM would store for `prefix`. */
export function renderDockCondition(files: Files, prefix: string): string | undefined {
  const source = files.get(STORAGE) ?? "";
  const assignment = allDeclarations(files).find((d) => d.file === STORAGE && d.symbol === "uploadersWriteOriginals");
  const expression = property(objectProperty(assignment?.body ?? "", "properties") ?? "", "condition") ?? "";
  // `empty(prefix) ? null : '…'`: the string branch (from the quote after `null` to the last
  // quote: its interpolations hold quotes of their own), interpolations resolved.
  const trimmed = expression.trim();
  const nullAt = trimmed.indexOf("? null");
  const start = nullAt < 0 ? -1 : trimmed.indexOf("'", nullAt);
  if (start < 0 || !trimmed.endsWith("'")) return undefined;
  const text = trimmed.slice(start);
  const variables = vars(source);
  return text
    .slice(1, -1)
    .replace(/\$\{([^}]*)\}/g, (_all, inner: string) => {
      const name = inner.trim();
      if (/^uploader\.\??pathPrefix(\s*\?\?\s*'')?$/.test(name)) return prefix;
      return literal(variables.get(name)) ?? `<${name}>`;
    })
    .replace(/\\'/g, "'");
}

/**
 * Docks get a custom role with exactly the create and append data actions, assignable in the
 * resource group only, assigned per dock on `originals`; with a `pathPrefix`, an ABAC condition
 * (version 2.0) allows those writes only under it — the blob-path pattern of Microsoft's ABAC
 * examples. No built-in data role (Contributor lists, reads and deletes).
 */
export function checkDockAccess(files: Files): string[] {
  const problems: string[] = [];
  const main = files.get(MAIN) ?? "";
  const source = files.get(STORAGE) ?? "";
  const variables = vars(source);
  if (params(main).get("uploaders")?.defaultValue !== "[]") problems.push("main.bicep: no `param uploaders array = []`");
  if (params(main).has("uploaderPrincipalIds")) problems.push("main.bicep still declares uploaderPrincipalIds");
  if (property(objectProperty(mainModule(files, "modules/evidence-storage.bicep")?.body ?? "", "params") ?? "", "uploaders")?.trim() !== "uploaders")
    problems.push("main.bicep does not pass uploaders to the evidence storage module");

  const definitions = allDeclarations(files).filter((d) => d.type === ROLE_DEFINITION && !d.existing);
  const role = definitions.find((d) => d.file === STORAGE && d.symbol === "dockUploaderRole");
  if (!role) return [...problems, "evidence-storage.bicep: no dockUploaderRole custom role definition"];
  // The index's retention roles are reviewed by checkRetentionRoles (retention-checks.ts), the evidence signer's by test/deploy/signing.test.ts.
  const reviewedElsewhere = (d: (typeof definitions)[number]): boolean =>
    (d.file === STORAGE && (d.symbol in RETENTION_ROLES || d.symbol === "imageSignerRole")) || (d.file === "bicep/modules/signing.bicep" && d.symbol === "signerRole");
  for (const other of definitions.filter((d) => d !== role && !reviewedElsewhere(d))) problems.push(`${other.file} ${other.symbol}: a custom role nobody reviewed`);
  if (role.condition?.replace(/\s/g, "") !== "!empty(uploaders)") problems.push("dockUploaderRole is not created only when there are docks (if (!empty(uploaders)))");
  const props = objectProperty(role.body, "properties") ?? "";
  problems.push(...customRoleProblems("dockUploaderRole", props, variables, DOCK_DATA_ACTIONS, "create (blobs/write) and append (blobs/add/action)"));

  const assignments = allDeclarations(files).filter((d) => d.type === ROLE_ASSIGNMENT && property(objectProperty(d.body, "properties") ?? "", "principalId")?.trim() === "uploader.principalId");
  if (assignments.length !== 1) problems.push(`${assignments.length} dock role assignments, expected one loop over uploaders`);
  for (const assignment of assignments) {
    const where = `${assignment.file} ${assignment.symbol}`;
    const p = objectProperty(assignment.body, "properties") ?? "";
    if (!/^uploader\s+in\s+uploaders$/.test(assignment.loop ?? "")) problems.push(`${where}: not one assignment per entry of uploaders`);
    if (property(p, "roleDefinitionId")?.replace(/\s/g, "") !== "subscriptionResourceId('Microsoft.Authorization/roleDefinitions',dockUploaderRole.name)")
      problems.push(`${where}: not the dock's own write-only role`);
    if (property(assignment.body, "scope")?.trim() !== "originals") problems.push(`${where}: not scoped to the originals container`);
    if (literal(property(p, "principalType")) !== "ServicePrincipal") problems.push(`${where}: principalType is not 'ServicePrincipal'`);
    const version = property(p, "conditionVersion")?.replace(/\s/g, "");
    if (version !== "empty(uploader.?pathPrefix??'')?null:'2.0'") problems.push(`${where}: conditionVersion is ${version ?? "not set"}, not '2.0' exactly when there is a prefix`);
    const condition = property(p, "condition")?.replace(/\s/g, "") ?? "";
    if (!condition.startsWith("empty(uploader.?pathPrefix??'')?null:")) problems.push(`${where}: the condition is not null without a prefix and set with one`);
  }
  const rendered = renderDockCondition(files, "station-07/");
  const expected =
    "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'}) AND !(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'})) " +
    "OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith 'station-07/'))";
  if (rendered !== expected) problems.push(`the dock condition for prefix station-07/ renders as ${rendered ?? "(unreadable)"}, expected ${expected}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The Content Credentials signer

/** Read (the thumbnail stage's images) and Put Blob (their signed copies): no delete, no append or create-by-add, no tags. */
export const IMAGE_SIGNER_DATA_ACTIONS = ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"];

/** What ARM stores as the condition of the signer's assignment: writes only under a thumbnail folder's `c2pa-` folders. */
export const IMAGE_SIGNER_CONDITION =
  "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'})) OR " +
  "(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike '*/thumbnail/c2pa-*' OR " +
  "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike '*/thumbnail/reprocess-*/c2pa-*'))";

/**
 * The core app signs images (functions/content-credentials.ts) with a custom role of exactly read
 * and write, assignable in the resource group only, assigned once to the core identity on
 * `derived`, with an ABAC condition (version 2.0) allowing the write only in the `c2pa-` folders
 * the signed copies go to (shared/stages/credentials-stage.ts checks its orders' folders the same
 * way). No built-in data role: Contributor would let it delete or overwrite every rendition.
 */
export function checkImageSignerAccess(files: Files): string[] {
  const problems: string[] = [];
  const source = files.get(STORAGE) ?? "";
  const variables = vars(source);
  const role = allDeclarations(files).find((d) => d.file === STORAGE && d.type === ROLE_DEFINITION && d.symbol === "imageSignerRole");
  if (!role) return ["evidence-storage.bicep: no imageSignerRole custom role definition"];
  if (role.condition !== undefined) problems.push("imageSignerRole is created only under a condition: the core app always runs content-credentials");
  const props = objectProperty(role.body, "properties") ?? "";
  problems.push(...customRoleProblems("imageSignerRole", props, variables, IMAGE_SIGNER_DATA_ACTIONS, "read (blobs/read) and write (blobs/write)"));

  const assignments = allDeclarations(files).filter((d) => d.type === ROLE_ASSIGNMENT && /imageSignerRole\.name/.test(property(objectProperty(d.body, "properties") ?? "", "roleDefinitionId") ?? ""));
  if (assignments.length !== 1) problems.push(`${assignments.length} assignments of imageSignerRole, expected one (the core identity on derived)`);
  for (const assignment of assignments) {
    const where = `${assignment.file} ${assignment.symbol}`;
    const p = objectProperty(assignment.body, "properties") ?? "";
    if (property(p, "roleDefinitionId")?.replace(/\s/g, "") !== "subscriptionResourceId('Microsoft.Authorization/roleDefinitions',imageSignerRole.name)")
      problems.push(`${where}: the role is not named by its subscription-level id`);
    if (property(p, "principalId")?.trim() !== "appPrincipalId") problems.push(`${where}: not the core app's identity`);
    if (property(assignment.body, "scope")?.trim() !== "derived") problems.push(`${where}: not scoped to the derived container`);
    if (literal(property(p, "principalType")) !== "ServicePrincipal") problems.push(`${where}: principalType is not 'ServicePrincipal'`);
    if (literal(property(p, "conditionVersion")) !== "2.0") problems.push(`${where}: conditionVersion is not '2.0'`);
    const rendered = renderCondition(property(p, "condition"), variables);
    if (rendered !== IMAGE_SIGNER_CONDITION) problems.push(`${where}: the condition renders as ${rendered ?? "(unreadable)"}, expected ${IMAGE_SIGNER_CONDITION}`);
  }
  return problems;
}

/** A single-quoted Bicep string with `${var}` interpolations of the module's vars resolved (escaped quotes unescaped). */
function renderCondition(expression: string | undefined, variables: Map<string, string>): string | undefined {
  const text = expression?.trim();
  if (text === undefined || !text.startsWith("'") || !text.endsWith("'")) return undefined;
  return text
    .slice(1, -1)
    .replace(/\$\{([^}]*)\}/g, (_all, inner: string) => literal(variables.get(inner.trim())) ?? `<${inner.trim()}>`)
    .replace(/\\'/g, "'");
}

// ---------------------------------------------------------------------------------------------
// Smaller rules

/**
 * Host storage by its blob endpoint (`AzureWebJobsStorage__blobServiceUri`, the account's own
 * `primaryEndpoints.blob`), never `__accountName` (which assumes *.core.windows.net); no queue
 * or table URI, since the app has no blob trigger or Durable Functions and its identity has no
 * queue or table role on the host account.
 */
export function checkHostStorageEndpoints(files: Files): string[] {
  const problems: string[] = [];
  for (const service of Object.keys(FUNCTION_APPS)) {
    const settings = appSettings(files, service);
    const uri = settings.find((s) => s.name === "AzureWebJobsStorage__blobServiceUri")?.expression.trim();
    if (!uri || !/^[A-Za-z_][A-Za-z0-9_]*\.properties\.primaryEndpoints\.blob$/.test(uri))
      problems.push(`${service}: AzureWebJobsStorage__blobServiceUri is ${uri ?? "not set"}, not the host account's primaryEndpoints.blob`);
    for (const { name } of settings) {
      if (/^AzureWebJobsStorage__(accountName|queueServiceUri|tableServiceUri)$/i.test(name)) problems.push(`${service}: sets ${name}`);
    }
  }
  return problems;
}

/** Flex Consumption's bounds on maximumInstanceCount (event-driven-scaling#limit-scale-out): 40–1,000. */
export const FLEX_MAXIMUM_INSTANCE_COUNT = { floor: 40, ceiling: 1000 };

/** Both apps' instance ceilings are main.bicep parameters bounded by Flex's floor and ceiling, with defaults (and azd defaults) inside them. */
export function checkInstanceCountBounds(files: Files): string[] {
  const problems: string[] = [];
  const main = files.get(MAIN) ?? "";
  const passedTo = objectProperty(mainModule(files, "modules/functions.bicep")?.body ?? "", "params") ?? "";
  const functionsSource = files.get("bicep/modules/functions.bicep") ?? "";
  for (const service of Object.keys(FUNCTION_APPS)) {
    const config = objectProperty(objectProperty(functionSite(files, service)?.body ?? "", "properties") ?? "", "functionAppConfig") ?? "";
    const moduleParam = propertyPath(config, "scaleAndConcurrency.maximumInstanceCount")?.trim();
    const mainParam = moduleParam && params(functionsSource).has(moduleParam) ? property(passedTo, moduleParam)?.trim() : undefined;
    const declared = mainParam ? params(main).get(mainParam) : undefined;
    if (!mainParam || !declared) {
      problems.push(`${service}: maximumInstanceCount is not a main.bicep parameter`);
      continue;
    }
    const decorators = mainParamDecorators(main, mainParam);
    const min = Number(/@minValue\((\d+)\)/.exec(decorators)?.[1]);
    const max = Number(/@maxValue\((\d+)\)/.exec(decorators)?.[1]);
    if (min !== FLEX_MAXIMUM_INSTANCE_COUNT.floor) problems.push(`main.bicep ${mainParam}: @minValue is ${Number.isNaN(min) ? "missing" : min}, not Flex's floor ${FLEX_MAXIMUM_INSTANCE_COUNT.floor}`);
    if (max !== FLEX_MAXIMUM_INSTANCE_COUNT.ceiling)
      problems.push(`main.bicep ${mainParam}: @maxValue is ${Number.isNaN(max) ? "missing" : max}, not Flex's ceiling ${FLEX_MAXIMUM_INSTANCE_COUNT.ceiling}`);
    const inside = (value: number): boolean => value >= FLEX_MAXIMUM_INSTANCE_COUNT.floor && value <= FLEX_MAXIMUM_INSTANCE_COUNT.ceiling;
    if (!inside(Number(declared.defaultValue))) problems.push(`main.bicep ${mainParam} defaults to ${declared.defaultValue}, outside 40–1000`);
    const azdDefault = /=(\d+)\}$/.exec(parametersJson(files)[mainParam] ?? "")?.[1];
    if (azdDefault !== undefined && !inside(Number(azdDefault))) problems.push(`main.parameters.json ${mainParam} defaults to ${azdDefault}, outside 40–1000`);
  }
  return problems;
}

/** `telemetrySamplingPercentage` (1–100, default 100) reaches both apps as CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE. */
export function checkTelemetrySampling(files: Files): string[] {
  const problems: string[] = [];
  const main = files.get(MAIN) ?? "";
  const declared = params(main).get("telemetrySamplingPercentage");
  if (declared?.type !== "int" || declared.defaultValue !== "100") problems.push("main.bicep: no `param telemetrySamplingPercentage int = 100`");
  const decorators = mainParamDecorators(main, "telemetrySamplingPercentage");
  if (!decorators.includes("@minValue(1)") || !decorators.includes("@maxValue(100)")) problems.push("main.bicep telemetrySamplingPercentage is not bounded to 1–100");
  if (parametersJson(files).telemetrySamplingPercentage !== "${CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE=100}")
    problems.push("main.parameters.json: telemetrySamplingPercentage is not ${CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE=100}");
  if (property(objectProperty(mainModule(files, "modules/functions.bicep")?.body ?? "", "params") ?? "", "telemetrySamplingPercentage")?.trim() !== "telemetrySamplingPercentage")
    problems.push("main.bicep does not pass telemetrySamplingPercentage to the functions module");
  for (const service of Object.keys(FUNCTION_APPS)) {
    const setting = appSettings(files, service)
      .find((s) => s.name === "CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE")
      ?.expression.replace(/\s/g, "");
    if (setting !== "string(telemetrySamplingPercentage)") problems.push(`${service}: CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE is ${setting ?? "not set"}, not the parameter`);
  }
  return problems;
}

/**
 * The first `azd up` does not publish before the apps' package roles can have taken effect: the
 * sites depend on their host storage modules (the role assignment is created before the app),
 * each host storage module outputs its assignment's id, main.bicep outputs both for the hook, and
 * azure.yaml runs scripts/await-package-roles.js before deploying.
 */
export function checkPackageRoleWait(files: Files): string[] {
  const problems: string[] = [];
  const host = files.get("bicep/modules/host-storage.bicep") ?? "";
  const output = outputs(host).find((o) => o.name === "packageRoleAssignmentId");
  const assignment = allDeclarations(files).find((d) => d.file === "bicep/modules/host-storage.bicep" && d.type === ROLE_ASSIGNMENT);
  if (!assignment || output?.value !== `${assignment.symbol}.id`) problems.push("host-storage.bicep does not output its package role assignment's id (packageRoleAssignmentId)");
  const hostModules = allDeclarations(files)
    .filter((d) => d.file === MAIN && d.kind === "module" && d.type === "modules/host-storage.bicep")
    .map((d) => d.symbol);
  const functions = mainModule(files, "modules/functions.bicep");
  const after = functions ? dependsOnSymbols(functions) : [];
  for (const symbol of hostModules) if (!after.includes(symbol)) problems.push(`main.bicep: the function apps do not depend on ${symbol} (its role must exist before the app)`);
  const ids = outputs(files.get(MAIN) ?? "").find((o) => o.name === "CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS")?.value ?? "";
  for (const symbol of hostModules)
    if (!ids.includes(`\${${symbol}.outputs.packageRoleAssignmentId}`)) problems.push(`main.bicep output CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS does not list ${symbol}'s assignment`);
  let yaml: { hooks?: { predeploy?: { run?: unknown } } } | undefined;
  try {
    yaml = parseYaml(files.get("azure.yaml") ?? "") as typeof yaml;
  } catch {
    yaml = undefined;
  }
  if (yaml?.hooks?.predeploy?.run !== "node scripts/await-package-roles.js") problems.push("azure.yaml: no predeploy hook running scripts/await-package-roles.js");
  return problems;
}

/** Repository paths the templates cite in comments and strings (`shared/…ts`, `test/…`, `docs/…md`): each must exist. */
export function citedPaths(files: Files): Array<{ file: string; cited: string }> {
  const found: Array<{ file: string; cited: string }> = [];
  for (const [file, text] of files) {
    if (!file.startsWith("bicep/") && file !== "azure.yaml") continue;
    for (const match of text.matchAll(/(?<![\w./-])((?:shared|functions|cli|local|test|docs|bicep|topology|scripts|bench)\/[\w./-]*\.(?:ts|js|json|md|bicep))\b/g))
      found.push({ file, cited: match[1] });
  }
  return found;
}

export function checkCitedPathsExist(files: Files, exists: (repoPath: string) => boolean = (p) => existsSync(path.join(REPO_ROOT, p))): string[] {
  const cited = citedPaths(files);
  const problems = cited.filter(({ cited: p }) => !exists(p)).map(({ file, cited: p }) => `${file} cites ${p}, which does not exist`);
  if (cited.length === 0) problems.push("no cited paths found (the scan itself is broken)");
  return problems;
}

/**
 * What every custom data role here must be: a CustomRole assignable in this resource group only,
 * named after it (role names are unique in the tenant), one permissions block with no control-plane
 * actions and no exclusions, and exactly `expected` as its data actions.
 */
function customRoleProblems(symbol: string, props: string, variables: Map<string, string>, expected: readonly string[], described: string): string[] {
  const problems: string[] = [];
  if (literal(property(props, "type")) !== "CustomRole") problems.push(`${symbol}: type is not 'CustomRole'`);
  if (property(props, "assignableScopes")?.replace(/\s/g, "") !== "[resourceGroup().id]") problems.push(`${symbol}: assignable beyond this resource group`);
  if (!/\$\{resourceGroup\(\)\.name\}/.test(property(props, "roleName") ?? "")) problems.push(`${symbol}: roleName does not name the resource group (role names are unique in the tenant)`);
  const permissions = property(props, "permissions")?.trim() ?? "";
  if (!permissions.startsWith("[") || [...permissions.matchAll(/\{/g)].length !== 1) problems.push(`${symbol}: not exactly one permissions block`);
  const permission = permissions.slice(permissions.indexOf("{") + 1, permissions.lastIndexOf("}"));
  const list = (key: string): string[] | undefined => {
    const value = property(permission, key)?.trim();
    if (value === undefined || !value.startsWith("[")) return undefined;
    return value
      .slice(1, -1)
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((item) => literal(item) ?? literal(variables.get(item)) ?? `<${item}>`);
  };
  for (const key of ["actions", "notActions", "notDataActions"]) if (JSON.stringify(list(key)) !== "[]") problems.push(`${symbol}: ${key} is ${JSON.stringify(list(key))}, not []`);
  const dataActions = list("dataActions") ?? [];
  if (JSON.stringify([...dataActions].sort()) !== JSON.stringify([...expected].sort())) problems.push(`${symbol}: dataActions are ${JSON.stringify(dataActions)}, not exactly ${described}`);
  return problems;
}
