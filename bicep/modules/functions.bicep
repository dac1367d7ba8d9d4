// The function app on Flex Consumption (Linux, per-instance memory, scale to zero, up to
// `maximumInstanceCount` instances), running as the user-assigned app identity. Every
// connection is identity-based: the settings below are the names shared/settings.ts reads
// (`<Connection>__fullyQualifiedNamespace | __blobServiceUri | __accountEndpoint`, with
// `__credential` = managedidentity and `__clientId`), and none of them carries a key —
// test/deploy/app-settings.test.ts feeds them to the code's own settings loader.
param location string
param tags object
param token string
param nodeVersion string
param instanceMemoryMB int
param maximumInstanceCount int
param appIdentityName string
param hostStorageName string
param deploymentContainerName string
param evidenceStorageName string
@description('The namespace host from its endpoint (servicebus module output), so sovereign clouds get their own suffix.')
param serviceBusFullyQualifiedNamespace string
param cosmosAccountName string
param cosmosDatabaseName string
param cosmosContainerName string
param applicationInsightsName string
@description('CloudEvents source of the evidence events (CUSTODY_EVENT_SOURCE), e.g. /custody/<environment>.')
param eventSource string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: appIdentityName
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource evidenceStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: evidenceStorageName
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var clientId = appIdentity.properties.clientId

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-custody-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-custody-${token}'
  location: location
  // azd deploys the `custody` service of azure.yaml to the resource carrying this tag.
  tags: union(tags, { 'azd-service-name': 'custody' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${appIdentity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: appIdentity.id
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: { name: 'node', version: nodeVersion }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: {
    // Host storage (leases, timer locks): identity-based, host-only account.
    AzureWebJobsStorage__accountName: hostStorage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: clientId

    // Telemetry: the connection string names the component and its ingestion endpoint (its
    // instrumentation key cannot ingest: local auth is off); the authentication string makes
    // the exporters use the app identity's Entra ID token (Monitoring Metrics Publisher).
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${clientId};Authorization=AAD'

    // The pipeline's three connections (shared/settings.ts).
    ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
    ServiceBusConnection__credential: 'managedidentity'
    ServiceBusConnection__clientId: clientId
    EvidenceStorage__blobServiceUri: evidenceStorage.properties.primaryEndpoints.blob
    EvidenceStorage__credential: 'managedidentity'
    EvidenceStorage__clientId: clientId
    EvidenceIndex__accountEndpoint: cosmos.properties.documentEndpoint
    EvidenceIndex__credential: 'managedidentity'
    EvidenceIndex__clientId: clientId

    // Pipeline settings, at the code's defaults, written out so the deployment says what it runs.
    CUSTODY_COSMOS_DATABASE: cosmosDatabaseName
    CUSTODY_COSMOS_CONTAINER: cosmosContainerName
    CUSTODY_REQUIRED_STAGES: 'hash,transcode,thumbnail'
    CUSTODY_ACCEPTED_CONTAINERS: 'originals'
    CUSTODY_PROXY_MAX_SIDE: '1280'
    CUSTODY_THUMBNAIL_COUNT: '8'
    CUSTODY_EVENT_SOURCE: eventSource
    CUSTODY_FIXITY_SCHEDULE: '0 0 * * * *'
    CUSTODY_FIXITY_SAMPLE: '10'
    CUSTODY_FIXITY_RECHECK_HOURS: '168'
    CUSTODY_RECONCILE_SCHEDULE: '0 */30 * * * *'
    CUSTODY_RECONCILE_STUCK_AFTER_MINUTES: '60'
    CUSTODY_RECONCILE_LOOKBACK_HOURS: '72'
  }
}

// Deployment goes through Entra ID (azd → the deployment container); publishing with the
// site's basic-auth credentials is switched off.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: false }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: { allow: false }
}

output appName string = app.name
