/**
 * The evidence-signing key in Azure (bicep/modules/signing.bicep), checked statically like the
 * rest of the deployment: a Key Vault that nobody can purge, private in the private profile and
 * audited, an EC P-256 HSM key that may only sign and verify, a custom role with exactly sign
 * and read given to the core app's identity alone on that key, and the key's id in the core
 * app's CUSTODY_SIGNING_KEY_ID in the form the code accepts. Each rule runs on the real files
 * and on copies mutated in memory, to show it catches what it is for.
 */
import { loadSigningSettings } from "../../shared/settings";
import { allDeclarations, literal, mutate, objectProperty, property, propertyPath, readDeploymentFiles, stripComments, vars, type Declaration, type Files } from "./bicep";
import { appSettings } from "./checks";

const SIGNING = "bicep/modules/signing.bicep";
const MAIN = "bicep/main.bicep";
const FUNCTIONS = "bicep/modules/functions.bicep";
const SIGN = "Microsoft.KeyVault/vaults/keys/sign/action";
const READ = "Microsoft.KeyVault/vaults/keys/read";

const files: Files = readDeploymentFiles();
const squash = (text: string | undefined): string => (text ?? "").replace(/\s+/g, " ").trim();
const created = (all: Files, file: string, type: string): Declaration[] => allDeclarations(all).filter((d) => d.file === file && d.type === type && d.kind === "resource" && !d.existing);

/** A list literal's items, with variables of the file resolved to their literal values. */
function listItems(value: string | undefined, source: string): string[] | undefined {
  const text = value?.trim();
  if (text === undefined || !text.startsWith("[") || !text.endsWith("]")) return undefined;
  const variables = vars(source);
  return text
    .slice(1, -1)
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((item) => literal(item) ?? literal(variables.get(item)) ?? `<${item}>`);
}

