// Custody in one resource group, keyless: every service has shared-key / local auth turned
// off and every access is an Entra ID role assignment scoped to the one container, queue,
// topic, subscription or database it is for. `azd up` deploys this file (azure.yaml →
// infra.path bicep/); docs/deploy.md explains each part and what it costs.
//
// Plain resources at pinned, generally available API versions rather than Azure Verified
// Modules: the security review reads every property here, and the static tests in
// test/deploy read the same text (AVM modules would hide the properties behind a registry
// reference the tests cannot open).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the resource-name token.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string

// Operators are a group of their own, never whoever runs azd: azd fills AZURE_PRINCIPAL_ID with the
// logged-in principal (a CI service principal included) whatever .env says, so nothing reads it.
@description('Object id of the Entra ID group of operators, granted what the `custody` ops commands need (docs/security.md). Empty = no operator roles.')
param operatorGroupObjectId string = ''

// The originals container's default retention is not a parameter: it is the default category's
// period in retention/schedule.json (below), the file the app and the CLI read too.

@minValue(1)
@maxValue(146000)
@description('Days each custody ledger entry and operator audit record stays immutable (WORM) by the ledger and audit containers\' default policies: the proof of what was kept, categorised, held and disposed of (the disposal tombstones included). At least the longest retention period in retention/schedule.json (10 years, 3653 days), so the proof outlives the footage it is about (docs/deploy.md).')
param proofRetentionDays int = 3653

@description('Set to true once an operator has locked the originals, ledger and audit retention policies (docs/deploy.md): a locked policy can only be extended, with `az storage container immutability-policy extend`, so the template stops declaring them.')
param originalsPolicyLocked bool = false

@description('Object id of the records officers\' Entra ID group: the only ones who may send retention releases (queue retention-releases; docs/security.md). Empty = nobody holds the role.')
param recordsOfficerGroupObjectId string = ''

@description('Case-management systems that send retention commands (categorise, hold) to the queue retention-commands, send-only: object ids of their service principals or managed identities. They cannot release (only records officers can) or receive.')
param caseManagementPrincipalIds array = []

@description('The disposal timer (CUSTODY_DISPOSAL_ENABLED): deletes recordings whose retention has ended and that no case holds, as the retention schedule requires (docs/deploy.md "Retention and disposal"). The index asks storage before each delete; storage refuses anything held or under an unexpired policy.')
param disposalEnabled bool = true

@description('The certificate chain Content Credentials on the images are signed under (CUSTODY_CONTENT_CREDENTIALS_CHAIN, PEM: the certificate the force\'s CA issued for the evidence signing key first, then the CA certificates; public, not a secret). Empty = the images are not signed (the core app logs a warning at start); they stay covered by the signed evidence manifest. docs/deploy.md "Content Credentials".')
param contentCredentialsChain string = ''

@description('Docking stations / upload services that may add recordings to originals, write-only: [{ principalId: \'<object id of a service principal or managed identity>\', pathPrefix: \'<optional: the only blob-name prefix it may write, e.g. station-07/>\' }].')
param uploaders array = []

@description('Message time-to-live for every Service Bus entity in Azure. The topology file says PT1H because that is the Microsoft emulator\'s maximum; in Azure messages must outlive an outage of the app (docs/deploy.md).')
param messageTimeToLive string = 'P14D'

@allowed(['20', '22'])
@description('Node.js major version of the Functions worker.')
param nodeVersion string = '22'

@allowed([2048, 4096])
@description('Flex Consumption instance memory of the core app (ingest, hash, index): 4096 MB = 2 vCPU for the hash\'s two digests.')
param instanceMemoryMB int = 4096

// Flex Consumption accepts 40–1000 (learn.microsoft.com/azure/azure-functions/event-driven-scaling#limit-scale-out).
@minValue(40)
@maxValue(1000)
@description('Upper bound on the core app\'s Flex Consumption instances: caps cost and the load on Cosmos DB at shift-change bursts.')
param maximumInstanceCount int = 100

@allowed([2048, 4096])
@description('Flex Consumption instance memory of the media app: 4096 MB = 2 vCPU, which a segment encode uses (2048 MB = 1 vCPU would double every segment\'s time).')
param mediaInstanceMemoryMB int = 4096

@minValue(40)
@maxValue(1000)
@description('Upper bound on the media app\'s instances, one segment run each at a time: 100 runs a 10-hour recording\'s 400 segments in 4 waves. Caps cost and the concurrent reads of the evidence account.')
param mediaMaximumInstanceCount int = 100

@description('Cosmos DB serverless (pay per request) or provisioned autoscale throughput.')
param cosmosServerless bool = true

