/**
 * What signing evidence needs from a key: ES256 signatures (ECDSA P-256 over SHA-256) made
 * where the private key lives. In Azure the key is in Key Vault and signs through its crypto
 * API, so the private key never leaves the vault; the local stack keeps a key generated on
 * first start in its data folder. Verifiers need only the public key, published with its key
 * id (a JWKS), so a signature made before a key rotation still verifies after it.
 */

/** The only algorithm Custody signs with: ECDSA on P-256 with SHA-256 (RFC 7518 §3.4). */
export type SigningAlgorithm = "ES256";

/** A public key as a JSON Web Key (RFC 7517), EC P-256, with the id signatures name it by. */
export interface PublicSigningKey {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  kid: string;
  alg: SigningAlgorithm;
  use: "sig";
}

export interface EvidenceSigner {
  readonly algorithm: SigningAlgorithm;
  /** The id of the key that signs now; stable for the key's life, different for its successor. */
  readonly keyId: string;
  /**
   * Signs `data` (the bytes, not a digest: the signer hashes with SHA-256). Returns the
   * signature as JWS wants it: r ‖ s, 64 bytes (RFC 7518 §3.4), not DER.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** The public half of the key that signs now. */
  publicKey(): Promise<PublicSigningKey>;
}

/**
 * A key verifiers still accept, with the period it signed in: `nbf` (not before) and `exp`
 * (expiry), NumericDate seconds as in Key Vault's key attributes and JWT (RFC 7519 §4.1.4-5).
 * A retired key keeps its entry, with `exp` set to its retirement, so what it signed before
 * stays verifiable and a signature claiming a later time does not.
 */
export interface PublishedSigningKey extends PublicSigningKey {
  nbf?: number;
  exp?: number;
}

/** Every key whose signatures should still verify — the current one and the retired ones: what the JWKS publishes. */
export interface SigningKeyHistory {
  publishedKeys(): Promise<PublishedSigningKey[]>;
}
