// The evidence account: keyless (shared key off, so no SAS but user-delegation SAS, no
// connection strings), private containers, TLS 1.2, versioning on, and the `originals`
// container under version-level immutability (WORM): every version of every recording is kept
// unaltered and undeletable for at least the retention schedule's default period, whatever
// role the caller holds — and, once the index has categorised or held it, for as long as its
// own version-level policy and legal hold say (set by the core app, never shortened).
param location string
param tags object
param token string
@description('The originals container\'s default retention: the default category\'s period in retention/schedule.json (main.bicep reads it), e.g. 31 days for non-evidential footage.')
param originalsDefaultRetentionDays int
@description('The ledger and audit containers\' default retention (main.bicep proofRetentionDays): the proof outlives the footage.')
param proofRetentionDays int
@description('Set after an operator has locked the originals, ledger and audit policies (docs/deploy.md): a locked policy can only be extended, so the template stops declaring them.')
param originalsPolicyLocked bool = false
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGZRS'])
param skuName string = 'Standard_ZRS'
@description('The core app\'s identity: ingest, hash, fixity and reconcile read originals.')
param appPrincipalId string
@description('The media app\'s identity: transcode and thumbnail read originals through signed URLs and write renditions.')
param mediaPrincipalId string
@description('Object id of the operators\' Entra ID group (main.bicep operatorGroupObjectId); empty = none.')
param operatorPrincipalId string
@description('Object id of the records officers\' Entra ID group (main.bicep recordsOfficerGroupObjectId); empty = none.')
param recordsOfficerPrincipalId string = ''
@description('Docking stations: [{ principalId, pathPrefix? }] (main.bicep `uploaders`).')
param uploaders array
param roles object
@description('Private profile: the public endpoint refuses every network (firewall default Deny, no IP or network rules); the apps come in through the blob private endpoint, and only the Event Grid system topic named below, as a trusted service with its managed identity, may write dead-lettered events.')
param privateNetwork bool
@description('Name of the Event Grid system topic on this account (eventgrid.bicep): the one resource instance let through the firewall.')
param eventGridTopicName string
@description('Private profile: public address ranges (CIDR) of docking stations that upload over the internet rather than through the private endpoint (VPN/ExpressRoute). Empty = none.')
param uploaderIpRanges array = []
@description('Customer-managed key (keys.bicep): { identityId, vaultName, keyName }, or {} for Microsoft-managed keys.')
param customerManagedKey object = {}

// Container names the code uses: ORIGINALS (local/stack.ts, CUSTODY_ACCEPTED_CONTAINERS),
// DERIVED_CONTAINER (shared/ports/blob-store.ts), AUDIT_CONTAINER (shared/adapters/blob-audit-log.ts),
// LEDGER_CONTAINER (shared/ports/custody-ledger.ts), MANIFESTS_CONTAINER (shared/adapters/blob-manifest-store.ts).
var originalsName = 'originals'
var ledgerName = 'ledger'
var derivedName = 'derived'
var auditName = 'audit'
var manifestsName = 'manifests'
var eventDeadLetterName = 'event-deadletter'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stcustodyev${take(token, 12)}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
  identity: empty(customerManagedKey) ? null : { type: 'UserAssigned', userAssignedIdentities: { '${customerManagedKey.identityId}': {} } }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Version-level WORM is not supported with a hierarchical namespace.
    isHnsEnabled: false
    // Private: the public endpoint stays *enabled* but refuses every network. Storage ignores
    // its firewall exceptions when public network access is Disabled ("Configure Azure Storage
    // firewalls and virtual networks"), and Event Grid dead-letters undeliverable events into
    // this account as a trusted service with its system-assigned identity — so it is "selected
    // networks" with none selected, the trusted-services bypass, and a resource instance rule
    // naming the one system topic. No virtual network rule, and no IP range but the docking
    // stations' own (uploaderIpRanges, empty by default): nothing else on the internet reaches
    // the data, whatever token it holds.
    publicNetworkAccess: 'Enabled'
    networkAcls: privateNetwork
      ? {
          defaultAction: 'Deny'
          bypass: 'AzureServices'
          ipRules: map(uploaderIpRanges, range => { value: range, action: 'Allow' })
          virtualNetworkRules: []
          resourceAccessRules: [{ tenantId: tenant().tenantId, resourceId: resourceId('Microsoft.EventGrid/systemTopics', eventGridTopicName) }]
        }
      : { defaultAction: 'Allow', bypass: 'AzureServices' }
    // Regulated option (customerManagedEncryption): the account key is wrapped with the tenant's key in
    // Key Vault, read with a user-assigned identity, and every blob is encrypted twice (service +
    // infrastructure layer). Infrastructure encryption can only be chosen when the account is
    // created.
    encryption: empty(customerManagedKey)
      ? null
      : {
          requireInfrastructureEncryption: true
          keySource: 'Microsoft.Keyvault'
          identity: { userAssignedIdentity: customerManagedKey.identityId }
          // The versionless key: the account follows the key's rotations.
          keyvaultproperties: { keyvaulturi: encryptionVault.properties.vaultUri, keyname: customerManagedKey.keyName }
          services: { blob: { enabled: true, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' } }
        }
  }
}

