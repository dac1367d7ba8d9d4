// Cosmos DB for NoSQL: local (key) auth off, so the only way in is an Entra ID token whose
// principal holds a Cosmos *data-plane* role (sqlRoleAssignments) — ARM roles such as
// Contributor give no access to the data. Database `custody`, container `evidence`,
// partition key /id, indexing policy from cosmos-indexing-policy.json (the same policy the code
// declares in shared/adapters/cosmos-evidence-index.ts; test/deploy checks they are equal).
param location string
param tags object
param token string
param serverless bool
@description('Autoscale ceiling (RU/s) when not serverless.')
param autoscaleMaxThroughput int = 4000
param appPrincipalId string
param operatorPrincipalId string
@description('Object id of the records officers\' Entra ID group (main.bicep recordsOfficerGroupObjectId); empty = none.')
param recordsOfficerPrincipalId string = ''
@description('Private profile: public network access disabled; the core app comes in through the account\'s private endpoint (Sql).')
param privateNetwork bool
@description('Replicas across availability zones in the account\'s region (settable only when the region is added, i.e. at creation).')
param zoneRedundant bool = false
@description('Customer-managed key (keys.bicep): { identityId, vaultName, keyName }, or {} for service-managed keys. Only at account creation.')
param customerManagedKey object = {}

resource encryptionVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = if (!empty(customerManagedKey)) {
  name: customerManagedKey.?vaultName ?? 'none'
}

resource encryptionKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' existing = if (!empty(customerManagedKey)) {
  parent: encryptionVault
  name: customerManagedKey.?keyName ?? 'none'
}

// The defaults of CUSTODY_COSMOS_DATABASE / CUSTODY_COSMOS_CONTAINER (shared/settings.ts); the
// functions module sets both settings from these outputs.
var databaseName = 'custody'
var containerName = 'evidence'
// Built-in data-plane role definitions (the same ids in every account).
var dataReaderRoleId = '00000000-0000-0000-0000-000000000001'
var dataContributorRoleId = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: 'cosmos-custody-${token}'
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  identity: empty(customerManagedKey) ? null : { type: 'UserAssigned', userAssignedIdentities: { '${customerManagedKey.identityId}': {} } }
  properties: {
    databaseAccountOfferType: 'Standard'
    // Entra ID only: account keys cannot read or write data.
    disableLocalAuth: true
    // Databases, containers and indexing policies change only through ARM (this template),
    // never through a data-plane call, even by a key holder.
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [{ locationName: location, failoverPriority: 0, isZoneRedundant: zoneRedundant }]
    capabilities: serverless ? [{ name: 'EnableServerless' }] : []
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
    // Regulated option: data encrypted with the tenant's key, read with the user-assigned
    // identity named as the default identity. Cosmos DB accepts a key only when the account is
    // created.
    keyVaultKeyUri: empty(customerManagedKey) ? null : encryptionKey.properties.keyUri
    defaultIdentity: empty(customerManagedKey) ? null : 'UserAssignedIdentity=${customerManagedKey.identityId}'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: { resource: { id: databaseName } }
}

resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: containerName
  properties: {
    resource: {
      id: containerName
      // One document per recording, id = evidenceId: every write is a point operation.
      partitionKey: { paths: ['/id'], kind: 'Hash', version: 2 }
      indexingPolicy: loadJsonContent('../cosmos-indexing-policy.json')
    }
    options: serverless ? {} : { autoscaleSettings: { maxThroughput: autoscaleMaxThroughput } }
  }
}

// Scoped to the database, not the account. The container would be narrower, but SDKs read
// database metadata on the way to a container, which a container-scoped assignment refuses
// (reported in Azure/azure-cosmos-dotnet-v3#3638); the database holds nothing else.
//
// One at a time: Cosmos DB takes an account-wide lock for each of these operations, and a
// role assignment written while the container (or the other assignment) is still being
// created fails with 412 "another operation is in progress" (seen in
// hashicorp/terraform-provider-azurerm#15842 and #17233). Nothing here references the
// container, so ARM would otherwise start them all at once: container → app → operator →
// records officers.
resource appWritesIndex 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(database.id, appPrincipalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    principalId: appPrincipalId
    scope: '${account.id}/dbs/${databaseName}'
  }
  dependsOn: [container]
}

// The operator reads records (`custody status`, `list`, `dlq peek`, `verify`, `reconcile`); the
// index function stays the only writer.
resource operatorReadsIndex 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = if (!empty(operatorPrincipalId)) {
  parent: account
  name: guid(database.id, operatorPrincipalId, dataReaderRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataReaderRoleId}'
    principalId: operatorPrincipalId
    scope: '${account.id}/dbs/${databaseName}'
  }
  dependsOn: [appWritesIndex]
}

// Records officers read records too: `custody release` checks each recording against the index
// before it sends (and `custody retention show` prints its history). Read only.
resource recordsOfficerReadsIndex 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = if (!empty(recordsOfficerPrincipalId)) {
  parent: account
  name: guid(database.id, recordsOfficerPrincipalId, dataReaderRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataReaderRoleId}'
    principalId: recordsOfficerPrincipalId
    scope: '${account.id}/dbs/${databaseName}'
  }
  dependsOn: [operatorReadsIndex]
}

output accountName string = account.name
output accountEndpoint string = account.properties.documentEndpoint
output databaseName string = databaseName
output containerName string = containerName
