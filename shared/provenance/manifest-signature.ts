/**
 * Signing and checking an evidence manifest (docs/decisions/0015-signed-evidence-manifest.md).
 * One manifest, two ES256 signatures over it, for two kinds of verifier:
 *
 * - `manifest.json`: the canonical bytes (RFC 8785), which name the signing key and algorithm;
 * - `manifest.sig`: a DER ECDSA signature of exactly those bytes, for
 *   `openssl dgst -sha256 -verify key.pem -signature manifest.sig manifest.json`;
 * - `manifest.jws`: a JWS in compact serialisation (RFC 7515) with the same bytes as its payload
 *   and `alg`/`kid` in its protected header, for JOSE libraries — and, because it carries the
 *   payload it signed, it tells a changed manifest.json (the JWS still verifies, its payload
 *   differs) from a broken signature.
 *
 * Verification is pure (node:crypto only) and names what failed, one problem per cause.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from "node:crypto";
import type { EvidenceSigner, PublishedSigningKey } from "../ports/evidence-signer";
import { CustodyError } from "../errors";
import { jcs } from "./jcs";
import type { JsonWebKeySet } from "./jwks";
import { manifestBytes, MANIFEST_TYPE, MANIFEST_VERSION, type EvidenceManifest } from "./manifest";
import { derToP1363, p1363ToDer } from "./signature-encoding";

/** The JWS `typ` of a manifest (RFC 7515 §4.1.9: a media type without `application/`). */
export const MANIFEST_JWS_TYPE = "custody-evidence-manifest+jws";

export interface SignedManifest {
  manifest: EvidenceManifest;
  /** manifest.json: the canonical bytes both signatures cover. */
  manifestJson: Uint8Array;
  /** manifest.sig: DER ECDSA-Sig-Value over manifestJson (SHA-256). */
  signature: Uint8Array;
  /** manifest.jws: compact JWS whose payload is manifestJson. */
  jws: string;
}

/** Signs a manifest built for this signer's key (buildEvidenceManifest with keyId = signer.keyId). */
export async function signEvidenceManifest(manifest: EvidenceManifest, signer: EvidenceSigner): Promise<SignedManifest> {
  if (manifest.signer.kid !== signer.keyId || manifest.signer.alg !== signer.algorithm) {
    throw new CustodyError("Internal", `The manifest of ${manifest.evidenceId} names key ${manifest.signer.kid}, but the signer's key is ${signer.keyId}: build it with the signer's key id.`, {
      retryable: false,
    });
  }
  const manifestJson = manifestBytes(manifest);
  const header = jcs({ alg: signer.algorithm, kid: signer.keyId, typ: MANIFEST_JWS_TYPE });
  const signingInput = `${base64url(header)}.${base64url(manifestJson)}`;
  const [jwsSignature, fileSignature] = await Promise.all([signer.sign(new TextEncoder().encode(signingInput)), signer.sign(manifestJson)]);
  return { manifest, manifestJson, signature: p1363ToDer(fileSignature), jws: `${signingInput}.${base64url(jwsSignature)}` };
}

/**
 * Malformed        — manifest.json is not a manifest, or a signature is not in its format
 * MissingSignature — neither signature was given
 * WrongAlgorithm   — an algorithm other than ES256 is named (header or manifest), or the key is not an ES256 key
 * UnknownKey       — no published key has the key id the signature names
 * KeyIdMismatch    — the JWS header and the manifest name different keys
 * KeyExpired       — the key's published validity ends before the manifest's issue time
 * KeyNotYetValid   — the key's published validity starts after it
 * PayloadChanged   — manifest.json is not what was signed (the JWS still verifies over its own payload)
 * BadSignature     — a signature does not verify with the key it names
 */
export type ManifestProblemCode = "Malformed" | "MissingSignature" | "WrongAlgorithm" | "UnknownKey" | "KeyIdMismatch" | "KeyExpired" | "KeyNotYetValid" | "PayloadChanged" | "BadSignature";

export interface ManifestProblem {
  code: ManifestProblemCode;
  /** Which file the problem is in. */
  subject: "manifest.json" | "manifest.sig" | "manifest.jws" | "keys";
  message: string;
}

export interface VerifyManifestInput {
  /** manifest.json as received (bytes: one changed byte must count). */
  manifest: Uint8Array;
  /** manifest.sig (DER), when given. */
  signature?: Uint8Array;
  /** manifest.jws, when given. */
  jws?: string;
  /** The published keys — from the deployment's JWKS, not from the package being checked. */
  keys: JsonWebKeySet;
}

