// The two function apps, both built from the one package (azure.yaml: services custody and
// custody-media), each on its own Flex Consumption plan (one app per plan; Linux, per-instance
// memory, scale to zero, up to `maximumInstanceCount` instances) and running as its own
// user-assigned identity:
// - the core app (CUSTODY_APP_ROLE=core): ingest, hash, the index and the timers;
// - the media app (CUSTODY_APP_ROLE=media): transcode and thumbnail, the code that parses
//   untrusted video. It has no evidence index setting (and its identity no Cosmos DB role), and
//   its identity may send to media-results only — it cannot claim a hash or publish an event.
// Every connection is identity-based: the settings below are the names shared/settings.ts reads
// (`<Connection>__fullyQualifiedNamespace | __blobServiceUri | __accountEndpoint`, with
// `__credential` = managedidentity and `__clientId`), and none of them carries a key —
// test/deploy/templates.test.ts feeds each app's to the code's own settings loader.
param location string
param tags object
param token string
param nodeVersion string
@description('The core app\'s instance memory and instance ceiling.')
param instanceMemoryMB int
param maximumInstanceCount int
@description('The media app\'s, sized for segment runs (docs/deploy.md "The media app, sized for segments").')
param mediaInstanceMemoryMB int
param mediaMaximumInstanceCount int
@description('The core app\'s identity, host storage account and package container.')
param appIdentityName string
param hostStorageName string
param deploymentContainerName string
@description('The media app\'s identity, host storage account and package container (its own: see host-storage.bicep).')
param mediaIdentityName string
param mediaHostStorageName string
param mediaDeploymentContainerName string
param evidenceStorageName string
@description('The namespace host from its endpoint (servicebus module output), so sovereign clouds get their own suffix.')
param serviceBusFullyQualifiedNamespace string
param cosmosAccountName string
param cosmosDatabaseName string
param cosmosContainerName string
param applicationInsightsName string
@description('CloudEvents source of the evidence events (CUSTODY_EVENT_SOURCE), e.g. /custody/<environment>.')
param eventSource string
@description('Private profile (network.bicep): each app joins its own subnet (Flex Consumption VNet integration), the sites refuse every inbound caller, and the deployment (scm) endpoint accepts only deploymentAllowedIpRanges.')
param privateNetwork bool
param coreAppSubnetId string = ''
param mediaAppSubnetId string = ''
@description('CIDR ranges allowed to reach the apps\' deployment (scm) endpoint in the private profile: the egress addresses of whatever runs `azd deploy`. Empty = nobody (deploy from the trial profile or open it for a release).')
param deploymentAllowedIpRanges array = []
@description('Flex Consumption zone redundancy: instances spread across availability zones.')
param zoneRedundant bool = false
@description('Percentage of recordings whose traces are exported (CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE, both apps).')
param telemetrySamplingPercentage int
@description('The disposal timer on or off (CUSTODY_DISPOSAL_ENABLED, main.bicep disposalEnabled).')
param disposalEnabled bool
@description('The key that signs evidence manifests (signing.bicep): its vault and name, for the core app\'s CUSTODY_SIGNING_KEY_ID.')
param signingVaultName string
param signingKeyName string
@description('The certificate chain (PEM, leaf first) Content Credentials on the images are signed under, for the core app\'s CUSTODY_CONTENT_CREDENTIALS_CHAIN; empty = images not signed.')
param contentCredentialsChain string = ''

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: appIdentityName
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource mediaIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: mediaIdentityName
}

resource mediaHostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: mediaHostStorageName
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

resource signingKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' existing = {
  name: '${signingVaultName}/${signingKeyName}'
}

// The deployment endpoint's allow-list (the private profile).
var scmAllowRules = [for (range, i) in deploymentAllowedIpRanges: { name: 'deploy-${i}', ipAddress: range, action: 'Allow', priority: 100 + i }]

// Inbound access in the private profile: no function is HTTP-triggered, so the site itself
// refuses every caller, and the scm site — where azd publishes the package — only the ranges
// above. The trial profile leaves both open (Entra ID still guards publishing: basic-auth
// publishing credentials are off below).
var inboundRestrictions = {
  ipSecurityRestrictionsDefaultAction: privateNetwork ? 'Deny' : 'Allow'
  scmIpSecurityRestrictionsDefaultAction: privateNetwork ? 'Deny' : 'Allow'
  scmIpSecurityRestrictionsUseMain: false
  scmIpSecurityRestrictions: privateNetwork ? scmAllowRules : []
}

var clientId = appIdentity.properties.clientId
var mediaClientId = mediaIdentity.properties.clientId

