// Service Bus: a Standard namespace (topics and SQL filters need Standard or Premium) with
// local (SAS) auth disabled, and every queue, topic, subscription and rule created from the
// one topology file (topology/servicebus.json, loaded by main.bicep) — the file the code checks
// its entity names against and the local emulator serves. Nothing here names an entity except
// the apps' role assignments, which service-bus-access.json lists (per app identity) and the
// tests check against the code.
//
// Property names: the file uses the Microsoft emulator's Config.json names (PascalCase);
// ARM uses camelCase. The mapping is below, one property at a time. DefaultMessageTimeToLive is
// the one deliberate difference: see `messageTimeToLive`.
param location string
param tags object
param token string
@description('topology/servicebus.json as loaded by main.bicep.')
param topology object
@description('Replaces the file\'s DefaultMessageTimeToLive (PT1H, the emulator\'s maximum) on every entity.')
param messageTimeToLive string
@description('bicep/service-bus-access.json: each app identity\'s role per entity (`identity`: core or media).')
param appAccess object
@description('Principal id of each app identity, by the `identity` names service-bus-access.json uses: { core: …, media: … }.')
param principalIds object
@description('Object id of the operators\' Entra ID group (main.bicep operatorGroupObjectId); empty = none.')
param operatorPrincipalId string
@description('Object id of the records officers\' Entra ID group (main.bicep recordsOfficerGroupObjectId); empty = none.')
param recordsOfficerPrincipalId string = ''
@description('Object ids of the case-management systems\' service principals (main.bicep caseManagementPrincipalIds).')
param caseManagementPrincipalIds array = []
param roles object
@allowed(['Standard', 'Premium'])
@description('Standard: 256 KB messages, shared capacity, public endpoint only (the trial profile). Premium: 100 MB messages, dedicated capacity, private endpoints (the private profile).')
param skuName string = 'Standard'
@description('Premium messaging units (1, 2, 4, 8 or 16).')
param premiumMessagingUnits int = 1
@description('Private profile: public network access disabled; the apps come in through the namespace\'s private endpoint and Event Grid as a trusted service (network rule set below). Needs Premium.')
param privateNetwork bool
@description('Zone redundancy (Premium): replicas in three availability zones.')
param zoneRedundant bool = false

var config = topology.UserConfig.Namespaces[0]
var queueConfigs = contains(config, 'Queues') ? config.Queues : []
var topicConfigs = contains(config, 'Topics') ? config.Topics : []

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: 'sb-custody-${token}'
  location: location
  tags: tags
  sku: skuName == 'Premium' ? { name: 'Premium', tier: 'Premium', capacity: premiumMessagingUnits } : { name: skuName, tier: skuName }
  properties: {
    // Entra ID only: no SAS keys, no connection strings that could leak.
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
    zoneRedundant: skuName == 'Premium' && zoneRedundant
  }
}

// Private: no public access, default Deny, no IP or network rules — and the trusted-services
// exception, through which Event Grid delivers BlobCreated events with its system topic's
// system-assigned identity (Service Bus "Trusted Microsoft services": Event Grid, with a
// system-assigned identity holding Data Sender, the subscription delivering with it).
resource networkRules 'Microsoft.ServiceBus/namespaces/networkRuleSets@2024-01-01' = if (privateNetwork) {
  parent: namespace
  name: 'default'
  properties: {
    publicNetworkAccess: 'Disabled'
    defaultAction: 'Deny'
    trustedServiceAccessEnabled: true
    ipRules: []
    virtualNetworkRules: []
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for queue in queueConfigs: {
  parent: namespace
  name: queue.Name
  properties: union(
    {
      lockDuration: queue.Properties.LockDuration
      maxDeliveryCount: queue.Properties.MaxDeliveryCount
      requiresDuplicateDetection: queue.Properties.RequiresDuplicateDetection
      duplicateDetectionHistoryTimeWindow: queue.Properties.DuplicateDetectionHistoryTimeWindow
      deadLetteringOnMessageExpiration: queue.Properties.DeadLetteringOnMessageExpiration
      requiresSession: queue.Properties.RequiresSession
      defaultMessageTimeToLive: messageTimeToLive
    },
    // The file writes "" for "not forwarded"; ARM wants the property absent.
    empty(queue.Properties.?ForwardTo ?? '') ? {} : { forwardTo: queue.Properties.ForwardTo },
    empty(queue.Properties.?ForwardDeadLetteredMessagesTo ?? '') ? {} : { forwardDeadLetteredMessagesTo: queue.Properties.ForwardDeadLetteredMessagesTo }
  )
}]

// Bicep has no nested resource loops: one module per topic creates the topic and loops over
// its subscriptions (and that module one per subscription for the rules). Every module gets the
// whole subscription access list; the subscription module picks its own entries by comparing
// with its own parameters, so no lambda here or in the topic module reads a loop variable.
module topics 'servicebus-topic.bicep' = [for topic in topicConfigs: {
  name: 'sb-topic-${topic.Name}'
  params: {
    namespaceName: namespace.name
    topic: topic
    messageTimeToLive: messageTimeToLive
    appSubscriptionAccess: appAccess.subscriptions
    principalIds: principalIds
    roles: roles
  }
}]

// ---- The function apps: one role per queue / topic each uses (subscriptions: in the topic module)

resource accessedQueues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = [for access in appAccess.queues: {
  parent: namespace
  name: access.queue
}]

resource appQueueRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (access, i) in appAccess.queues: {
  name: guid(accessedQueues[i].id, principalIds[access.identity], roles[access.role])
  scope: accessedQueues[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles[access.role])
    principalId: principalIds[access.identity]
    principalType: 'ServicePrincipal'
  }
  dependsOn: [queues]
}]

