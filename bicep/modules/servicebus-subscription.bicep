// One subscription of the topology file, its rules, and the app's role on it.
//
// Service Bus gives every new subscription a `$Default` rule (1=1). The topology relies on its
// own rules only (redrive copies must reach one subscription); the service drops `$Default`
// when the first rule is created through the resource provider, as the rules here are.
param namespaceName string
param topicName string
@description('One element of a topic\'s Subscriptions in topology/servicebus.json.')
param subscriptionConfig object
param messageTimeToLive string
@description('The app identity\'s roles on this subscription (receive, for the function it triggers).')
param appAccess array
param appPrincipalId string
param roles object

var props = subscriptionConfig.Properties
var ruleConfigs = contains(subscriptionConfig, 'Rules') ? subscriptionConfig.Rules : []

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

// Emulator FilterType "Sql" → ARM "SqlFilter", "Correlation" → "CorrelationFilter"; an optional
// SQL rule action ("Action": {"SqlExpression": "SET …"}) is carried over as `action`.
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
}]

resource appRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for access in appAccess: {
  name: guid(subscriptionResource.id, appPrincipalId, roles[access.role])
  scope: subscriptionResource
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles[access.role])
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}]