@description('Days of Log Analytics retention.')
param logRetentionDays int = 90

// ---- Network, audit logs and regulated-tenant options (docs/deploy.md: "Private by default",
// ---- "Audit logs and alerts", "Options for regulated tenants") ----------------------------

@allowed(['private', 'public-trial'])
@description('private: VNet-integrated apps, private endpoints for every data service, no public data endpoint, Service Bus Premium. public-trial: public endpoints (Entra ID still required everywhere), Service Bus Standard — for a trial without a network to deploy from, never for evidence.')
param networkProfile string = 'private'

@description('Address space of the private profile\'s virtual network (a /16; three /24 subnets are cut from its first three /24s).')
param vnetAddressPrefix string = '10.60.0.0/16'

@description('Private profile: CIDR ranges allowed to reach the apps\' deployment (scm) endpoint — the egress addresses of the runner that runs `azd deploy`. Empty = none.')
param deploymentAllowedIpRanges array = []

@description('Private profile: public CIDR ranges of docking stations that upload to the evidence account over the internet instead of through its private endpoint. Empty = none.')
param uploaderIpRanges array = []

@minValue(365)
@maxValue(4383)
@description('Days the audit tables (blob access, Cosmos DB, Service Bus, Event Grid, Key Vault, activity log, app traces) are kept, interactive and long-term together: at least a year; by default 7 years.')
param auditRetentionDays int = 2557

@description('Send the subscription\'s activity log (role assignments, policy and lock changes) to the workspace. Turn off where the subscription already exports it elsewhere.')
param exportActivityLog bool = true

@description('Email addresses told of every alert. Empty = alerts show in the portal only.')
param alertEmailAddresses array = []

@description('Regulated option: customer-managed keys (Key Vault with purge protection) for the evidence account (plus infrastructure encryption) and Cosmos DB. Only when those accounts are created.')
param customerManagedEncryption bool = false

@description('Regulated option: a CanNotDelete lock on the evidence account.')
param evidenceDeleteLock bool = false

@description('Regulated option: Defender for Storage malware scanning of every upload to the evidence account.')
param malwareScanningOnUpload bool = false

@minValue(-1)
@description('Cap on the GB scanned per month (-1 = no cap).')
param malwareScanningCapGBPerMonth int = 5000

@description('Regulated option: zone redundancy for the host storage accounts, Cosmos DB, Service Bus (Premium) and the Flex Consumption plans (the evidence account is ZRS already).')
param zoneRedundant bool = false

@minValue(1)
@maxValue(100)
@description('Percentage of recordings whose traces are exported to Application Insights (whole traces: the decision follows the trace id). 100 = every recording\'s journey (docs/deploy.md "Observability").')
param telemetrySamplingPercentage int = 100

var tags = { 'azd-env-name': environmentName, application: 'custody' }
// Short, stable, unique per subscription + environment + region: storage account names are global.
var token = toLower(uniqueString(subscription().id, environmentName, location))

// The one topology file the code (shared/topology.ts) and the local emulator read too: queues,
// topics, subscriptions and rules are created from it, so a name cannot drift.
var topology = loadJsonContent('../topology/servicebus.json')
var roles = loadJsonContent('roles.json')
// The retention schedule (categories and periods) the app and the CLI read: the originals
// container's default policy is its default category's period, in days — new footage is
// protected that long, and the index extends each version's own policy when it is categorised.
var retentionSchedule = loadJsonContent('../retention/schedule.json')
var originalsDefaultRetentionDays = retentionSchedule.categories[retentionSchedule.defaultCategory].retain.days
var privateNetwork = networkProfile == 'private'
// Named here because the evidence account's firewall lets this one system topic through.
var eventGridTopicName = 'evgt-custody-${token}'
// The customer-managed key (customerManagedEncryption), and what the encrypted accounts are told of it.
var encryptionKeyName = 'custody-evidence'
var customerManagedKey = customerManagedEncryption ? { identityId: keys.outputs.identityId, vaultName: keys.outputs.vaultName, keyName: encryptionKeyName } : {}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-custody-${environmentName}'
  location: location
  tags: tags
}

module identities 'modules/identities.bicep' = {
  name: 'identities'
  scope: rg
  params: { location: location, tags: tags, token: token }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    token: token
    retentionInDays: logRetentionDays
    appPrincipalId: identities.outputs.appPrincipalId
    mediaPrincipalId: identities.outputs.mediaPrincipalId
    roles: roles
  }
}

