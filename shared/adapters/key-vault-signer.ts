/**
 * The evidence signer in Azure: an EC P-256 key in Key Vault that signs through Key Vault's
 * crypto API, so the private key never leaves the vault (and, in a premium vault with an
 * EC-HSM key, never leaves the HSM). The app's identity holds only keys/sign and keys/read on
 * the vault (bicep/modules/signing.bicep): it can sign and read public keys, never export,
 * import, rotate or delete.
 *
 * Key Vault's sign takes a digest (for ES256 the 32-byte SHA-256 of the data), not the data;
 * it returns r ‖ s, 64 bytes — the JWS form the port returns.
 *   https://learn.microsoft.com/rest/api/keyvault/keys/sign/sign
 * The key id is the key's versioned id (`https://<vault>.vault.azure.net/keys/<name>/<version>`):
 * a versionless id in the settings is pinned to the version current when the signer opens, so
 * every signature of one process names the version that made it, and a rotation (a new
 * version) takes effect at the next start. The JWKS lists every enabled version
 * (listPropertiesOfKeyVersions), with Key Vault's notBefore/expires as `nbf`/`exp`.
 */
import { createHash } from "node:crypto";
import type { TokenCredential } from "@azure/identity";
import { CryptographyClient, KeyClient, parseKeyVaultKeyIdentifier, type KeyClientOptions, type KeyProperties, type KeyVaultKey } from "@azure/keyvault-keys";
import { CustodyError, toCustodyError } from "../errors";
import type { EvidenceSigner, PublicSigningKey, PublishedSigningKey, SigningKeyHistory } from "../ports/evidence-signer";

export interface OpenKeyVaultSignerOptions {
  /** The key's id, with or without a version (CUSTODY_SIGNING_KEY_ID). */
  keyId: string;
  credential: TokenCredential;
  /** Options for the Key Vault clients (tests point them at a loopback server). */
  clientOptions?: KeyClientOptions;
}

export class KeyVaultSigner implements EvidenceSigner, SigningKeyHistory {
  readonly algorithm = "ES256" as const;
  readonly keyId: string;
  readonly #key: PublicSigningKey;
  readonly #keys: KeyClient;
  readonly #crypto: CryptographyClient;
  readonly #name: string;

  private constructor(key: PublicSigningKey, keys: KeyClient, crypto: CryptographyClient, name: string) {
    this.keyId = key.kid;
    this.#key = key;
    this.#keys = keys;
    this.#crypto = crypto;
    this.#name = name;
  }

  /** Reads the key (its current version when the id has none) and checks it can sign ES256. */
  static async open(options: OpenKeyVaultSignerOptions): Promise<KeyVaultSigner> {
    let parsed: { vaultUrl: string; name: string; version?: string };
    try {
      parsed = parseKeyVaultKeyIdentifier(options.keyId);
    } catch (error) {
      throw new CustodyError("InvalidConfiguration", `CUSTODY_SIGNING_KEY_ID is not a Key Vault key id (https://<vault>.vault.azure.net/keys/<name>[/<version>]).`, { cause: error });
    }
    const keys = new KeyClient(parsed.vaultUrl, options.credential, options.clientOptions);
    const key = await call(`read signing key ${options.keyId}`, () => keys.getKey(parsed.name, parsed.version === undefined ? {} : { version: parsed.version }));
    const jwk = es256Jwk(key);
    if (!(key.keyOperations ?? []).includes("sign"))
      throw new CustodyError("InvalidConfiguration", `Key Vault key ${jwk.kid} does not allow sign (its key operations: ${(key.keyOperations ?? []).join(", ")}).`);
    if (key.properties.enabled === false) throw new CustodyError("InvalidConfiguration", `Key Vault key ${jwk.kid} is disabled.`);
    // Built from the key read above (not its id): the client then signs without reading it again.
    const crypto = new CryptographyClient(key, options.credential, options.clientOptions);
    return new KeyVaultSigner(jwk, keys, crypto, parsed.name);
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const digest = createHash("sha256").update(data).digest();
    const result = await call(`sign with ${this.keyId}`, () => this.#crypto.sign("ES256", digest));
    if (result.result.length !== 64) throw new CustodyError("Internal", `Key Vault returned a ${result.result.length}-byte ES256 signature (expected r ‖ s, 64 bytes).`, { retryable: false });
    return new Uint8Array(result.result);
  }

  publicKey(): Promise<PublicSigningKey> {
    return Promise.resolve({ ...this.#key });
  }

  /** Every enabled version of the key, newest first; a disabled version is withdrawn from the set. */
  async publishedKeys(): Promise<PublishedSigningKey[]> {
    const versions: KeyProperties[] = [];
    await call(`list the versions of ${this.#name}`, async () => {
      for await (const properties of this.#keys.listPropertiesOfKeyVersions(this.#name)) versions.push(properties);
    });
    const published: Array<{ createdOn: number; key: PublishedSigningKey }> = [];
    for (const properties of versions) {
      if (properties.enabled === false || properties.version === undefined) continue;
      const key =
        properties.version === this.#key.kid.split("/").pop()
          ? undefined
          : await call(`read ${properties.id ?? properties.version}`, () => this.#keys.getKey(this.#name, { version: properties.version }));
      const jwk = key === undefined ? this.#key : es256Jwk(key);
      const nbf = properties.notBefore ?? properties.createdOn;
      published.push({
        createdOn: properties.createdOn?.getTime() ?? 0,
        key: {
          ...jwk,
          ...(nbf === undefined ? {} : { nbf: Math.floor(nbf.getTime() / 1000) }),
          ...(properties.expiresOn === undefined ? {} : { exp: Math.floor(properties.expiresOn.getTime() / 1000) }),
        },
      });
    }
    return published.sort((a, b) => b.createdOn - a.createdOn).map((entry) => entry.key);
  }

  toJSON(): { algorithm: string; keyId: string } {
    return { algorithm: this.algorithm, keyId: this.keyId };
  }
}

function es256Jwk(key: KeyVaultKey): PublicSigningKey {
  const { kty, crv, x, y } = key.key ?? {};
  if ((kty !== "EC" && kty !== "EC-HSM") || crv !== "P-256" || x === undefined || y === undefined) {
    throw new CustodyError("InvalidConfiguration", `Key Vault key ${key.id ?? key.name} is not an EC P-256 key (kty ${String(kty)}, crv ${String(crv)}): ES256 needs one.`);
  }
  if (key.id === undefined) throw new CustodyError("InvalidConfiguration", `Key Vault returned key ${key.name} without its id.`);
  return { kty: "EC", crv: "P-256", x: Buffer.from(x).toString("base64url"), y: Buffer.from(y).toString("base64url"), kid: key.id, alg: "ES256", use: "sig" };
}

async function call<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof CustodyError) throw error;
    const status = (error as { statusCode?: unknown }).statusCode;
    // A key that is not there is the deployment's setting, not an original gone missing.
    if (status === 404) throw new CustodyError("InvalidConfiguration", `Cannot ${what}: Key Vault has no such key (check CUSTODY_SIGNING_KEY_ID).`, { cause: error });
    const classified = toCustodyError(error);
    throw new CustodyError(classified.code, `Cannot ${what}: ${classified.message}`, { cause: error, retryable: classified.retryable });
  }
}
