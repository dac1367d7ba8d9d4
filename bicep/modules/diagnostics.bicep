// Audit logs: a diagnostic setting on every resource that holds or moves evidence, into the one
// Log Analytics workspace, and the audit tables kept for `auditRetentionDays` (at least a year;
// by default as long as the originals). What each answers:
// - StorageBlobLogs (StorageRead/Write/Delete on the evidence account's blob service): who read,
//   wrote or deleted which blob, when, from where, with which identity — "who viewed this
//   recording"; on each host account: who read or replaced an app's deployment package;
// - CDBDataPlaneRequests / CDBControlPlaneRequests: every request to the evidence index, and
//   every change to the account, its keys, network or role assignments;
// - AZMSOperationalLogs, AZMSRunTimeAuditLogs (Premium), AZMSVnetConnectionEvents: Service Bus
//   management operations, data-plane authentication and sends/receives, network refusals;
// - AegDeliveryFailureLogs: every Event Grid delivery that failed, and why;
// - AZKVAuditLogs: every use of the customer-managed key (when there is one).
// Function app logs arrive through workspace-based Application Insights (AppTraces etc., the
// custody log lines of every stage). Categories: "Supported categories for Azure Monitor
// resource logs" (learn.microsoft.com/azure/azure-monitor/reference/logs-index); resource-
// specific tables (logAnalyticsDestinationType 'Dedicated') where the service offers them.
param workspaceName string
param evidenceStorageName string
param hostStorageNames array
param cosmosAccountName string
param serviceBusNamespaceName string
@description('RuntimeAuditLogs exist on Premium namespaces only.')
param serviceBusPremium bool
param eventGridTopicName string
@description('Key Vault of the customer-managed key, or empty.')
param keyVaultName string = ''
@minValue(365)
@maxValue(4383)
@description('Total retention (interactive + long-term) of the audit tables, in days.')
param auditRetentionDays int
@minValue(30)
@maxValue(730)
@description('Of which interactive (queryable without a search job), in days.')
param auditInteractiveRetentionDays int = 90

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

// The audit tables: table-level retention overrides the workspace's (retentionInDays for
// interactive queries, totalRetentionInDays including long-term retention, at most 12 years).
var auditTables = [
  'StorageBlobLogs'
  'CDBDataPlaneRequests'
  'CDBControlPlaneRequests'
  'AZMSOperationalLogs'
  'AZMSRunTimeAuditLogs'
  'AZMSVnetConnectionEvents'
  'AegDeliveryFailureLogs'
  'AZKVAuditLogs'
  'AzureActivity'
  'AzureDiagnostics'
  'AppTraces'
]

resource tables 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = [for table in auditTables: {
  parent: workspace
  name: table
  properties: {
    retentionInDays: auditInteractiveRetentionDays
    totalRetentionInDays: auditRetentionDays
  }
}]

// ---- Storage: blob reads, writes and deletes ----------------------------------------------

resource evidenceStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: evidenceStorageName
}

resource evidenceBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: evidenceStorage
  name: 'default'
}

var blobLogs = [
  { category: 'StorageRead', enabled: true }
  { category: 'StorageWrite', enabled: true }
  { category: 'StorageDelete', enabled: true }
]

resource evidenceBlobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: evidenceBlobService
  properties: {
    workspaceId: workspace.id
    logs: blobLogs
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = [for name in hostStorageNames: {
  name: name
}]

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = [for (name, i) in hostStorageNames: {
  parent: hostStorage[i]
  name: 'default'
}]

resource hostBlobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = [for (name, i) in hostStorageNames: {
  name: 'audit'
  scope: hostBlobService[i]
  properties: {
    workspaceId: workspace.id
    logs: blobLogs
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}]

// ---- Cosmos DB: data plane and control plane ----------------------------------------------

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

resource cosmosDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: cosmos
  properties: {
    workspaceId: workspace.id
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      { category: 'DataPlaneRequests', enabled: true }
      { category: 'ControlPlaneRequests', enabled: true }
      { category: 'QueryRuntimeStatistics', enabled: true }
    ]
  }
}

// ---- Service Bus ---------------------------------------------------------------------------

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource serviceBusDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: namespace
  properties: {
    workspaceId: workspace.id
    logAnalyticsDestinationType: 'Dedicated'
    logs: concat(
      [
        { category: 'OperationalLogs', enabled: true }
        { category: 'VNetAndIPFilteringLogs', enabled: true }
      ],
      serviceBusPremium ? [{ category: 'RuntimeAuditLogs', enabled: true }] : []
    )
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

// ---- Event Grid: failed deliveries ---------------------------------------------------------

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: eventGridTopicName
}

resource eventGridDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: topic
  properties: {
    workspaceId: workspace.id
    logAnalyticsDestinationType: 'Dedicated'
    logs: [{ category: 'DeliveryFailures', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

// ---- Key Vault (customer-managed keys only): every key operation --------------------------

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = if (!empty(keyVaultName)) {
  name: empty(keyVaultName) ? 'none' : keyVaultName
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(keyVaultName)) {
  name: 'audit'
  scope: vault
  properties: {
    workspaceId: workspace.id
    logAnalyticsDestinationType: 'Dedicated'
    logs: [{ category: 'AuditEvent', enabled: true }]
  }
}