resource accessedTopics 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' existing = [for access in appAccess.topics: {
  parent: namespace
  name: access.topic
}]

resource appTopicRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (access, i) in appAccess.topics: {
  name: guid(accessedTopics[i].id, principalIds[access.identity], roles[access.role])
  scope: accessedTopics[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles[access.role])
    principalId: principalIds[access.identity]
    principalType: 'ServicePrincipal'
  }
  dependsOn: [topics]
}]

// Event Grid's Send on blob-created is granted in eventgrid.bicep, to the system topic's own
// (system-assigned) identity: the trusted-services exception recognises that identity only.

// ---- The operator: `custody dlq list|peek|redrive|purge` and `reconcile` -------------------
// They receive from dead-letter queues, send (redrive, reconcile) to any entity, and read
// runtime counts through the management endpoint (ServiceBusAdministrationClient), which
// requires the Manage claim — only Data Owner grants that to an Entra ID caller. Namespace
// scope because the commands work on every entity. The operators' group, never the app or
// whoever deploys, and only when operatorGroupObjectId is set; leave it empty where operators
// use the portal or just-in-time access instead. Broad: the role's
// management actions cover the whole namespace (entities, settings, local auth) — docs/deploy.md
// ("The operator's Service Bus role") describes holding it just in time instead.

resource operatorOperatesQueues 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(namespace.id, operatorPrincipalId, roles.serviceBusDataOwner)
  scope: namespace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
    principalId: operatorPrincipalId
    principalType: 'Group'
  }
}

// ---- Retention: who may ask the index to keep, hold or release footage -------------------
// A release lifts a legal hold, after which footage may be disposed of: only records officers
// may send one, on a queue of its own (the index accepts releases from `retention-releases`
// only). Case-management systems mark footage evidential or hold it, on `retention-commands`,
// and can neither release nor receive. Both Send-only, at queue scope. The operators' Data
// Owner on the namespace covers these queues too — hold it just in time (docs/security.md).

resource retentionReleases 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: 'retention-releases'
}

resource retentionCommands 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: 'retention-commands'
}

resource recordsOfficersRelease 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(recordsOfficerPrincipalId)) {
  name: guid(retentionReleases.id, recordsOfficerPrincipalId, roles.serviceBusDataSender)
  scope: retentionReleases
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: recordsOfficerPrincipalId
    principalType: 'Group'
    description: 'Records officers: release legal holds (custody release)'
  }
  dependsOn: [queues]
}

resource caseSystemsSendCommands 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for caseSystem in caseManagementPrincipalIds: {
  name: guid(retentionCommands.id, caseSystem, roles.serviceBusDataSender)
  scope: retentionCommands
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: caseSystem
    principalType: 'ServicePrincipal'
    description: 'Case-management system: categorise and hold recordings (retention commands)'
  }
  dependsOn: [queues]
}]

output namespaceName string = namespace.name
// The host of the namespace's own endpoint (https://<namespace>.<the cloud's Service Bus
// suffix>:443/), not a suffix written here: servicebus.windows.net in Azure, another name in a
// sovereign cloud (Azure Government, Azure operated by 21Vianet).
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]
