/**
 * Builds the `BlobServiceClient` the blob adapter runs on, following the Functions
 * connection conventions: a connection string locally (Azurite, `<Name>`), or the service
 * URI plus an Entra ID credential in Azure (`<Name>__blobServiceUri`, keyless — the storage
 * account has shared keys disabled). Settings are read by the caller (config), not here, so
 * this stays a pure factory.
 */
// @azure/identity re-exports core-auth's TokenCredential, so no undeclared transitive import is needed.
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { BlobServiceClient, type StoragePipelineOptions } from "@azure/storage-blob";
import { CustodyError } from "../errors";
import { withoutQuery } from "../text/redaction";

export interface BlobServiceClientSettings {
  /** Account connection string (Azurite, or an account with shared keys). Wins when both are set, as in the Functions host. */
  connectionString?: string;
  /** `https://<account>.blob.core.windows.net` — used with `credential`. */
  blobServiceUri?: string;
  /** Entra ID credential for `blobServiceUri`; `DefaultAzureCredential` (managed identity in Azure, `AZURE_CLIENT_ID` for a user-assigned one) when absent. */
  credential?: TokenCredential;
  /** SDK pipeline options (retry policy, user agent); the SDK's defaults when absent. */
  pipelineOptions?: StoragePipelineOptions;
}

export function createBlobServiceClient(settings: BlobServiceClientSettings): BlobServiceClient {
  if (settings.connectionString !== undefined && settings.connectionString.trim() !== "") {
    try {
      return BlobServiceClient.fromConnectionString(settings.connectionString, settings.pipelineOptions);
    } catch (error) {
      // Never echo the connection string: it carries the account key.
      throw new CustodyError(
        "InvalidConfiguration",
        `The blob storage connection string is malformed (${error instanceof Error ? error.message : String(error)}). Set it to "DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…;BlobEndpoint=…" or use blobServiceUri with a managed identity.`,
        { cause: error },
      );
    }
  }
  if (settings.blobServiceUri !== undefined && settings.blobServiceUri.trim() !== "") {
    let url: URL;
    // Echoed without its query string: a pasted SAS URL carries its signature there.
    const shown = withoutQuery(settings.blobServiceUri);
    try {
      url = new URL(settings.blobServiceUri);
    } catch (error) {
      throw new CustodyError("InvalidConfiguration", `blobServiceUri "${shown}" is not a URL; expected https://<account>.blob.core.windows.net`, { cause: error });
    }
    // A bearer token must never travel in clear text; the SDK refuses it too, but later and less clearly.
    if (url.protocol !== "https:") {
      throw new CustodyError("InvalidConfiguration", `blobServiceUri "${shown}" must use https (Entra ID tokens are only sent over TLS); use a connection string for a local http emulator.`);
    }
    if (url.search !== "") {
      throw new CustodyError("InvalidConfiguration", `blobServiceUri must not carry a query string (a SAS); identity-based access needs only https://<account>.blob.core.windows.net`);
    }
    return new BlobServiceClient(url.toString(), settings.credential ?? new DefaultAzureCredential(), settings.pipelineOptions);
  }
  throw new CustodyError("InvalidConfiguration", "No blob storage connection configured: set a connection string (local, Azurite) or blobServiceUri (Azure, with a managed identity).");
}
