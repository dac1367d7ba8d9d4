/**
 * The signed evidence manifests on Blob Storage: `manifests/<evidenceId>/<issue, 6 digits>/`
 * holding manifest.json, manifest.sig and manifest.jws, each created once (If-None-Match: *) and
 * never replaced. In Azure the container has version-level immutability like the ledger's
 * (bicep/modules/evidence-storage.bicep). manifest.json is written last, so an issue whose
 * writer died half-way lists as absent and is completed by the next attempt. The public keys
 * that signed them are under `manifests/keys/` (the deployment's JWKS), and so is the CA certificate
 * the JPEG renditions' Content Credentials chain to (`keys/content-credentials-ca-<id>.pem`,
 * shared/provenance/trust-anchors.ts).
 */
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { CustodyError, toCustodyError } from "../errors";
import { containerCreator } from "./blob-container";
import { EVIDENCE_ID_PATTERN } from "../evidence/evidence-id";
import type { PublicSigningKey } from "../ports/evidence-signer";
import type { ManifestStore, SignedManifestFiles } from "../ports/manifest-store";
import { parseTrustAnchor, trustAnchorFileName } from "../provenance/trust-anchors";

/** The container the manifests live in (Bicep makes it immutable). */
export const MANIFESTS_CONTAINER = "manifests";

const FILES = { signature: "manifest.sig", jws: "manifest.jws", manifestJson: "manifest.json" } as const;

export class BlobManifestStore implements ManifestStore {
  private readonly container: ContainerClient;
  private readonly ensureContainer: () => Promise<unknown>;
  private readonly publishedKeyIds = new Set<string>();
  private readonly publishedAnchorPems = new Set<string>();

  /** `createContainer`: locally the app creates it; in Azure Bicep does. */
  constructor(service: BlobServiceClient, options: { createContainer?: boolean } = {}) {
    this.container = service.getContainerClient(MANIFESTS_CONTAINER);
    this.ensureContainer = containerCreator(this.container, options.createContainer);
  }

  async put(evidenceId: string, sequence: number, files: SignedManifestFiles): Promise<void> {
    const folder = folderOf(evidenceId, sequence);
    const contents: Record<keyof typeof FILES, Buffer> = {
      signature: Buffer.from(files.signature),
      jws: Buffer.from(files.jws, "utf8"),
      manifestJson: Buffer.from(files.manifestJson),
    };
    try {
      await this.ensureContainer();
      // manifest.json last: its presence is what makes the issue exist.
      for (const part of ["signature", "jws", "manifestJson"] as const) await this.createOnce(`${folder}/${FILES[part]}`, contents[part]);
    } catch (error) {
      throw toCustodyError(error);
    }
  }

  async list(evidenceId: string): Promise<number[]> {
    const prefix = `${folderOf(evidenceId, 0).split("/")[0]}/`;
    const sequences: number[] = [];
    try {
      for await (const item of this.container.listBlobsFlat({ prefix })) {
        const match = /^[^/]+\/(\d{6})\/manifest\.json$/.exec(item.name);
        if (match !== null) sequences.push(Number(match[1]));
      }
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return [];
      throw toCustodyError(error);
    }
    return sequences.sort((a, b) => a - b);
  }

  async get(evidenceId: string, sequence: number): Promise<SignedManifestFiles | undefined> {
    const folder = folderOf(evidenceId, sequence);
    const read = async (name: string): Promise<Buffer | undefined> => {
      try {
        return await this.container.getBlobClient(`${folder}/${name}`).downloadToBuffer();
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw toCustodyError(error);
      }
    };
    const manifestJson = await read(FILES.manifestJson);
    if (manifestJson === undefined) return undefined;
    const [signature, jws] = await Promise.all([read(FILES.signature), read(FILES.jws)]);
    if (signature === undefined || jws === undefined) {
      throw new CustodyError("Internal", `manifest issue ${sequence} of ${evidenceId} has its manifest.json but not both signatures`, { retryable: false });
    }
    return { manifestJson: new Uint8Array(manifestJson), signature: new Uint8Array(signature), jws: jws.toString("utf8") };
  }

