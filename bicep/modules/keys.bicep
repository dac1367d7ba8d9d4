// Regulated option customerManagedEncryption: the tenant's own key, in a Key Vault it controls, wraps
// the evidence account's and the Cosmos DB account's data keys. Revoking the key (or the
// identity's role) makes the data unreadable — to everyone, Microsoft included.
// - Key Vault with RBAC authorization, soft delete (90 days) and purge protection: both are
//   required of a vault holding storage or Cosmos DB keys, and purge protection means nobody,
//   an administrator included, can destroy the key before the retention ends;
// - firewall default Deny with the trusted-services bypass: the only callers are Azure Storage
//   and Cosmos DB themselves, which reach the vault as trusted services;
// - an RSA-HSM key (premium vault) used only to wrap and unwrap;
// - a user-assigned identity (it exists before the accounts, which are encrypted from creation)
//   with Key Vault Crypto Service Encryption User on this key only.
param location string
param tags object
param token string
param roles object
@description('Name of the key (main.bicep passes the same name to the accounts that use it).')
param keyName string

resource encryptionIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-custody-cmk-${token}'
  location: location
  tags: tags
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-custody-${token}'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'premium' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices', ipRules: [], virtualNetworkRules: [] }
  }
}

resource key 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: keyName
  properties: {
    kty: 'RSA-HSM'
    keySize: 3072
    keyOps: ['wrapKey', 'unwrapKey']
  }
}

resource cmkIdentityUsesKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(key.id, encryptionIdentity.id, roles.keyVaultCryptoServiceEncryptionUser)
  scope: key
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoServiceEncryptionUser)
    principalId: encryptionIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Names and ids only: the accounts look the vault and the key up themselves.
output vaultName string = vault.name
output identityId string = encryptionIdentity.id