export interface ManifestVerification {
  valid: boolean;
  /** The key the signatures were checked with, when one was found. */
  keyId?: string;
  /** The manifest as parsed (present whenever manifest.json is a manifest, valid or not: for the report). */
  manifest?: EvidenceManifest;
  problems: ManifestProblem[];
}

export function verifyEvidenceManifest(input: VerifyManifestInput): ManifestVerification {
  const problems: ManifestProblem[] = [];
  const result = (keyId?: string, manifest?: EvidenceManifest): ManifestVerification => ({ valid: problems.length === 0, problems, ...(keyId ? { keyId } : {}), ...(manifest ? { manifest } : {}) });

  const manifest = parseManifest(input.manifest, problems);
  if (input.signature === undefined && input.jws === undefined)
    problems.push({ code: "MissingSignature", subject: "manifest.sig", message: "Neither manifest.sig nor manifest.jws was given: nothing proves who issued the manifest." });
  if (manifest === undefined || problems.length > 0) return result(undefined, manifest);

  const { kid, alg } = manifest.signer;
  if (alg !== "ES256") {
    problems.push({ code: "WrongAlgorithm", subject: "manifest.json", message: `The manifest names algorithm ${String(alg)}; Custody signs with ES256 only.` });
    return result(undefined, manifest);
  }
  const key = input.keys.keys.find((candidate) => candidate.kid === kid);
  if (key === undefined) {
    // A key id edited in manifest.json: the JWS still names (and verifies with) the key that signed.
    if (input.jws !== undefined && signedWithAnotherKnownKey(input.jws, input.manifest, input.keys, problems)) return result(undefined, manifest);
    problems.push({
      code: "UnknownKey",
      subject: "keys",
      message: `No published key has the id ${kid} the manifest names: it was not signed by a key of this deployment (or the key set given is not the deployment's).`,
    });
    return result(undefined, manifest);
  }
  const publicKey = es256Key(key, problems);
  if (publicKey === undefined) return result(kid, manifest);
  checkValidity(key, manifest.issuedAt, problems);

  // The JWS first: when it verifies over a payload that differs from manifest.json, the file
  // was changed after signing — say that, not just that manifest.sig fails.
  let payloadChanged = false;
  if (input.jws !== undefined) payloadChanged = checkJws(input.jws, input.manifest, kid, publicKey, problems);
  if (input.signature !== undefined && !payloadChanged) {
    const p1363 = derToP1363(input.signature);
    if (p1363 === undefined) problems.push({ code: "Malformed", subject: "manifest.sig", message: "manifest.sig is not a DER ECDSA P-256 signature." });
    else if (!verifySignature("sha256", input.manifest, { key: publicKey, dsaEncoding: "ieee-p1363" }, p1363)) {
      problems.push({
        code: "BadSignature",
        subject: "manifest.sig",
        message: `manifest.sig does not verify over manifest.json with key ${kid}: the manifest or the signature was changed, or another key signed it.`,
      });
    }
  }
  return result(kid, manifest);
}

function parseManifest(bytes: Uint8Array, problems: ManifestProblem[]): EvidenceManifest | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    problems.push({ code: "Malformed", subject: "manifest.json", message: "manifest.json is not UTF-8 JSON." });
    return undefined;
  }
  const candidate = parsed as Partial<EvidenceManifest> | null;
  if (candidate === null || typeof candidate !== "object" || candidate.type !== MANIFEST_TYPE || typeof candidate.signer?.kid !== "string" || typeof candidate.issuedAt !== "string") {
    problems.push({ code: "Malformed", subject: "manifest.json", message: `manifest.json is not a Custody evidence manifest (type ${MANIFEST_TYPE} with signer and issuedAt).` });
    return undefined;
  }
  if (candidate.manifestVersion !== MANIFEST_VERSION) {
    problems.push({ code: "Malformed", subject: "manifest.json", message: `manifest.json has version ${String(candidate.manifestVersion)}; this verifier reads version ${MANIFEST_VERSION}.` });
  }
  return candidate as EvidenceManifest;
}

function es256Key(key: PublishedSigningKey, problems: ManifestProblem[]): KeyObject | undefined {
  if (key.kty !== "EC" || key.crv !== "P-256" || (key.alg as string | undefined) !== "ES256") {
    problems.push({ code: "WrongAlgorithm", subject: "keys", message: `Published key ${key.kid} is not an ES256 key (kty ${key.kty}, crv ${key.crv}, alg ${key.alg}).` });
    return undefined;
  }
  try {
    return createPublicKey({ key: { kty: key.kty, crv: key.crv, x: key.x, y: key.y }, format: "jwk" });
  } catch {
    problems.push({ code: "Malformed", subject: "keys", message: `Published key ${key.kid} is not a valid P-256 public key.` });
    return undefined;
  }
}

