// Two user-assigned identities, so each can be granted exactly what it needs before anything
// runs (a system-assigned identity exists only once its resource does):
// - the core app's (`app`): ingest, hash, the index and the timers — reads originals, writes the
//   evidence index, publishes events, claims hashes (stage-results);
// - the media app's: transcode and thumbnail, the code that parses untrusted video — reads
//   originals, writes derived renditions, sends to media-results, and owns only the entities
//   that trigger it; no index, no ledger, no other Send (docs/security.md: what a compromise of
//   it gives).
// Event Grid delivers with its system topic's system-assigned identity (eventgrid.bicep): the
// trusted-services exception of a private Service Bus namespace recognises only that kind.
param location string
param tags object
param token string

resource app 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-custody-app-${token}'
  location: location
  tags: tags
}

resource media 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-custody-media-${token}'
  location: location
  tags: tags
}

output appIdentityName string = app.name
output appPrincipalId string = app.properties.principalId
output mediaIdentityName string = media.name
output mediaPrincipalId string = media.properties.principalId
