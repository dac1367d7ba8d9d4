// The subscription's activity log into the workspace (AzureActivity, kept as an audit table by
// diagnostics.bicep): role assignments, immutability-policy changes, locks, network changes —
// the platform keeps the activity log itself for 90 days only. One setting per environment.
targetScope = 'subscription'

param name string
param workspaceId string

resource activityLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: name
  properties: {
    workspaceId: workspaceId
    logs: [
      { category: 'Administrative', enabled: true }
      { category: 'Security', enabled: true }
      { category: 'Policy', enabled: true }
      { category: 'Alert', enabled: true }
    ]
  }
}