function checkValidity(key: PublishedSigningKey, issuedAt: string, problems: ManifestProblem[]): void {
  const issued = Date.parse(issuedAt) / 1000;
  if (Number.isNaN(issued)) {
    problems.push({ code: "Malformed", subject: "manifest.json", message: `The manifest's issuedAt ${issuedAt} is not a time.` });
    return;
  }
  if (key.exp !== undefined && issued >= key.exp) {
    problems.push({
      code: "KeyExpired",
      subject: "keys",
      message: `Key ${key.kid} was retired at ${new Date(key.exp * 1000).toISOString()}; the manifest says it was issued at ${issuedAt}, after that.`,
    });
  }
  if (key.nbf !== undefined && issued < key.nbf) {
    problems.push({
      code: "KeyNotYetValid",
      subject: "keys",
      message: `Key ${key.kid} is valid from ${new Date(key.nbf * 1000).toISOString()}; the manifest says it was issued at ${issuedAt}, before that.`,
    });
  }
}

/** Checks the JWS; true when it verifies but over a payload other than manifest.json. */
function checkJws(jws: string, manifest: Uint8Array, kid: string, publicKey: KeyObject, problems: ManifestProblem[]): boolean {
  const parts = jws.trim().split(".");
  const [headerPart, payloadPart, signaturePart] = parts;
  if (parts.length !== 3 || headerPart === undefined || payloadPart === undefined || signaturePart === undefined || !parts.every((part) => /^[A-Za-z0-9_-]*$/.test(part))) {
    problems.push({ code: "Malformed", subject: "manifest.jws", message: "manifest.jws is not a JWS in compact serialisation (three base64url parts)." });
    return false;
  }
  let header: { alg?: unknown; kid?: unknown; crit?: unknown };
  try {
    header = JSON.parse(Buffer.from(headerPart, "base64url").toString("utf8")) as typeof header;
  } catch {
    problems.push({ code: "Malformed", subject: "manifest.jws", message: "manifest.jws's protected header is not JSON." });
    return false;
  }
  if (header.alg !== "ES256") {
    problems.push({ code: "WrongAlgorithm", subject: "manifest.jws", message: `manifest.jws names algorithm ${JSON.stringify(header.alg) ?? "none"}; only ES256 is accepted.` });
    return false;
  }
  if (header.crit !== undefined) {
    // RFC 7515 §4.1.11: an extension the verifier does not understand makes the JWS invalid.
    problems.push({ code: "Malformed", subject: "manifest.jws", message: "manifest.jws names critical header extensions this verifier does not implement." });
    return false;
  }
  if (header.kid !== kid) {
    problems.push({ code: "KeyIdMismatch", subject: "manifest.jws", message: `manifest.jws names key ${JSON.stringify(header.kid) ?? "none"}, the manifest names ${kid}.` });
    return false;
  }
  const signature = Buffer.from(signaturePart, "base64url");
  if (signature.length !== 64 || !verifySignature("sha256", Buffer.from(`${headerPart}.${payloadPart}`, "ascii"), { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)) {
    problems.push({ code: "BadSignature", subject: "manifest.jws", message: `manifest.jws does not verify with key ${kid}: the JWS was changed, or another key signed it.` });
    return false;
  }
  const payload = Buffer.from(payloadPart, "base64url");
  if (!payload.equals(manifest)) {
    const at = firstDifference(payload, manifest);
    problems.push({
      code: "PayloadChanged",
      subject: "manifest.json",
      message: `manifest.json is not the manifest that was signed: it differs from the signed payload from byte ${at} (signed ${payload.length} bytes, given ${manifest.length}).`,
    });
    return true;
  }
  return false;
}

/** True (and PayloadChanged recorded) when the JWS names a published key other than the manifest's and verifies with it over another payload. */
function signedWithAnotherKnownKey(jws: string, manifest: Uint8Array, keys: JsonWebKeySet, problems: ManifestProblem[]): boolean {
  let headerKid: unknown;
  try {
    headerKid = (JSON.parse(Buffer.from(jws.split(".")[0] ?? "", "base64url").toString("utf8")) as { kid?: unknown }).kid;
  } catch {
    return false;
  }
  const key = keys.keys.find((candidate) => candidate.kid === headerKid);
  const scratch: ManifestProblem[] = [];
  const publicKey = key === undefined ? undefined : es256Key(key, scratch);
  if (key === undefined || publicKey === undefined || !checkJws(jws, manifest, key.kid, publicKey, scratch)) return false;
  problems.push(...scratch.filter((problem) => problem.code === "PayloadChanged"));
  return true;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return length;
}

function base64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}
