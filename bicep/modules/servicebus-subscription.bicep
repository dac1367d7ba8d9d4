// One subscription of the topology file, its rules, and the app identities' roles on it.
//
// Service Bus gives every new subscription a `$Default` rule (1=1, TrueFilter). The topology
// relies on its own rules only: a redrive copy carries custodyRedriveTo and must reach that one
// subscription. Whether creating other rules through ARM removes `$Default` is reported both
// ways, so it is not left to chance: `$Default` is declared here with a filter that matches
// nothing (a PUT of a rule replaces its filter). Kept or removed by the service, it then routes
// no message; the subscription's rules are the topology file's.
param namespaceName string
param topicName string
@description('One element of a topic\'s Subscriptions in topology/servicebus.json.')
param subscriptionConfig object
param messageTimeToLive string
@description('The app identities\' roles on subscriptions, every topic\'s (service-bus-access.json `subscriptions`); the entries for this one are picked below.')
param appSubscriptionAccess array
@description('Principal id of each app identity, by the entries\' `identity`: { core: …, media: … }.')
param principalIds object
param roles object

var props = subscriptionConfig.Properties
var ruleConfigs = contains(subscriptionConfig, 'Rules') ? subscriptionConfig.Rules : []
// This subscription's entries, compared with this module's own parameters (no loop variable in
// the lambda). Owner on a subscription that triggers a function: see service-bus-access.json.
var appAccess = filter(appSubscriptionAccess, entry => entry.topic == topicName && entry.subscription == subscriptionConfig.Name)

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: namespaceName
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' existing = {
  parent: namespace
  name: topicName
}

resource subscriptionResource 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01' = {
  parent: topic
  name: subscriptionConfig.Name
  properties: union(
    {
      lockDuration: props.LockDuration
      maxDeliveryCount: props.MaxDeliveryCount
      deadLetteringOnMessageExpiration: props.DeadLetteringOnMessageExpiration
      // A malformed SQL filter evaluation dead-letters the message instead of losing it.
      deadLetteringOnFilterEvaluationExceptions: true
      requiresSession: props.RequiresSession
      defaultMessageTimeToLive: messageTimeToLive
    },
    empty(props.?ForwardTo ?? '') ? {} : { forwardTo: props.ForwardTo },
    empty(props.?ForwardDeadLetteredMessagesTo ?? '') ? {} : { forwardDeadLetteredMessagesTo: props.ForwardDeadLetteredMessagesTo }
  )
}

// The service's catch-all rule, neutralised: matches no message (see the top of this file).
resource defaultRule 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2024-01-01' = {
  parent: subscriptionResource
  name: '$Default'
  properties: {
    filterType: 'SqlFilter'
    sqlFilter: { sqlExpression: '1=0' }
  }
}

// Emulator FilterType "Sql" → ARM "SqlFilter", "Correlation" → "CorrelationFilter"; an optional
// SQL rule action ("Action": {"SqlExpression": "SET …"}) is carried over as `action`. One at a
// time and after `$Default`: the subscription's rules are never written concurrently.
@batchSize(1)
resource rules 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2024-01-01' = [for rule in ruleConfigs: {
  parent: subscriptionResource
  name: rule.Name
  properties: union(
    rule.Properties.FilterType == 'Correlation'
      ? {
          filterType: 'CorrelationFilter'
          correlationFilter: {
            correlationId: rule.Properties.CorrelationFilter.?CorrelationId
            messageId: rule.Properties.CorrelationFilter.?MessageId
            to: rule.Properties.CorrelationFilter.?To
            replyTo: rule.Properties.CorrelationFilter.?ReplyTo
            label: rule.Properties.CorrelationFilter.?Label
            sessionId: rule.Properties.CorrelationFilter.?SessionId
            replyToSessionId: rule.Properties.CorrelationFilter.?ReplyToSessionId
            contentType: rule.Properties.CorrelationFilter.?ContentType
            properties: rule.Properties.CorrelationFilter.?Properties ?? {}
          }
        }
      : {
          filterType: 'SqlFilter'
          sqlFilter: { sqlExpression: rule.Properties.SqlFilter.SqlExpression }
        },
    contains(rule.Properties, 'Action') ? { action: { sqlExpression: rule.Properties.Action.SqlExpression } } : {}
  )
  dependsOn: [defaultRule]
}]

resource appRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for access in appAccess: {
  name: guid(subscriptionResource.id, principalIds[access.identity], roles[access.role])
  scope: subscriptionResource
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles[access.role])
    principalId: principalIds[access.identity]
    principalType: 'ServicePrincipal'
  }
}]