function checkSigningVault(all: Files): string[] {
  const problems: string[] = [];
  const vault = created(all, SIGNING, "Microsoft.KeyVault/vaults")[0];
  if (!vault) return ["signing.bicep creates no Key Vault"];
  for (const [path, expected] of [
    ["properties.enableRbacAuthorization", "true"],
    ["properties.enableSoftDelete", "true"],
    ["properties.enablePurgeProtection", "true"],
    ["properties.publicNetworkAccess", "privateNetwork ? 'Disabled' : 'Enabled'"],
    ["properties.sku", "{ family: 'A', name: 'premium' }"],
  ] as const)
    if (squash(propertyPath(vault.body, path)) !== expected) problems.push(`signing vault: ${path} is ${squash(propertyPath(vault.body, path)) || "not set"}, not ${expected}`);
  const acls = squash(propertyPath(vault.body, "properties.networkAcls"));
  if (!acls.includes("defaultAction: privateNetwork ? 'Deny' : 'Allow'") || !acls.includes("ipRules: []") || !acls.includes("virtualNetworkRules: []") || !acls.includes("bypass: 'None'"))
    problems.push(`signing vault: the firewall lets networks in (${acls})`);
  if (/accessPolicies/.test(stripComments(vault.body))) problems.push("signing vault: access policies (RBAC only)");
  // Private profile: an endpoint on the vault in the endpoint subnet, registered in the vaultcore zone.
  const endpoint = created(all, SIGNING, "Microsoft.Network/privateEndpoints")[0];
  if (endpoint?.condition !== "privateNetwork" || !/privateLinkServiceId: vault\.id/.test(endpoint.body) || !/groupIds: \['vault'\]/.test(endpoint.body))
    problems.push("signing vault: no private endpoint (groupId vault) in the private profile");
  if (squash(propertyPath(endpoint?.body ?? "", "properties.subnet")) !== "{ id: privateEndpointSubnetId }") problems.push("signing vault: the private endpoint is not in the endpoint subnet");
  const zone = created(all, SIGNING, "Microsoft.Network/privateDnsZones")[0];
  const zoneName = vars(all.get(SIGNING) ?? "").get(squash(property(zone?.body ?? "", "name"))) ?? "";
  if (zone?.condition !== "privateNetwork" || !/^'privatelink\$\{replace\(environment\(\)\.suffixes\.keyvaultDns, '\.vault\.', '\.vaultcore\.'\)\}'$/.test(zoneName.trim()))
    problems.push("signing vault: the private DNS zone is not privatelink.vaultcore.<the cloud's suffix>");
  const group = created(all, SIGNING, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")[0];
  if (!group || !/privateDnsZoneId: vaultZone\.id/.test(group.body)) problems.push("signing vault: the private endpoint does not register in the zone");
  const link = created(all, SIGNING, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")[0];
  if (squash(propertyPath(link?.body ?? "", "properties.virtualNetwork")) !== "{ id: vnetId }") problems.push("signing vault: the zone is not linked to the network");
  // Every use of the key audited.
  const audit = created(all, SIGNING, "Microsoft.Insights/diagnosticSettings").find((d) => squash(property(d.body, "scope")) === "vault");
  if (!audit || !/category: 'AuditEvent', enabled: true/.test(audit.body) || squash(propertyPath(audit.body, "properties.workspaceId")) !== "workspaceId")
    problems.push("signing vault: its AuditEvent log does not go to the workspace");
  // main.bicep wires it to the network, the workspace and the core identity.
  const call = allDeclarations(all).find((d) => d.file === MAIN && d.kind === "module" && d.type === "modules/signing.bicep");
  const params = objectProperty(call?.body ?? "", "params") ?? "";
  for (const [name, expected] of [
    ["appPrincipalId", "identities.outputs.appPrincipalId"],
    ["privateNetwork", "privateNetwork"],
    ["vnetId", "privateNetwork ? network.outputs.vnetId : ''"],
    ["privateEndpointSubnetId", "privateNetwork ? network.outputs.privateEndpointSubnetId : ''"],
    ["workspaceId", "monitoring.outputs.workspaceId"],
  ] as const)
    if (squash(property(params, name)) !== expected) problems.push(`main.bicep module signing: ${name} is ${squash(property(params, name)) || "not passed"}, not ${expected}`);
  if (call !== undefined && call.condition !== undefined) problems.push("main.bicep: the signing module is conditional; every deployment signs its manifests");
  return problems;
}

function checkSigningKey(all: Files): string[] {
  const problems: string[] = [];
  const keys = created(all, SIGNING, "Microsoft.KeyVault/vaults/keys");
  if (keys.length !== 1) return [`signing.bicep creates ${keys.length} keys, not one`];
  const props = objectProperty(keys[0]?.body ?? "", "properties") ?? "";
  if (literal(property(props, "kty")) !== "EC-HSM") problems.push(`the signing key is ${squash(property(props, "kty"))}, not an HSM EC key (EC-HSM)`);
  if (literal(property(props, "curveName")) !== "P-256") problems.push(`the signing key's curve is ${squash(property(props, "curveName"))}, not P-256 (ES256)`);
  const ops = listItems(property(props, "keyOps"), all.get(SIGNING) ?? "");
  if (JSON.stringify([...(ops ?? [])].sort()) !== JSON.stringify(["sign", "verify"])) problems.push(`the signing key's operations are ${JSON.stringify(ops)}, not exactly sign and verify`);
  return problems;
}

function checkSignerRole(all: Files): string[] {
  const problems: string[] = [];
  const source = all.get(SIGNING) ?? "";
  const definitions = created(all, SIGNING, "Microsoft.Authorization/roleDefinitions");
  const role = definitions.find((d) => d.symbol === "signerRole");
  if (!role || definitions.length !== 1) return ["signing.bicep: not exactly one custom role, signerRole"];
  const props = objectProperty(role.body, "properties") ?? "";
  if (literal(property(props, "type")) !== "CustomRole") problems.push("signerRole: type is not 'CustomRole'");
  if (squash(property(props, "assignableScopes")) !== "[resourceGroup().id]") problems.push("signerRole: assignable beyond this resource group");
  if (!/\$\{resourceGroup\(\)\.name\}/.test(property(props, "roleName") ?? "")) problems.push("signerRole: roleName does not name the resource group (role names are unique in the tenant)");
  const permissions = property(props, "permissions")?.trim() ?? "";
  if ([...permissions.matchAll(/\{/g)].length !== 1) problems.push("signerRole: not exactly one permissions block");
  const block = permissions.slice(permissions.indexOf("{") + 1, permissions.lastIndexOf("}"));
  for (const key of ["actions", "notActions", "notDataActions"]) if (JSON.stringify(listItems(property(block, key), source)) !== "[]") problems.push(`signerRole: ${key} is not []`);
  const dataActions = listItems(property(block, "dataActions"), source) ?? [];
  if (JSON.stringify([...dataActions].sort()) !== JSON.stringify([READ, SIGN].sort()))
    problems.push(`signerRole: dataActions are ${JSON.stringify(dataActions)}, not exactly keys/sign/action and keys/read`);

  const signing = created(all, SIGNING, "Microsoft.Authorization/roleAssignments");
  if (signing.length !== 1) problems.push(`signing.bicep: ${signing.length} role assignments, expected one (the core app's)`);
  for (const assignment of signing) {
    const p = objectProperty(assignment.body, "properties") ?? "";
    if (squash(property(p, "principalId")) !== "appPrincipalId") problems.push(`${assignment.symbol}: granted to ${squash(property(p, "principalId"))}, not the core app's identity`);
    if (squash(property(p, "roleDefinitionId")).replace(/\s/g, "") !== "subscriptionResourceId('Microsoft.Authorization/roleDefinitions',signerRole.name)")
      problems.push(`${assignment.symbol}: not the signer's own role`);
    if (squash(property(assignment.body, "scope")) !== "key") problems.push(`${assignment.symbol}: scoped to ${squash(property(assignment.body, "scope")) || "the resource group"}, not the one key`);
    if (literal(property(p, "principalType")) !== "ServicePrincipal") problems.push(`${assignment.symbol}: principalType is not 'ServicePrincipal'`);
  }
  // The signer role is used nowhere else, and no template gives anyone a built-in Key Vault data role on the signing vault.
  for (const other of allDeclarations(all).filter((d) => d.file !== SIGNING && /\bsignerRole\b/.test(d.body))) problems.push(`${other.file} ${other.symbol}: uses the signer role`);
  const call = allDeclarations(all).find((d) => d.file === MAIN && d.kind === "module" && d.type === "modules/signing.bicep");
  if (/mediaPrincipalId|operatorGroupObjectId/.test(call?.body ?? "")) problems.push("main.bicep passes another identity to the signing module");
  return problems;
}

function checkSigningSetting(all: Files): string[] {
  const problems: string[] = [];
  const core = appSettings(all, "custody").find((s) => s.name === "CUSTODY_SIGNING_KEY_ID");
  if (core?.expression.trim() !== "signingKey.properties.keyUri") problems.push(`the core app's CUSTODY_SIGNING_KEY_ID is ${core?.expression ?? "not set"}, not the signing key's keyUri`);
  if (appSettings(all, "custody-media").some((s) => s.name === "CUSTODY_SIGNING_KEY_ID")) problems.push("the media app is told the signing key (it may not sign)");
  const key = allDeclarations(all).find((d) => d.file === FUNCTIONS && d.symbol === "signingKey");
  if (!key?.existing || key.type !== "Microsoft.KeyVault/vaults/keys" || squash(property(key.body, "name")) !== "'${signingVaultName}/${signingKeyName}'")
    problems.push("functions.bicep: signingKey is not the existing key named by the signing module");
  const call = allDeclarations(all).find((d) => d.file === MAIN && d.kind === "module" && d.type === "modules/functions.bicep");
  const params = objectProperty(call?.body ?? "", "params") ?? "";
  if (squash(property(params, "signingVaultName")) !== "signing.outputs.vaultName") problems.push("main.bicep does not pass the signing module's vault to the apps");
  const signingCall = allDeclarations(all).find((d) => d.file === MAIN && d.kind === "module" && d.type === "modules/signing.bicep");
  if (squash(property(params, "signingKeyName")) !== squash(property(objectProperty(signingCall?.body ?? "", "params") ?? "", "keyName")))
    problems.push("main.bicep passes the apps a different key name than the signing module creates");
  return problems;
}

describe("the real templates", () => {
  test("a purge-protected, RBAC-only, audited Key Vault, private in the private profile", () => {
    expect(checkSigningVault(files)).toEqual([]);
  });
  test("one EC-HSM P-256 key that may only sign and verify", () => {
    expect(checkSigningKey(files)).toEqual([]);
  });
  test("a custom role with exactly sign and read, for the core identity only, on the key", () => {
    expect(checkSignerRole(files)).toEqual([]);
  });
  test("the core app (only) is told the key, in the form the code accepts", () => {
    expect(checkSigningSetting(files)).toEqual([]);
    // The versionless key URI Key Vault gives (keyUri) is what loadSigningSettings accepts.
    expect(loadSigningSettings({ CUSTODY_SIGNING_KEY_ID: "https://kv-sign-abc123.vault.azure.net/keys/custody-evidence-signing" })).toMatchObject({ kind: "keyVault" });
    expect(literal(vars(files.get(MAIN) ?? "").get("signingKeyName"))).toMatch(/^[0-9A-Za-z-]{1,127}$/);
  });
});

describe("each check catches the mistake it is for (templates mutated in memory)", () => {
  test.each([
    ["purge protection off", "enablePurgeProtection: true", "enablePurgeProtection: false"],
    ["access policies instead of RBAC", "enableRbacAuthorization: true", "enableRbacAuthorization: false"],
    ["public in the private profile", "publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'", "publicNetworkAccess: 'Enabled'"],
    ["a firewall open to Azure services", "bypass: 'None'", "bypass: 'AzureServices'"],
    ["a standard vault (no HSM)", "sku: { family: 'A', name: 'premium' }", "sku: { family: 'A', name: 'standard' }"],
    [
      "no private endpoint",
      "resource vaultEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = if (privateNetwork) {",
      "resource vaultEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = if (false) {",
    ],
    [
      "the public-cloud zone written in",
      "var vaultZoneName = 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'",
      "var vaultZoneName = 'privatelink.vault.example'",
    ],
    ["no audit log", "logs: [{ category: 'AuditEvent', enabled: true }]", "logs: []"],
  ])("vault: %s", (_what, search, replacement) => {
    expect(checkSigningVault(mutate(files, SIGNING, search, replacement))).not.toEqual([]);
  });

  test("vault: not private when the profile is", () => {
    expect(checkSigningVault(mutate(files, MAIN, "vnetId: privateNetwork ? network.outputs.vnetId : ''\n    privateEndpointSubnetId", "vnetId: ''\n    privateEndpointSubnetId"))).not.toEqual([]);
    expect(checkSigningVault(mutate(files, MAIN, "module signing 'modules/signing.bicep' = {", "module signing 'modules/signing.bicep' = if (false) {"))).not.toEqual([]);
  });

  test.each([
    ["a software key", "kty: 'EC-HSM'", "kty: 'EC'"],
    ["another curve", "curveName: 'P-256'", "curveName: 'P-384'"],
    ["an RSA key", "kty: 'EC-HSM'\n    curveName: 'P-256'", "kty: 'RSA-HSM'"],
    ["decrypt allowed", "keyOps: ['sign', 'verify']", "keyOps: ['sign', 'verify', 'decrypt']"],
  ])("key: %s", (_what, search, replacement) => {
    expect(checkSigningKey(mutate(files, SIGNING, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["decrypt added", SIGNING, "dataActions: [signAction, readAction]", "dataActions: [signAction, readAction, 'Microsoft.KeyVault/vaults/keys/decrypt/action']"],
    ["a wildcard", SIGNING, "dataActions: [signAction, readAction]", "dataActions: ['Microsoft.KeyVault/vaults/keys/*']"],
    ["read dropped (no JWKS)", SIGNING, "dataActions: [signAction, readAction]", "dataActions: [signAction]"],
    ["a management action", SIGNING, "        actions: []\n", "        actions: ['Microsoft.KeyVault/vaults/write']\n"],
    ["assignable in the subscription", SIGNING, "assignableScopes: [resourceGroup().id]", "assignableScopes: [subscription().id]"],
    ["granted on the vault, not the key", SIGNING, "  scope: key\n", "  scope: vault\n"],
    ["granted to the media identity", MAIN, "appPrincipalId: identities.outputs.appPrincipalId\n    keyName", "appPrincipalId: identities.outputs.mediaPrincipalId\n    keyName"],
    [
      "Key Vault Crypto User instead",
      SIGNING,
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', signerRole.name)",
      "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)",
    ],
  ])("role: %s", (_what, file, search, replacement) => {
    expect(checkSignerRole(mutate(files, file, search, replacement))).not.toEqual([]);
  });

  test.each([
    ["no key id for the core app", FUNCTIONS, "    CUSTODY_SIGNING_KEY_ID: signingKey.properties.keyUri\n", ""],
    ["a versioned id written in", FUNCTIONS, "CUSTODY_SIGNING_KEY_ID: signingKey.properties.keyUri", "CUSTODY_SIGNING_KEY_ID: signingKey.properties.keyUriWithVersion"],
    ["another vault", MAIN, "signingVaultName: signing.outputs.vaultName", "signingVaultName: keys.outputs.vaultName"],
    ["another key name", MAIN, "signingKeyName: signingKeyName", "signingKeyName: 'custody-evidence'"],
  ])("setting: %s", (_what, file, search, replacement) => {
    expect(checkSigningSetting(mutate(files, file, search, replacement))).not.toEqual([]);
  });
});
