// Event Grid: a system topic on the evidence account and one subscription that delivers
// Microsoft.Storage.BlobCreated for the `originals` container, as CloudEvents 1.0 (the shape
// shared/contracts/blob-created-event.ts parses), to the blob-created queue — authenticated as
// the topic's own system-assigned identity (Service Bus Data Sender on that queue only), so no
// key or connection string exists anywhere. Events it cannot deliver within the retry policy
// are written, with the same identity, to the `event-deadletter` container, and
// `custody reconcile` re-announces any recording whose event never arrived.
//
// System-assigned, not user-assigned: in the private profile the namespace and the evidence
// account let Event Grid in only as a trusted Microsoft service, and Service Bus's trusted-
// services exception recognises a topic's *system-assigned* identity ("Trusted Microsoft
// services": enable system-assigned identity, grant it Data Sender, deliver with it). Such an
// identity exists only once the topic does, so its two grants are made here, after the topic
// and before the subscription that uses them.
param location string
param tags object
param evidenceStorageName string
param serviceBusNamespaceName string
@description('Name of the system topic (main.bicep; the evidence account\'s firewall names the same topic).')
param topicName string
param roles object
@description('Delivery attempts before an event is dead-lettered (Event Grid allows 1–30).')
param maxDeliveryAttempts int = 30
@description('Minutes Event Grid keeps retrying one event (at most 1440).')
param eventTimeToLiveInMinutes int = 1440

// The evidence account's container for undeliverable events (evidence-storage.bicep).
var deadLetterContainerName = 'event-deadletter'

// The operations after which a blob is completely committed: the same list as
// BLOB_CREATED_COMMITTED_APIS in shared/contracts/blob-created-event.ts (test/deploy compares).
var committedApis = ['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose', 'SftpCommit']

resource evidenceStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: evidenceStorageName
}

resource evidenceBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: evidenceStorage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: evidenceBlobService
  name: deadLetterContainerName
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource blobCreatedQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: 'blob-created'
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: topicName
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    source: evidenceStorage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// ---- The topic's identity: send BlobCreated events to the blob-created queue, write dead-lettered events

resource topicSendsBlobCreated 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(blobCreatedQueue.id, topic.id, roles.serviceBusDataSender)
  scope: blobCreatedQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource topicWritesDeadLetters 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, topic.id, roles.storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource originalsCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'originals-blob-created'
  // Event Grid checks the identity's access to both destinations when the subscription is created.
  dependsOn: [topicSendsBlobCreated, topicWritesDeadLetters]
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/originals/'
      // Data Lake and SFTP announce an empty placeholder first (CreateFile / SftpCreate); only
      // committed blobs are recordings.
      advancedFilters: [
        { operatorType: 'StringIn', key: 'data.api', values: committedApis }
      ]
    }
    deliveryWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      destination: {
        endpointType: 'ServiceBusQueue'
        properties: { resourceId: blobCreatedQueue.id }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: evidenceStorage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output systemTopicName string = topic.name