// ---- The core app -------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-custody-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true, zoneRedundant: zoneRedundant }
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
    // Flex Consumption VNet integration: all outbound traffic goes through the subnet, so the
    // services' private endpoints answer the app's calls.
    virtualNetworkSubnetId: privateNetwork ? coreAppSubnetId : null
    siteConfig: union({ minTlsVersion: '1.2', ftpsState: 'Disabled' }, inboundRestrictions)
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
    // Host storage (leases, timer locks): identity-based, host-only account. The blob endpoint
    // from the account itself, not __accountName: that one infers *.core.windows.net and "doesn't
    // work when the storage account is in a sovereign cloud or has a custom DNS" (Functions docs,
    // "Connecting to host storage with an identity"). Blob only: the host keeps its locks and
    // keys in blobs; queue and table URIs are for blob triggers and Durable Functions, which this
    // app has none of (tables would also hold the host's diagnostic events, left off here).
    AzureWebJobsStorage__blobServiceUri: hostStorage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: clientId

    // Telemetry: the connection string names the component and its ingestion endpoint (its
    // instrumentation key cannot ingest: local auth is off); the authentication string makes
    // the exporters use the app identity's Entra ID token (Monitoring Metrics Publisher).
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${clientId};Authorization=AAD'
    CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE: string(telemetrySamplingPercentage)

    // Which functions this app registers (functions/app-roles.ts).
    CUSTODY_APP_ROLE: 'core'

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
    // The disposal timer: daily; what it may delete is decided by retention/schedule.json and the index.
    CUSTODY_DISPOSAL_SCHEDULE: '0 0 2 * * *'
    // On by default: deleting non-evidential footage when its period ends is a legal duty, and
    // the index asks storage before each delete (storage refuses a held or unexpired version).
    CUSTODY_DISPOSAL_ENABLED: disposalEnabled ? 'true' : 'false'
    CUSTODY_DISPOSAL_MAX: '500'
    CUSTODY_RETRY_BUDGET_MINUTES: '360'
    CUSTODY_RETRY_FIRST_DELAY_MS: '5000'
    CUSTODY_RETRY_MAX_DELAY_MS: '300000'
    CUSTODY_MEDIA_STALL_TIMEOUT_MS: '60000'
    // The Key Vault key that signs evidence manifests, versionless: the version current when the app starts.
    CUSTODY_SIGNING_KEY_ID: signingKey.properties.keyUri
    // The chain that certifies that key for Content Credentials on the images (public; empty: images unsigned).
    CUSTODY_CONTENT_CREDENTIALS_CHAIN: contentCredentialsChain
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

// ---- The media app ------------------------------------------------------------------------

resource mediaPlan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-custody-media-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true, zoneRedundant: zoneRedundant }
}

resource mediaApp 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-custody-media-${token}'
  location: location
  // azd deploys the `custody-media` service of azure.yaml (the same package) here.
  tags: union(tags, { 'azd-service-name': 'custody-media' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${mediaIdentity.id}': {} }
  }
  properties: {
    serverFarmId: mediaPlan.id
    httpsOnly: true
    virtualNetworkSubnetId: privateNetwork ? mediaAppSubnetId : null
    siteConfig: union({ minTlsVersion: '1.2', ftpsState: 'Disabled' }, inboundRestrictions)
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${mediaHostStorage.properties.primaryEndpoints.blob}${mediaDeploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: mediaIdentity.id
          }
        }
      }
      // 4096 MB = 2 vCPU: a segment's encode keeps both busy (libx264's threads), and one
      // segment at a time per instance (maxConcurrentCalls below) means the instance count, not
      // the instance, is what grows with the backlog.
      scaleAndConcurrency: {
        instanceMemoryMB: mediaInstanceMemoryMB
        maximumInstanceCount: mediaMaximumInstanceCount
      }
      runtime: { name: 'node', version: nodeVersion }
    }
  }
}

// Only what the media stages use: no EvidenceIndex (no index access at all) and none of the
// index's, ingest's or the timers' settings.
resource mediaAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: mediaApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__blobServiceUri: mediaHostStorage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: mediaClientId

    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${mediaClientId};Authorization=AAD'
    CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE: string(telemetrySamplingPercentage)

    CUSTODY_APP_ROLE: 'media'

    ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
    ServiceBusConnection__credential: 'managedidentity'
    ServiceBusConnection__clientId: mediaClientId
    EvidenceStorage__blobServiceUri: evidenceStorage.properties.primaryEndpoints.blob
    EvidenceStorage__credential: 'managedidentity'
    EvidenceStorage__clientId: mediaClientId

    // The pinned ffmpeg/ffprobe build the media package carries (azure.yaml's prepackage hook,
    // scripts/media-tools.js: fetched and checked by SHA-256), relative to the app's folder; the
    // app checks them against their build.json again before first use.
    FFMPEG_PATH: 'tools/ffmpeg/ffmpeg'
    FFPROBE_PATH: 'tools/ffmpeg/ffprobe'

    CUSTODY_PROXY_MAX_SIDE: '1280'
    CUSTODY_THUMBNAIL_COUNT: '8'
    CUSTODY_MEDIA_STALL_TIMEOUT_MS: '60000'
    // Segment length of the segment-parallel transcode (the code's default, written out): a
    // 60 s segment run needs ~1 CPU-minute, tens of MB of disk and ~150 MB of ffmpeg memory.
    CUSTODY_SEGMENT_SECONDS: '60'

    // One Service Bus message at a time per function per instance (host.json says 4 for the
    // core app, which shares the package): a segment encode uses both vCPUs, so a second one on
    // the same instance would only halve the speed of each; target-based scaling then adds
    // instances (≈ backlog ÷ 1) up to mediaMaximumInstanceCount instead.
    AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls: '1'
  }
}

resource mediaFtpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: mediaApp
  name: 'ftp'
  properties: { allow: false }
}

resource mediaScmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: mediaApp
  name: 'scm'
  properties: { allow: false }
}

output appName string = app.name
output mediaAppName string = mediaApp.name
