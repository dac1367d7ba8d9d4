// Event Grid: a system topic on the evidence account and one subscription that delivers
// Microsoft.Storage.BlobCreated for the `originals` container, as CloudEvents 1.0 (the shape
// shared/contracts/blob-created-event.ts parses), to the blob-created queue — authenticated as
// the topic's own user-assigned identity (Service Bus Data Sender on that queue only), so no
// key or connection string exists anywhere. Events it cannot deliver within the retry policy
// are written, with the same identity, to the `event-deadletter` container, and
// `custody reconcile` re-announces any recording whose event never arrived.
param location string
param tags object
param token string
param evidenceStorageName string
param deadLetterContainerName string
param serviceBusNamespaceName string
param eventGridIdentityName string
@description('Delivery attempts before an event is dead-lettered (Event Grid allows 1–30).')
param maxDeliveryAttempts int = 30
@description('Minutes Event Grid keeps retrying one event (at most 1440).')
param eventTimeToLiveInMinutes int = 1440

// The operations after which a blob is completely committed: the same list as
// BLOB_CREATED_COMMITTED_APIS in shared/contracts/blob-created-event.ts (test/deploy compares).
var committedApis = ['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose', 'SftpCommit']

resource evidenceStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: evidenceStorageName
}

resource eventGridIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: eventGridIdentityName
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource blobCreatedQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: 'blob-created'
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: 'evgt-custody-${token}'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${eventGridIdentity.id}': {} }
  }
  properties: {
    source: evidenceStorage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource originalsCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'originals-blob-created'
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
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: eventGridIdentity.id
      }
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
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: eventGridIdentity.id
      }
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