resource encryptionVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = if (!empty(customerManagedKey)) {
  name: customerManagedKey.?vaultName ?? 'none'
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    // Version-level immutability requires versioning; an overwrite becomes a new version (and a
    // new recording), never a change to the old bytes.
    isVersioningEnabled: true
    // An audit trail of every create/delete on the account, kept by the service.
    changeFeed: { enabled: true }
    deleteRetentionPolicy: { enabled: true, days: 30 }
    containerDeleteRetentionPolicy: { enabled: true, days: 30 }
  }
}

resource originals 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: originalsName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: { enabled: true }
  }
}

// The container's default time-based retention policy: each new version inherits it — the
// default category's period (non-evidential footage is deleted when it ends); the index
// extends a version's own policy when the recording is categorised or held. Created unlocked —
// an unlocked policy can still be shortened or removed, and versions written under it keep an
// unlocked policy even after the default is locked — so it protects against mistakes but not
// against an administrator. Locking it before the first real upload (docs/deploy.md) is
// deliberate and irreversible, and is an operator's step, not the template's.
resource originalsRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!originalsPolicyLocked) {
  parent: originals
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: originalsDefaultRetentionDays
    allowProtectedAppendWrites: false
    allowProtectedAppendWritesAll: false
  }
}

resource derived 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: derivedName
  properties: { publicAccess: 'None' }
}

// The custody ledger: one append blob per recording, every fact the index acted on. Write once:
// version-level immutability with protected append writes — entries can be appended, never
// changed or deleted, for `proofRetentionDays` — longer than any category keeps footage: it is
// the proof of what was kept and of what was disposed of (the tombstones).
resource ledger 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: ledgerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: { enabled: true }
  }
}

resource ledgerRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!originalsPolicyLocked) {
  parent: ledger
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: proofRetentionDays
    allowProtectedAppendWrites: true
    allowProtectedAppendWritesAll: false
  }
}

// Signed evidence manifests (decision 0015): every issue of every recording's manifest, created
// once by the index and never changed or deleted during retention — kept as long as the ledger,
// which names each of them.
resource manifests 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: manifestsName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: { enabled: true }
  }
}

resource manifestsRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!originalsPolicyLocked) {
  parent: manifests
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: proofRetentionDays
    allowProtectedAppendWrites: false
    allowProtectedAppendWritesAll: false
  }
}

// Operators' actions (redrive, purge, reconcile, reprocess): one record per run, written once
// (If-None-Match: *) and, like the originals, never changed or deleted during retention — the
// operator who wrote a record cannot take it back (kept as long as the ledger).
resource audit 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: auditName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: { enabled: true }
  }
}

resource auditRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!originalsPolicyLocked) {
  parent: audit
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: proofRetentionDays
    allowProtectedAppendWrites: false
    allowProtectedAppendWritesAll: false
  }
}

// Event Grid writes events it could not deliver here (modules/eventgrid.bicep).
resource eventDeadLetter 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: eventDeadLetterName
  properties: { publicAccess: 'None' }
}

// ---- The core app: read originals (ingest, hash, fixity, reconcile); retention rights below --

