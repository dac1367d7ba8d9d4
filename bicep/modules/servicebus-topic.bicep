// One topic of the topology file and its subscriptions (see servicebus.bicep for the mapping).
param namespaceName string
@description('One element of Topics in topology/servicebus.json.')
param topic object
param messageTimeToLive string
@description('The app identities\' roles on subscriptions, every topic\'s (service-bus-access.json `subscriptions`): each subscription module picks its own.')
param appSubscriptionAccess array
@description('Principal id of each app identity: { core: …, media: … }.')
param principalIds object
param roles object

var subscriptionConfigs = contains(topic, 'Subscriptions') ? topic.Subscriptions : []

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: namespaceName
}

resource topicResource 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' = {
  parent: namespace
  name: topic.Name
  properties: {
    requiresDuplicateDetection: topic.Properties.RequiresDuplicateDetection
    duplicateDetectionHistoryTimeWindow: topic.Properties.DuplicateDetectionHistoryTimeWindow
    defaultMessageTimeToLive: messageTimeToLive
  }
}

module subscriptions 'servicebus-subscription.bicep' = [for sub in subscriptionConfigs: {
  name: 'sb-sub-${topic.Name}-${sub.Name}'
  params: {
    namespaceName: namespaceName
    topicName: topicResource.name
    subscriptionConfig: sub
    messageTimeToLive: messageTimeToLive
    appSubscriptionAccess: appSubscriptionAccess
    principalIds: principalIds
    roles: roles
  }
}]
