// Regulated options on the evidence account that need no change to the account itself:
// - evidenceDeleteLock: a CanNotDelete management lock — the account (and with it every
//   recording, whatever its immutability) cannot be deleted until someone with
//   Microsoft.Authorization/locks/delete removes the lock, which the activity log records;
// - malwareScanningOnUpload: Defender for Storage on this account with on-upload malware
//   scanning — every new blob is scanned and its verdict written as a blob index tag
//   ("Malware Scanning scan result"); docking stations upload files nobody has inspected.
//   Overrides the subscription's Defender plan for this account only; billed per GB scanned,
//   capped at malwareScanningCapGBPerMonth.
param evidenceStorageName string
param deleteLock bool
param malwareScanning bool
param malwareScanningCapGBPerMonth int

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: evidenceStorageName
}

resource lock 'Microsoft.Authorization/locks@2020-05-01' = if (deleteLock) {
  name: 'custody-evidence-cannot-delete'
  scope: account
  properties: {
    level: 'CanNotDelete'
    notes: 'Evidence: recordings, custody ledger and audit records. Removing this lock is an audited, deliberate act (docs/deploy.md).'
  }
}

resource defender 'Microsoft.Security/defenderForStorageSettings@2025-06-01' = if (malwareScanning) {
  name: 'current'
  scope: account
  properties: {
    isEnabled: true
    overrideSubscriptionLevelSettings: true
    malwareScanning: {
      onUpload: { isEnabled: true, capGBPerMonth: malwareScanningCapGBPerMonth }
    }
    sensitiveDataDiscovery: { isEnabled: false }
  }
}
