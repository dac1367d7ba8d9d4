/**
 * The public keys a verifier checks manifests with: a JWK Set (RFC 7517 §5) of every key that
 * signed — the current one and the retired ones — each under the key id signatures name it by,
 * and each as PEM (SubjectPublicKeyInfo) for `openssl dgst -verify`.
 */
import { createHash, createPublicKey } from "node:crypto";
import { CustodyError } from "../errors";
import type { PublishedSigningKey, PublicSigningKey } from "../ports/evidence-signer";
import { jcs } from "./jcs";

export interface JsonWebKeySet {
  keys: PublishedSigningKey[];
}

/** The set from the signer's published keys: one entry per key id (the first wins), each checked to be an ES256 public key. */
export function buildJwks(keys: readonly PublishedSigningKey[]): JsonWebKeySet {
  const seen = new Set<string>();
  const out: PublishedSigningKey[] = [];
  for (const key of keys) {
    if (seen.has(key.kid)) continue;
    seen.add(key.kid);
    // Published keys carry no private member and only the fields the port names.
    const { kty, crv, x, y, kid, alg, use, nbf, exp } = key;
    const entry: PublishedSigningKey = { kty, crv, x, y, kid, alg, use, ...(nbf === undefined ? {} : { nbf }), ...(exp === undefined ? {} : { exp }) };
    assertEs256PublicKey(entry);
    out.push(entry);
  }
  return { keys: out };
}

/** The key's SubjectPublicKeyInfo as PEM: what `openssl dgst -sha256 -verify key.pem` takes. */
export function publicKeyPem(key: Pick<PublicSigningKey, "kty" | "crv" | "x" | "y">): string {
  return createPublicKey({ key: { kty: key.kty, crv: key.crv, x: key.x, y: key.y }, format: "jwk" })
    .export({ type: "spki", format: "pem" })
    .toString();
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an EC key: the digest of its required members in canonical order. */
export function jwkThumbprint(key: Pick<PublicSigningKey, "kty" | "crv" | "x" | "y">): string {
  return createHash("sha256")
    .update(jcs({ crv: key.crv, kty: key.kty, x: key.x, y: key.y }))
    .digest("base64url");
}

/** Throws unless `key` is an EC P-256 public key for ES256 signatures whose point is on the curve. */
export function assertEs256PublicKey(key: PublicSigningKey): void {
  if (key.kty !== "EC" || key.crv !== "P-256" || key.alg !== "ES256" || key.use !== "sig") {
    throw new CustodyError("InvalidConfiguration", `Key ${key.kid} is not an ES256 signing key (kty ${key.kty}, crv ${key.crv}, alg ${key.alg}).`);
  }
  try {
    publicKeyPem(key);
  } catch (error) {
    throw new CustodyError("InvalidConfiguration", `Key ${key.kid} is not a valid P-256 public key.`, { cause: error });
  }
}
