/** A ManifestStore that keeps the issues' bytes in memory (pure storage, as the port describes it): create-only, the same bytes again a no-op. */
import type { PublicSigningKey } from "../../shared/ports/evidence-signer";
import type { ManifestStore, SignedManifestFiles } from "../../shared/ports/manifest-store";
import { parseTrustAnchor } from "../../shared/provenance/trust-anchors";

export class InMemoryManifestStore implements ManifestStore {
  readonly #issues = new Map<string, Map<number, SignedManifestFiles>>();
  readonly #keys = new Map<string, PublicSigningKey>();
  readonly #anchors = new Map<string, string>();

  publishKey(key: PublicSigningKey): Promise<void> {
    if (!this.#keys.has(key.kid)) this.#keys.set(key.kid, { ...key });
    return Promise.resolve();
  }

  publishedKeys(): Promise<PublicSigningKey[]> {
    return Promise.resolve([...this.#keys.values()]);
  }

  publishTrustAnchor(certificatePem: string): Promise<void> {
    const anchor = parseTrustAnchor(certificatePem, "the trust anchor");
    if (!this.#anchors.has(anchor.sha256)) this.#anchors.set(anchor.sha256, anchor.pem);
    return Promise.resolve();
  }

  publishedTrustAnchors(): Promise<string[]> {
    return Promise.resolve([...this.#anchors.values()]);
  }

  put(evidenceId: string, sequence: number, files: SignedManifestFiles): Promise<void> {
    const issues = this.#issues.get(evidenceId) ?? new Map<number, SignedManifestFiles>();
    const existing = issues.get(sequence);
    if (existing !== undefined) {
      const same = Buffer.from(existing.manifestJson).equals(files.manifestJson) && Buffer.from(existing.signature).equals(files.signature) && existing.jws === files.jws;
      return same ? Promise.resolve() : Promise.reject(new Error(`issue ${sequence} of ${evidenceId} exists with other bytes`));
    }
    issues.set(sequence, { manifestJson: new Uint8Array(files.manifestJson), signature: new Uint8Array(files.signature), jws: files.jws });
    this.#issues.set(evidenceId, issues);
    return Promise.resolve();
  }

  list(evidenceId: string): Promise<number[]> {
    return Promise.resolve([...(this.#issues.get(evidenceId)?.keys() ?? [])].sort((a, b) => a - b));
  }

  get(evidenceId: string, sequence: number): Promise<SignedManifestFiles | undefined> {
    return Promise.resolve(this.#issues.get(evidenceId)?.get(sequence));
  }
}