  async publishKey(key: PublicSigningKey): Promise<void> {
    // Once per key and process: every issue publishes its key first, and a key never changes.
    if (this.publishedKeyIds.has(key.kid)) return;
    const { kty, crv, x, y, kid, alg, use } = key;
    const bytes = Buffer.from(JSON.stringify({ kty, crv, x, y, kid, alg, use }), "utf8");
    try {
      await this.ensureContainer();
      await this.createOnce(keyBlobName(kid), bytes);
      this.publishedKeyIds.add(kid);
    } catch (error) {
      throw toCustodyError(error);
    }
  }

  async publishedKeys(): Promise<PublicSigningKey[]> {
    const found: Array<{ key: PublicSigningKey; createdOn: number }> = [];
    try {
      for await (const item of this.container.listBlobsFlat({ prefix: KEYS_PREFIX })) {
        // Keys are the .json blobs; the trust anchors' PEMs live beside them.
        if (!item.name.endsWith(".json")) continue;
        const text = (await this.container.getBlobClient(item.name).downloadToBuffer()).toString("utf8");
        found.push({ key: JSON.parse(text) as PublicSigningKey, createdOn: item.properties.createdOn?.getTime() ?? 0 });
      }
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return [];
      throw toCustodyError(error);
    }
    return found.sort((a, b) => a.createdOn - b.createdOn).map((f) => f.key);
  }

  async publishTrustAnchor(certificatePem: string): Promise<void> {
    // Once per certificate and process, like the keys: the index offers it before every manifest issue.
    if (this.publishedAnchorPems.has(certificatePem)) return;
    const anchor = parseTrustAnchor(certificatePem, "the Content Credentials trust anchor");
    try {
      await this.ensureContainer();
      await this.createOnce(`${KEYS_PREFIX}${trustAnchorFileName(anchor)}`, Buffer.from(anchor.pem, "utf8"));
      this.publishedAnchorPems.add(certificatePem);
    } catch (error) {
      throw toCustodyError(error);
    }
  }

  async publishedTrustAnchors(): Promise<string[]> {
    const found: string[] = [];
    try {
      for await (const item of this.container.listBlobsFlat({ prefix: TRUST_ANCHORS_PREFIX })) {
        if (item.name.endsWith(".pem")) found.push((await this.container.getBlobClient(item.name).downloadToBuffer()).toString("utf8"));
      }
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return [];
      throw toCustodyError(error);
    }
    return found;
  }

  /** Creates the blob, or finds it already there with the same bytes (a retried write); other bytes: an issue never changes. */
  private async createOnce(name: string, bytes: Buffer): Promise<void> {
    const blob = this.container.getBlockBlobClient(name);
    try {
      await blob.uploadData(bytes, { conditions: { ifNoneMatch: "*" }, blobHTTPHeaders: { blobContentType: name.endsWith(".json") ? "application/json" : "application/octet-stream" } });
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 409 && status !== 412) throw error;
      const existing = await blob.downloadToBuffer();
      if (!existing.equals(bytes)) {
        throw new CustodyError("Internal", `${MANIFESTS_CONTAINER}/${name} already holds other bytes: a manifest issue is never replaced`, { retryable: false });
      }
    }
  }
}

/** Published public keys: `keys/<key id, URI-encoded>.json` (a Key Vault key id is a URL). */
const KEYS_PREFIX = "keys/";
/** Published trust anchors: beside the keys, `keys/content-credentials-ca-<id>.pem`. */
const TRUST_ANCHORS_PREFIX = `${KEYS_PREFIX}content-credentials-ca-`;

function keyBlobName(kid: string): string {
  return `${KEYS_PREFIX}${encodeURIComponent(kid)}.json`;
}

function folderOf(evidenceId: string, sequence: number): string {
  if (!EVIDENCE_ID_PATTERN.test(evidenceId)) throw new CustodyError("InvalidMessage", `not an evidence id: ${JSON.stringify(evidenceId)}`, { retryable: false });
  return `${evidenceId}/${String(sequence).padStart(6, "0")}`;
}