module evidenceStorage 'modules/evidence-storage.bicep' = {
  name: 'evidence-storage'
  scope: rg
  params: {
    location: location
    tags: tags
    token: token
    originalsDefaultRetentionDays: originalsDefaultRetentionDays
    proofRetentionDays: proofRetentionDays
    originalsPolicyLocked: originalsPolicyLocked
    appPrincipalId: identities.outputs.appPrincipalId
    mediaPrincipalId: identities.outputs.mediaPrincipalId
    operatorPrincipalId: operatorGroupObjectId
    uploaders: uploaders
    recordsOfficerPrincipalId: recordsOfficerGroupObjectId
    roles: roles
    privateNetwork: privateNetwork
    eventGridTopicName: eventGridTopicName
    uploaderIpRanges: uploaderIpRanges
    customerManagedKey: customerManagedKey
  }
}

// One host storage account per app: Owner on a host account could replace that app's package.
module hostStorage 'modules/host-storage.bicep' = {
  name: 'host-storage'
  scope: rg
  params: {
    location: location
    tags: tags
    token: token
    accountNamePrefix: 'stcustodyfn'
    hostedAppPrincipalId: identities.outputs.appPrincipalId
    roles: roles
    privateNetwork: privateNetwork
    zoneRedundant: zoneRedundant
  }
}

module mediaHostStorage 'modules/host-storage.bicep' = {
  name: 'media-host-storage'
  scope: rg
  params: {
    location: location
    tags: tags
    token: token
    accountNamePrefix: 'stcustodymd'
    hostedAppPrincipalId: identities.outputs.mediaPrincipalId
    roles: roles
    privateNetwork: privateNetwork
    zoneRedundant: zoneRedundant
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    location: location
    tags: tags
    token: token
    topology: topology
    messageTimeToLive: messageTimeToLive
    appAccess: loadJsonContent('service-bus-access.json')
    principalIds: { core: identities.outputs.appPrincipalId, media: identities.outputs.mediaPrincipalId }
    operatorPrincipalId: operatorGroupObjectId
    recordsOfficerPrincipalId: recordsOfficerGroupObjectId
    caseManagementPrincipalIds: caseManagementPrincipalIds
    roles: roles
    // Private endpoints need Premium; Standard only in the trial profile.
    skuName: privateNetwork ? 'Premium' : 'Standard'
    privateNetwork: privateNetwork
    zoneRedundant: zoneRedundant
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    location: location
    tags: tags
    token: token
    serverless: cosmosServerless
    // The core app's identity only: the media app has no index access of any kind.
    appPrincipalId: identities.outputs.appPrincipalId
    operatorPrincipalId: operatorGroupObjectId
    recordsOfficerPrincipalId: recordsOfficerGroupObjectId
    privateNetwork: privateNetwork
    zoneRedundant: zoneRedundant
    customerManagedKey: customerManagedKey
  }
}

module functions 'modules/functions.bicep' = {
  name: 'functions'
  scope: rg
  params: {
    location: location
    tags: tags
    token: token
    nodeVersion: nodeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    mediaInstanceMemoryMB: mediaInstanceMemoryMB
    mediaMaximumInstanceCount: mediaMaximumInstanceCount
    appIdentityName: identities.outputs.appIdentityName
    hostStorageName: hostStorage.outputs.accountName
    deploymentContainerName: hostStorage.outputs.deploymentContainerName
    mediaIdentityName: identities.outputs.mediaIdentityName
    mediaHostStorageName: mediaHostStorage.outputs.accountName
    mediaDeploymentContainerName: mediaHostStorage.outputs.deploymentContainerName
    evidenceStorageName: evidenceStorage.outputs.accountName
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    cosmosAccountName: cosmos.outputs.accountName
    cosmosDatabaseName: cosmos.outputs.databaseName
    cosmosContainerName: cosmos.outputs.containerName
    // The evidence events' CloudEvents `source`: names this deployment, so consumers fed by several tell them apart.
    eventSource: '/custody/${environmentName}'
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    privateNetwork: privateNetwork
    coreAppSubnetId: privateNetwork ? network.outputs.coreAppSubnetId : ''
    mediaAppSubnetId: privateNetwork ? network.outputs.mediaAppSubnetId : ''
    deploymentAllowedIpRanges: deploymentAllowedIpRanges
    zoneRedundant: zoneRedundant
    telemetrySamplingPercentage: telemetrySamplingPercentage
    disposalEnabled: disposalEnabled
    // Referencing the signing module's output also makes the apps wait for its role assignment.
    signingVaultName: signing.outputs.vaultName
    signingKeyName: signingKeyName
    contentCredentialsChain: contentCredentialsChain
  }
  // The host starts as soon as the code lands; every role it needs — and, when private, every
  // private endpoint it reaches its services through — must exist by then.
  dependsOn: [evidenceStorage, hostStorage, mediaHostStorage, serviceBus, cosmos, monitoring, privateEndpoints]
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    location: location
    tags: tags
    evidenceStorageName: evidenceStorage.outputs.accountName
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    topicName: eventGridTopicName
    roles: roles
  }
  // The queue and the dead-letter container must exist: the topic's identity is granted on them.
  dependsOn: [serviceBus, evidenceStorage]
}

