/**
 * The identity the app uses in Azure: the user-assigned managed identity named by
 * `<Connection>__clientId`, else whatever DefaultAzureCredential finds (a developer's az
 * login, a system-assigned identity). Keys never appear in Azure settings.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from "@azure/identity";

export function createCredential(clientId?: string): TokenCredential {
  return clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
}
