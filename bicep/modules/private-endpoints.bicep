// Private endpoints for everything the apps reach, in the private profile: the evidence account
// (blob — the only service the apps use there), both host storage accounts (blob, queue and
// table: the Functions host's storage services, as Microsoft's Flex quickstarts do; Flex
// Consumption keeps no file share), Cosmos DB
// (Sql) and Service Bus (namespace). Each endpoint registers its address in the private DNS zone
// of its sub-resource, linked to the virtual network, so the apps keep using each service's own
// host name (the settings do not change between profiles) and resolve it to a private address.
//
// Zone names follow "Azure Private Endpoint private DNS zone values" (learn.microsoft.com/azure/
// private-link/private-endpoint-dns): privatelink.<service>.<suffix>. The suffix is taken from
// the environment (storage) or from the service's own endpoint (Cosmos DB, Service Bus), never
// written here, so a sovereign cloud gets its own zones.
param location string
param tags object
param vnetId string
param subnetId string
param evidenceStorageName string
@description('The core app\'s and the media app\'s host storage accounts.')
param coreHostStorageName string
param mediaHostStorageName string
param cosmosAccountName string
@description('documentEndpoint of the Cosmos DB account (https://<account>.<suffix>:443/).')
param cosmosAccountEndpoint string
param serviceBusNamespaceName string
@description('Host of the namespace (<namespace>.<suffix>), from its serviceBusEndpoint.')
param serviceBusFullyQualifiedNamespace string

var storageSuffix = environment().suffixes.storage
var cosmosHost = split(split(cosmosAccountEndpoint, '/')[2], ':')[0]
// Private DNS zone per private-link sub-resource (groupId).
var zoneNames = {
  blob: 'privatelink.blob.${storageSuffix}'
  queue: 'privatelink.queue.${storageSuffix}'
  table: 'privatelink.table.${storageSuffix}'
  Sql: 'privatelink.${join(skip(split(cosmosHost, '.'), 1), '.')}'
  namespace: 'privatelink.${join(skip(split(serviceBusFullyQualifiedNamespace, '.'), 1), '.')}'
}
var groupIds = ['blob', 'queue', 'table', 'Sql', 'namespace']

var storageAccount = 'Microsoft.Storage/storageAccounts'
var endpoints = [
  { name: evidenceStorageName, resourceId: resourceId(storageAccount, evidenceStorageName), groupId: 'blob' }
  { name: coreHostStorageName, resourceId: resourceId(storageAccount, coreHostStorageName), groupId: 'blob' }
  { name: coreHostStorageName, resourceId: resourceId(storageAccount, coreHostStorageName), groupId: 'queue' }
  { name: coreHostStorageName, resourceId: resourceId(storageAccount, coreHostStorageName), groupId: 'table' }
  { name: mediaHostStorageName, resourceId: resourceId(storageAccount, mediaHostStorageName), groupId: 'blob' }
  { name: mediaHostStorageName, resourceId: resourceId(storageAccount, mediaHostStorageName), groupId: 'queue' }
  { name: mediaHostStorageName, resourceId: resourceId(storageAccount, mediaHostStorageName), groupId: 'table' }
  { name: cosmosAccountName, resourceId: resourceId('Microsoft.DocumentDB/databaseAccounts', cosmosAccountName), groupId: 'Sql' }
  { name: serviceBusNamespaceName, resourceId: resourceId('Microsoft.ServiceBus/namespaces', serviceBusNamespaceName), groupId: 'namespace' }
]

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for groupId in groupIds: {
  name: zoneNames[groupId]
  location: 'global'
  tags: tags
}]

resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (groupId, i) in groupIds: {
  parent: zones[i]
  name: 'link-custody'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnetId }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [for endpoint in endpoints: {
  name: 'pe-${endpoint.name}-${toLower(endpoint.groupId)}'
  location: location
  tags: tags
  properties: {
    subnet: { id: subnetId }
    privateLinkServiceConnections: [
      {
        name: '${endpoint.name}-${toLower(endpoint.groupId)}'
        properties: {
          privateLinkServiceId: endpoint.resourceId
          groupIds: [endpoint.groupId]
        }
      }
    ]
  }
}]

resource dnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [for (endpoint, i) in endpoints: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: toLower(endpoint.groupId)
        properties: { privateDnsZoneId: resourceId('Microsoft.Network/privateDnsZones', zoneNames[endpoint.groupId]) }
      }
    ]
  }
  dependsOn: [zones, links]
}]

output privateEndpointCount int = length(endpoints)