resource appReadsOriginals 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(originals.id, appPrincipalId, roles.storageBlobDataReader)
  scope: originals
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The index appends to the custody ledger (append blobs; the policy refuses anything else).
resource appAppendsLedger 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(ledger.id, appPrincipalId, roles.storageBlobDataContributor)
  scope: ledger
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The disposal timer writes one audit record per run, like an operator's (write-once: the
// container's policy refuses a change or a delete of a record).
resource appAuditsDisposals 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(audit.id, appPrincipalId, roles.storageBlobDataContributor)
  scope: audit
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Core app (disposal timer): one audit record per disposal run'
  }
}

// The index stores each signed evidence manifest it issues (create-only; the policy refuses a change).
resource appStoresManifests 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(manifests.id, appPrincipalId, roles.storageBlobDataContributor)
  scope: manifests
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Core app (index): stores the signed evidence manifests it issues'
  }
}

// ---- The media app: read originals, write renditions, sign read URLs for ffmpeg ------------

resource mediaReadsOriginals 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(originals.id, mediaPrincipalId, roles.storageBlobDataReader)
  scope: originals
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: mediaPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource mediaWritesDerived 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(derived.id, mediaPrincipalId, roles.storageBlobDataContributor)
  scope: derived
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: mediaPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// A user delegation key is requested from the blob service as a whole (generateUserDelegationKey
// is an account-level action), so this is the one account-scoped role. It grants no data
// access: a user-delegation SAS is limited to what the signer's own roles allow (read on
// originals, shared/adapters/azure-blob-store.ts readUrl).
resource mediaSignsReadUrls 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, mediaPrincipalId, roles.storageBlobDelegator)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDelegator)
    principalId: mediaPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Event Grid's role on event-deadletter is granted in eventgrid.bicep, to the system topic's own
// (system-assigned) identity.

// ---- Docking stations / upload services: add recordings to originals, write-only -----------
// A dock creates blobs (Put Blob, or Put Block + Put Block List) and may append (Append Block);
// it never needs to list, read or delete, so it gets exactly those two data actions — no
// built-in role is that narrow (Storage Blob Data Contributor would let a stolen dock identity
// list and download every recording). Data actions: learn.microsoft.com/azure/role-based-access-control/permissions/storage
// ("Returns the result of writing a blob", "Returns the result of adding blob content").
// Overwriting a name creates a new version under the WORM policy; the old bytes stay.

var blobWrite = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
var blobAppend = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'

// Assignable in this resource group only; the role name is tenant-unique, hence the group's name
// in it. Created only when there are docks: defining a role needs roleDefinitions/write (Owner or
// User Access Administrator), which a deployer holding only Role Based Access Control
// Administrator lacks.
resource dockUploaderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(uploaders)) {
  name: guid(resourceGroup().id, 'custody-dock-uploader')
  properties: {
    roleName: 'Custody dock uploader (${resourceGroup().name})'
    description: 'Create and append blobs in the Custody originals container: no read, list or delete.'
    type: 'CustomRole'
    assignableScopes: [resourceGroup().id]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [blobWrite, blobAppend]
        notDataActions: []
      }
    ]
  }
}

// With a pathPrefix, an ABAC condition (version 2.0) narrows the writes to blob names starting
// with it — the documented blob-path pattern, learn.microsoft.com/azure/storage/blobs/storage-auth-abac-examples:
// an action other than write/append is not affected (the role has none), a write or append is
// allowed only when the blob's path starts with the prefix. No prefix: no condition.
resource uploadersWriteOriginals 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for uploader in uploaders: {
  name: guid(originals.id, uploader.principalId, dockUploaderRole.name)
  scope: originals
  properties: {
    // The subscription-level id every role definition has (a definition made in a resource-group deployment is still one).
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dockUploaderRole.name)
    principalId: uploader.principalId
    principalType: 'ServicePrincipal'
    description: empty(uploader.?pathPrefix ?? '') ? 'Dock: create and append recordings in originals' : 'Dock: create and append recordings under ${uploader.?pathPrefix ?? ''} in originals'
    condition: empty(uploader.?pathPrefix ?? '')
      ? null
      : '((!(ActionMatches{\'${blobWrite}\'}) AND !(ActionMatches{\'${blobAppend}\'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith \'${uploader.?pathPrefix ?? ''}\'))'
    conditionVersion: empty(uploader.?pathPrefix ?? '') ? null : '2.0'
  }
}]

