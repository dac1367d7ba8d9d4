// Alert rules: what an operator must hear about without looking.
// - a dead-lettered message on any Service Bus entity (metric DeadletteredMessages > 0, split
//   by entity): a message the pipeline gave up on — `custody dlq list` says which;
// - an event Event Grid dead-lettered (system topic metric DeadLetteredCount > 0): a recording
//   whose BlobCreated never reached the queue (reconcile re-announces it; someone should know);
// - a change to an immutability policy or legal hold on the evidence account, or to a role
//   assignment in the resource group (activity log alerts): the two ways the chain of custody's
//   guarantees can be weakened;
// - recordings waiting too long: the app emits no metric for it, so this is a log query over
//   the app's traces — the reconcile timer (functions/reconcile.ts) logs one line per run,
//   "reconcile finished: recordings re-announced or rebuilt", whose `stuck` field counts the
//   records left in `received` or `waiting` for CUSTODY_RECONCILE_STUCK_AFTER_MINUTES.
param tags object
param token string
param workspaceId string
param serviceBusNamespaceName string
param eventGridTopicName string
@description('Email addresses told of every alert (an action group). Empty = alerts show in the portal only.')
param emailAddresses array

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: eventGridTopicName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-custody-${token}'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'custody'
    enabled: true
    emailReceivers: [for (address, i) in emailAddresses: { name: 'email-${i}', emailAddress: address, useCommonAlertSchema: true }]
  }
}

var actions = [{ actionGroupId: actionGroup.id }]

resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'custody-dead-lettered-messages-${token}'
  location: 'global'
  tags: tags
  properties: {
    description: 'A Service Bus message was dead-lettered: `custody dlq list` shows which entity and why.'
    severity: 2
    enabled: true
    scopes: [namespace.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [{ name: 'EntityName', operator: 'Include', values: ['*'] }]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: actions
  }
}

resource eventDeadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'custody-event-grid-dead-letters-${token}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Event Grid dead-lettered a BlobCreated event into event-deadletter: the recording reaches the pipeline only through reconcile.'
    severity: 2
    enabled: true
    scopes: [topic.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered-events'
          metricNamespace: 'Microsoft.EventGrid/systemTopics'
          metricName: 'DeadLetteredCount'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    actions: actions
  }
}

// Activity log alerts watch the resource group: every immutability-policy and legal-hold
// operation on its containers, and every role assignment written or removed in it.
resource immutabilityChanges 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: 'custody-immutability-changes-${token}'
  location: 'Global'
  tags: tags
  properties: {
    description: 'An immutability policy or legal hold on an evidence container was created, changed, locked, extended or removed.'
    enabled: true
    scopes: [resourceGroup().id]
    condition: {
      allOf: [
        { field: 'category', equals: 'Administrative' }
        {
          anyOf: [
            { field: 'operationName', equals: 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/write' }
            { field: 'operationName', equals: 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/delete' }
            { field: 'operationName', equals: 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/lock/action' }
            { field: 'operationName', equals: 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/extend/action' }
            { field: 'operationName', equals: 'Microsoft.Storage/storageAccounts/blobServices/containers/setLegalHold/action' }
            { field: 'operationName', equals: 'Microsoft.Storage/storageAccounts/blobServices/containers/clearLegalHold/action' }
          ]
        }
      ]
    }
    actions: { actionGroups: [{ actionGroupId: actionGroup.id }] }
  }
}

resource roleAssignmentChanges 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: 'custody-role-assignment-changes-${token}'
  location: 'Global'
  tags: tags
  properties: {
    description: 'A role assignment (Azure RBAC, or a Cosmos DB data-plane role) was created or removed in the Custody resource group.'
    enabled: true
    scopes: [resourceGroup().id]
    condition: {
      allOf: [
        { field: 'category', equals: 'Administrative' }
        {
          anyOf: [
            { field: 'operationName', equals: 'Microsoft.Authorization/roleAssignments/write' }
            { field: 'operationName', equals: 'Microsoft.Authorization/roleAssignments/delete' }
            { field: 'operationName', equals: 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments/write' }
            { field: 'operationName', equals: 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments/delete' }
          ]
        }
      ]
    }
    actions: { actionGroups: [{ actionGroupId: actionGroup.id }] }
  }
}

// The reconcile timer's summary line (functions/reconcile.ts), as the Functions host writes it
// to AppTraces: the logger's JSON object (shared/logging.ts) is the trace message.
var reconcileSummary = 'reconcile finished: recordings re-announced or rebuilt'
var waitingTooLongQuery = 'AppTraces | where Message has "${reconcileSummary}" | extend entry = parse_json(Message) | where tostring(entry.message) == "${reconcileSummary}" and toint(entry.stuck) > 0 | project TimeGenerated, stuck = toint(entry.stuck), reemitted = toint(entry.reemitted), operationId = tostring(entry.operationId)'

resource recordingsWaitingTooLong 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'custody-recordings-waiting-too-long-${token}'
  location: resourceGroup().location
  tags: tags
  properties: {
    displayName: 'Recordings waiting too long'
    description: 'The reconcile timer found recordings left in received or waiting longer than CUSTODY_RECONCILE_STUCK_AFTER_MINUTES and re-announced them: look at `custody status` for each.'
    severity: 2
    enabled: true
    scopes: [workspaceId]
    // On a fresh workspace AppTraces holds no rows until the apps first log; creating the rule
    // would otherwise fail query validation and the first deployment with it.
    skipQueryValidation: true
    evaluationFrequency: 'PT30M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: waitingTooLongQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: [actionGroup.id] }
  }
}
