// A Functions host's own storage account, separate from the evidence: the host keeps its
// leases (timer singleton locks, host id) here and Flex Consumption reads the deployment
// package from a container here. The host needs broad blob rights on its storage (it creates
// containers), so those rights must not be on the evidence account — nor on the other app's
// host account: an identity with Owner there could replace that app's package and run as it.
// So each app gets its own account from this module (main.bicep). Keyless like the rest.
param location string
param tags object
param token string
@description('Name prefix of the account (\'stcustodyfn\' for the core app, \'stcustodymd\' for the media app).')
param accountNamePrefix string
@description('The identity of the one app this account hosts.')
param hostedAppPrincipalId string
param roles object
@description('Private profile: no public endpoint at all — the app reaches this account through its private endpoints (private-endpoints.bicep).')
param privateNetwork bool
@description('Zone-redundant storage (ZRS) instead of locally redundant (LRS).')
param zoneRedundant bool = false

var deploymentContainerName = 'app-package'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: '${accountNamePrefix}${take(token, 12)}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: zoneRedundant ? 'Standard_ZRS' : 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // No Azure service needs to reach a host account from outside, so private means no public
    // endpoint and no firewall exception. (The trial profile keeps the public endpoint.)
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
    networkAcls: { defaultAction: privateNetwork ? 'Deny' : 'Allow', bypass: privateNetwork ? 'None' : 'AzureServices' }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

// "Storage Blob Data Owner covers the basic needs of Functions host storage" (Functions docs,
// identity-based host storage): the host creates its own containers, which Contributor cannot.
// Scoped to this host-only account, never the evidence account (test/deploy checks both).
resource appUsesHostStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, hostedAppPrincipalId, roles.storageBlobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: hostedAppPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output accountName string = account.name
output deploymentContainerName string = deploymentContainer.name
// The predeploy hook (scripts/await-package-roles.js) waits until this assignment has had time to take effect.
output packageRoleAssignmentId string = appUsesHostStorage.id