// ---- The core app's retention rights: the index makes storage agree with the record ---------
// (shared/adapters/azure-retention-store.ts): on `originals` it reads a version's protection,
// sets and extends its retention policy and its legal hold, and deletes a version whose policy
// has expired and that no hold protects (disposal); on `derived` it lists and deletes a disposed
// recording's renditions and their versions. No built-in role fits: Storage Blob Data Owner
// would also let it overwrite, add and permanently delete; Contributor has no right to set
// policies or delete previous versions and would let it overwrite renditions. The actions,
// from learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory and
// learn.microsoft.com/azure/storage/blobs/versioning-overview:
// - `blobs/immutableStorage/runAsSuperUser/action`: Set Blob Immutability Policy (the same
//   action deletes or shortens an Unlocked policy: the app writes Locked policies, docs/deploy.md);
// - `containers/write` (a control-plane action): Set Blob Legal Hold in the REST table; the
//   ABAC action list gives runAsSuperUser for it instead. Both are granted because the
//   documents disagree. It also covers container metadata, leases and Undelete Blob;
// - `blobs/deleteBlobVersion/action`: Delete Blob ?versionid= of a previous version;
//   `blobs/delete`: the current version through the base blob (it becomes a previous version);
// - `blobs/read`: Get Blob Properties and listing versions.
// Never `blobs/write` or `blobs/add/action` (no new or overwritten bytes), nor
// `blobs/permanentDelete/action` (soft delete keeps a disposed version 30 days). Storage still
// refuses to delete any version under an unexpired policy or a legal hold, whatever the role.

var blobRead = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
var blobDelete = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'
var blobDeleteVersion = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action'
var blobImmutability = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action'
var containerWrite = 'Microsoft.Storage/storageAccounts/blobServices/containers/write'

resource retentionKeeperRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'custody-retention-keeper')
  properties: {
    roleName: 'Custody retention keeper (${resourceGroup().name})'
    description: 'Set and extend retention policies and legal holds on Custody originals, and delete versions storage no longer protects: no write, append or permanent delete.'
    type: 'CustomRole'
    assignableScopes: [resourceGroup().id]
    permissions: [
      {
        actions: [containerWrite]
        notActions: []
        dataActions: [blobRead, blobImmutability, blobDeleteVersion, blobDelete]
        notDataActions: []
      }
    ]
  }
}

resource renditionDisposerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'custody-rendition-disposer')
  properties: {
    roleName: 'Custody rendition disposer (${resourceGroup().name})'
    description: 'List and delete Custody renditions and their versions when their recording is disposed of: no write or permanent delete.'
    type: 'CustomRole'
    assignableScopes: [resourceGroup().id]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [blobRead, blobDeleteVersion, blobDelete]
        notDataActions: []
      }
    ]
  }
}

resource appKeepsOriginals 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(originals.id, appPrincipalId, retentionKeeperRole.name)
  scope: originals
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', retentionKeeperRole.name)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Core app (index): retention policies, legal holds and disposal of originals'
  }
}

resource appDisposesRenditions 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(derived.id, appPrincipalId, renditionDisposerRole.name)
  scope: derived
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', renditionDisposerRole.name)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Core app (index): deletes a disposed recording\'s renditions'
  }
}

// ---- The core app's Content Credentials signer (functions/content-credentials.ts) -----------
// It reads the thumbnail stage's images and creates their signed copies in the order's folder
// beside them, `<evidenceId>/thumbnail/[reprocess-<id>/]c2pa-<request>/`, create-only
// (If-None-Match: * — shared/stages/credentials-stage.ts). Storage Blob Data Contributor would
// also let it delete and overwrite every rendition; the narrowest fit is a role of its own with
// read and blob write (Put Blob) only, and an ABAC condition (version 2.0, the blob-path pattern
// of learn.microsoft.com/azure/storage/blobs/storage-auth-abac-examples) that allows the write
// only under a `c2pa-` folder of a thumbnail folder: the proxy, the thumbnail stage's own files
// and every other rendition stay out of its reach. No delete, no add/action, no tags.

resource imageSignerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'custody-image-signer')
  properties: {
    roleName: 'Custody image signer (${resourceGroup().name})'
    description: 'Read Custody renditions and create the signed copies of a recording\'s images in their c2pa- folders: no delete, and no write anywhere else.'
    type: 'CustomRole'
    assignableScopes: [resourceGroup().id]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [blobRead, blobWrite]
        notDataActions: []
      }
    ]
  }
}

