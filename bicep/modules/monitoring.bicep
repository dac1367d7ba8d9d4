// Log Analytics (workspace keys disabled) + workspace-based Application Insights with local
// (instrumentation-key) auth disabled: telemetry is accepted only with an Entra ID token of an
// identity that holds Monitoring Metrics Publisher on this component — the two function apps'.
param location string
param tags object
param token string
param retentionInDays int
param appPrincipalId string
param mediaPrincipalId string
param roles object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-custody-${token}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
    // No workspace (shared) keys: ingestion through the Data Collector API or agents with the
    // workspace key, and queries, need an Entra ID token. Application Insights ingests through
    // its own endpoint (Entra ID too, below) and is not affected.
    features: { disableLocalAuth: true }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-custody-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Keys (the instrumentation key in the connection string) cannot ingest: Entra ID only.
    DisableLocalAuth: true
  }
}

resource appPublishesTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource mediaPublishesTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, mediaPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: mediaPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The name only: the functions module reads the connection string from the resource itself, so
// it never appears in deployment outputs.
output applicationInsightsName string = appInsights.name
output workspaceName string = workspace.name
output workspaceId string = workspace.id
