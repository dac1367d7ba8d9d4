// The private profile's network (main.bicep networkProfile = 'private'): one virtual network
// with a subnet per function app for Flex Consumption VNet integration and one subnet for the
// private endpoints of the storage accounts, Cosmos DB and Service Bus (private-endpoints.bicep,
// which also creates the private DNS zones and links them here).
//
// Flex Consumption integrates through a subnet delegated to Microsoft.App/environments (not
// Microsoft.Web/serverFarms as on other plans: "The subnet delegation required by Flex
// Consumption apps is Microsoft.App/environments", Flex Consumption plan docs, Considerations),
// used by nothing else — no private endpoints, no other delegation. Scaled-out instances take
// addresses from it; a /24 per app leaves room for maximumInstanceCount with headroom
// (Microsoft's Flex quickstart, Azure-Samples/functions-quickstart-typescript-azd
// infra/app/vnet.bicep, uses a /26; Container Apps environments, which Flex runs on, need at
// least a /27).
//
// Two app subnets rather than one: the media app runs the code that parses untrusted video,
// and its own subnet is where a network security group or an egress firewall can hold it to
// less than the core app.
param location string
param tags object
param token string
@description('Address space of the virtual network: a /16, split into three /24 subnets.')
param addressPrefix string

var octets = split(split(addressPrefix, '/')[0], '.')
var base = '${octets[0]}.${octets[1]}'

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: 'vnet-custody-${token}'
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'snet-core-app'
        properties: {
          addressPrefix: '${base}.0.0/24'
          delegations: [{ name: 'flex-consumption', properties: { serviceName: 'Microsoft.App/environments' } }]
        }
      }
      {
        name: 'snet-media-app'
        properties: {
          addressPrefix: '${base}.1.0/24'
          delegations: [{ name: 'flex-consumption', properties: { serviceName: 'Microsoft.App/environments' } }]
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: '${base}.2.0/24'
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

output vnetName string = vnet.name
output vnetId string = vnet.id
output coreAppSubnetId string = vnet.properties.subnets[0].id
output mediaAppSubnetId string = vnet.properties.subnets[1].id
output privateEndpointSubnetId string = vnet.properties.subnets[2].id
