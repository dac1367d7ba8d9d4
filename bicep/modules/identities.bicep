// Two user-assigned identities, so each can be granted exactly what it needs before anything
// runs (a system-assigned identity exists only once its resource does):
// - the function app's: every data-plane access of the pipeline;
// - Event Grid's: send to the blob-created queue and write dead-lettered events, nothing else.
param location string
param tags object
param token string

resource app 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-custody-app-${token}'
  location: location
  tags: tags
}

resource eventGrid 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-custody-eventgrid-${token}'
  location: location
  tags: tags
}

output appIdentityName string = app.name
output appPrincipalId string = app.properties.principalId
output eventGridIdentityName string = eventGrid.name
output eventGridPrincipalId string = eventGrid.properties.principalId
