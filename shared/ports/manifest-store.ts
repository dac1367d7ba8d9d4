/**
 * Where the signed evidence manifests are kept (shared/provenance/manifest.ts, decision 0015):
 * every issue of every recording's manifest — the first when it becomes ready, a new one after a
 * reprocess — each written once and never replaced, so a disclosure made from an earlier issue
 * stays checkable. In Azure a container under version-level immutability, like the ledger. The
 * public keys that signed them are published beside them (the deployment's JWKS, by key id), so
 * anyone allowed to read the manifests can check them — and a key, once published, stays. So is
 * the CA certificate the JPEG renditions' Content Credentials chain to (their trust anchor).
 */
import type { PublicSigningKey } from "./evidence-signer";

/** One issue's files, as a disclosure package carries them. */
export interface SignedManifestFiles {
  /** manifest.json: the canonical bytes both signatures cover. */
  manifestJson: Uint8Array;
  /** manifest.sig: DER ECDSA signature over manifest.json (openssl dgst -sha256 -verify). */
  signature: Uint8Array;
  /** manifest.jws: compact JWS whose payload is manifest.json. */
  jws: string;
}

export interface ManifestStore {
  /**
   * Stores issue `sequence` (1, 2, …) of the recording's manifest; create-only. Resolves when it
   * is durable; storing the same issue again with the same bytes is a no-op, with other bytes an
   * error (an issue never changes).
   */
  put(evidenceId: string, sequence: number, files: SignedManifestFiles): Promise<void>;
  /** The recording's issues, oldest first ([] when none). */
  list(evidenceId: string): Promise<number[]>;
  /** One issue's files, or undefined when there is no such issue. */
  get(evidenceId: string, sequence: number): Promise<SignedManifestFiles | undefined>;
  /** Publishes a signing key's public half under its key id; create-only (the same key again is a no-op). */
  publishKey(key: PublicSigningKey): Promise<void>;
  /** Every key published so far (the deployment's JWKS), oldest first. */
  publishedKeys(): Promise<PublicSigningKey[]>;
  /**
   * Publishes a CA certificate (PEM, one certificate) that Content Credentials signing
   * certificates chain to; create-only, named by the certificate's digest, so the same
   * certificate again is a no-op. InvalidConfiguration when the text is not one certificate.
   */
  publishTrustAnchor(certificatePem: string): Promise<void>;
  /** Every trust anchor published so far (PEM), each once ([] when none). */
  publishedTrustAnchors(): Promise<string[]>;
}
