// The key that signs evidence manifests (docs/decisions/0015-signed-evidence-manifest.md): an EC
// P-256 key in Key Vault's HSMs that signs through Key Vault's crypto API, so the private key
// never leaves the vault — not to the app, not to an administrator.
// - Key Vault with RBAC authorization (no access policies), soft delete and purge protection:
//   nobody, an administrator included, can destroy the key — and with it the means of proving
//   which manifests it signed — before the retention ends;
// - private in the private profile (no public network access; a private endpoint in the
//   endpoint subnet, registered in the privatelink vaultcore zone), public with Entra ID only in
//   the public trial;
// - an EC-HSM P-256 key (premium vault) with key operations sign and verify only;
// - the core app's identity, and no other, gets a custom role on this key with exactly two data
//   actions: sign, and read (the public key and its versions, for the JWKS). Not Key Vault Crypto
//   User: that one also encrypts, decrypts, wraps, unwraps and updates keys;
// - every use of the key (AuditEvent) goes to the workspace, kept as long as the audit tables.
// Rotation is an operator action (`az keyvault key rotate`): a new version signs from the app's
// next start, the old versions stay in the published key set (docs/decisions/0015).
param location string
param tags object
param token string
@description('The core app\'s identity: the only principal that may sign.')
param appPrincipalId string
@description('Name of the signing key (main.bicep passes the same name to the app\'s CUSTODY_SIGNING_KEY_ID).')
param keyName string
param privateNetwork bool
@description('Private profile: the virtual network (for the DNS zone link) and the endpoint subnet.')
param vnetId string = ''
param privateEndpointSubnetId string = ''
@description('The Log Analytics workspace the vault\'s audit events go to.')
param workspaceId string

// The sign data action and the read data action (public key material and versions):
// learn.microsoft.com/azure/role-based-access-control/permissions/security#microsoftkeyvault
var signAction = 'Microsoft.KeyVault/vaults/keys/sign/action'
var readAction = 'Microsoft.KeyVault/vaults/keys/read'
// privatelink.vaultcore.<suffix>: the Key Vault zone of "Azure Private Endpoint private DNS zone values", from the cloud's own suffix.
var vaultZoneName = 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-sign-${token}'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'premium' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
    networkAcls: { defaultAction: privateNetwork ? 'Deny' : 'Allow', bypass: 'None', ipRules: [], virtualNetworkRules: [] }
  }
}

// Created once: a later deployment with the same name leaves the key (and its versions) as they are.
resource key 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: keyName
  properties: {
    kty: 'EC-HSM'
    curveName: 'P-256'
    keyOps: ['sign', 'verify']
  }
}

// Assignable in this resource group only; the role name is tenant-unique, hence the group's name in it.
resource signerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'custody-evidence-signer')
  properties: {
    roleName: 'Custody evidence signer (${resourceGroup().name})'
    description: 'Sign with a Key Vault key and read its public key and versions: no export, decrypt, unwrap, create, rotate or delete.'
    type: 'CustomRole'
    assignableScopes: [resourceGroup().id]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [signAction, readAction]
        notDataActions: []
      }
    ]
  }
}

resource appSignsWithKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(key.id, appPrincipalId, signerRole.name)
  scope: key
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', signerRole.name)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Core app: sign evidence manifests, publish the public keys'
  }
}

resource vaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [{ category: 'AuditEvent', enabled: true }]
  }
}

// ---- Private profile: the vault's private endpoint ------------------------------------------

resource vaultZone 'Microsoft.Network/privateDnsZones@2020-06-01' = if (privateNetwork) {
  name: vaultZoneName
  location: 'global'
  tags: tags
}

resource vaultZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = if (privateNetwork) {
  parent: vaultZone
  name: 'link-custody'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnetId }
  }
}

resource vaultEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = if (privateNetwork) {
  name: 'pe-${vault.name}-vault'
  location: location
  tags: tags
  properties: {
    subnet: { id: privateEndpointSubnetId }
    privateLinkServiceConnections: [
      {
        name: '${vault.name}-vault'
        properties: {
          privateLinkServiceId: vault.id
          groupIds: ['vault']
        }
      }
    ]
  }
}

resource vaultEndpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = if (privateNetwork) {
  parent: vaultEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'vault'
        properties: { privateDnsZoneId: vaultZone.id }
      }
    ]
  }
  dependsOn: [vaultZoneLink]
}

// Names only (the app builds nothing from a secret: there is none).
output vaultName string = vault.name