resource appSignsImages 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(derived.id, appPrincipalId, imageSignerRole.name)
  scope: derived
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', imageSignerRole.name)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Core app (content-credentials): creates the signed images in the c2pa- folders of thumbnail folders'
    condition: '((!(ActionMatches{\'${blobWrite}\'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike \'*/thumbnail/c2pa-*\' OR @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike \'*/thumbnail/reprocess-*/c2pa-*\'))'
    conditionVersion: '2.0'
  }
}

// ---- The operators' group (operatorGroupObjectId, never the deploying principal): `custody
// ---- verify` / `reconcile` read originals, `dlq redrive|purge` / `reconcile` write their audit record

resource operatorReadsOriginals 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(originals.id, operatorPrincipalId, roles.storageBlobDataReader)
  scope: originals
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: operatorPrincipalId
    principalType: 'Group'
  }
}

// `custody reconcile` reads the ledger to say what it would rebuild.
resource operatorReadsLedger 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(ledger.id, operatorPrincipalId, roles.storageBlobDataReader)
  scope: ledger
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: operatorPrincipalId
    principalType: 'Group'
  }
}

// `custody export` reads the signed manifests into a disclosure package.
resource operatorReadsManifests 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(manifests.id, operatorPrincipalId, roles.storageBlobDataReader)
  scope: manifests
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: operatorPrincipalId
    principalType: 'Group'
  }
}

resource operatorWritesAudit 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(audit.id, operatorPrincipalId, roles.storageBlobDataContributor)
  scope: audit
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: operatorPrincipalId
    principalType: 'Group'
  }
}

// ---- Records officers: `custody release` writes its audit record (write-once, like the operators')

resource recordsOfficerWritesAudit 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(recordsOfficerPrincipalId)) {
  name: guid(audit.id, recordsOfficerPrincipalId, roles.storageBlobDataContributor)
  scope: audit
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: recordsOfficerPrincipalId
    principalType: 'Group'
  }
}

// ---- Lifecycle: cooler tiers for what the force keeps, never deletion ---------------------
// Tiering only, and only in originals and derived. Deleting is the index's decision (the
// disposal timer: it asks storage, records a tombstone, then deletes), and a lifecycle delete
// action "won't work with any blob in an immutable container" anyway
// (learn.microsoft.com/azure/storage/blobs/lifecycle-management-overview, known issues); the
// ledger and audit containers (the proof) are not touched. Every access tier supports
// immutable storage, and versions can change tier (immutable-storage-overview, versioning-overview).
// Tiering starts two weeks after the default category's period, when the non-evidential footage
// is gone and what is left is kept for years: Cool and Cold bill at least 30 and 90 days, so
// tiering a recording that is about to be disposed of would cost more than it saves. No Archive:
// an archived recording takes hours to rehydrate before it can be played, disclosed or re-hashed.
var tierToCoolAfterDays = originalsDefaultRetentionDays + 14
var tierToColdAfterDays = 180

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'originals-cooler-tiers'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['${originalsName}/'] }
            actions: {
              baseBlob: {
                tierToCool: { daysAfterModificationGreaterThan: tierToCoolAfterDays }
                tierToCold: { daysAfterModificationGreaterThan: tierToColdAfterDays }
              }
              version: {
                tierToCool: { daysAfterCreationGreaterThan: tierToCoolAfterDays }
                tierToCold: { daysAfterCreationGreaterThan: tierToColdAfterDays }
              }
            }
          }
        }
        {
          name: 'derived-cooler-tiers'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['${derivedName}/'] }
            actions: {
              baseBlob: {
                tierToCool: { daysAfterModificationGreaterThan: tierToCoolAfterDays }
                tierToCold: { daysAfterModificationGreaterThan: tierToColdAfterDays }
              }
              version: {
                tierToCool: { daysAfterCreationGreaterThan: tierToCoolAfterDays }
                tierToCold: { daysAfterCreationGreaterThan: tierToColdAfterDays }
              }
            }
          }
        }
      ]
    }
  }
  // Created after the containers it names.
  dependsOn: [originals, derived]
}

output accountName string = account.name
output blobServiceUri string = account.properties.primaryEndpoints.blob
output eventDeadLetterContainerName string = eventDeadLetter.name