// Signed evidence manifests: the Key Vault key that signs them; only the core app may sign (docs/decisions/0015).
var signingKeyName = 'custody-evidence-signing'
module signing 'modules/signing.bicep' = {
  name: 'signing'
  scope: rg
  params: {
    location: location
    tags: tags
    token: token
    appPrincipalId: identities.outputs.appPrincipalId
    keyName: signingKeyName
    privateNetwork: privateNetwork
    vnetId: privateNetwork ? network.outputs.vnetId : ''
    privateEndpointSubnetId: privateNetwork ? network.outputs.privateEndpointSubnetId : ''
    workspaceId: monitoring.outputs.workspaceId
  }
}

// ---- Private profile: network and private endpoints ----------------------------------------

module network 'modules/network.bicep' = if (privateNetwork) {
  name: 'network'
  scope: rg
  params: { location: location, tags: tags, token: token, addressPrefix: vnetAddressPrefix }
}

module privateEndpoints 'modules/private-endpoints.bicep' = if (privateNetwork) {
  name: 'private-endpoints'
  scope: rg
  params: {
    location: location
    tags: tags
    vnetId: network.outputs.vnetId
    subnetId: network.outputs.privateEndpointSubnetId
    evidenceStorageName: evidenceStorage.outputs.accountName
    coreHostStorageName: hostStorage.outputs.accountName
    mediaHostStorageName: mediaHostStorage.outputs.accountName
    cosmosAccountName: cosmos.outputs.accountName
    cosmosAccountEndpoint: cosmos.outputs.accountEndpoint
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  }
}

// ---- Audit logs and alerts ---------------------------------------------------------------

module diagnostics 'modules/diagnostics.bicep' = {
  name: 'diagnostics'
  scope: rg
  params: {
    workspaceName: monitoring.outputs.workspaceName
    evidenceStorageName: evidenceStorage.outputs.accountName
    hostStorageNames: [hostStorage.outputs.accountName, mediaHostStorage.outputs.accountName]
    cosmosAccountName: cosmos.outputs.accountName
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    serviceBusPremium: privateNetwork
    eventGridTopicName: eventGrid.outputs.systemTopicName
    keyVaultName: customerManagedEncryption ? keys.outputs.vaultName : ''
    auditRetentionDays: auditRetentionDays
  }
}

module activityLog 'modules/activity-log.bicep' = if (exportActivityLog) {
  name: 'activity-log-${environmentName}'
  params: { name: 'custody-${environmentName}', workspaceId: monitoring.outputs.workspaceId }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    tags: tags
    token: token
    workspaceId: monitoring.outputs.workspaceId
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    eventGridTopicName: eventGrid.outputs.systemTopicName
    emailAddresses: alertEmailAddresses
  }
}

// ---- Options for regulated tenants -------------------------------------------------------

module keys 'modules/keys.bicep' = if (customerManagedEncryption) {
  name: 'keys'
  scope: rg
  params: { location: location, tags: tags, token: token, roles: roles, keyName: encryptionKeyName }
}

module evidenceProtection 'modules/evidence-protection.bicep' = if (evidenceDeleteLock || malwareScanningOnUpload) {
  name: 'evidence-protection'
  scope: rg
  params: {
    evidenceStorageName: evidenceStorage.outputs.accountName
    deleteLock: evidenceDeleteLock
    malwareScanning: malwareScanningOnUpload
    malwareScanningCapGBPerMonth: malwareScanningCapGBPerMonth
  }
}

// Outputs are names and endpoints only — nothing here is a secret (azd stores outputs in .azure/).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functions.outputs.appName
output AZURE_MEDIA_FUNCTION_APP_NAME string = functions.outputs.mediaAppName
output ServiceBusConnection__fullyQualifiedNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output EvidenceStorage__blobServiceUri string = evidenceStorage.outputs.blobServiceUri
output EvidenceIndex__accountEndpoint string = cosmos.outputs.accountEndpoint
// The apps' package-container role assignments, for the predeploy hook that waits for them to take effect on a first `azd up`.
output CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS string = '${hostStorage.outputs.packageRoleAssignmentId},${mediaHostStorage.outputs.packageRoleAssignmentId}'
