/**
 * Signing a manifest with the signer port and checking it with the published keys: every way
 * a package can be wrong is named (changed manifest, other key, unknown or retired key, wrong
 * algorithm), and a retired key's signatures still verify.
 */
import { mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { generateKeyPairSync, sign as signData } from "node:crypto";
import { LocalKeySigner, rotateLocalSigningKey } from "../../shared/adapters/local-key-signer";
import type { EvidenceSigner, PublicSigningKey } from "../../shared/ports/evidence-signer";
import { buildJwks, jwkThumbprint, type JsonWebKeySet } from "../../shared/provenance/jwks";
import { buildEvidenceManifest } from "../../shared/provenance/manifest";
import { signEvidenceManifest, verifyEvidenceManifest, type ManifestProblemCode, type SignedManifest } from "../../shared/provenance/manifest-signature";
import { p1363ToDer } from "../../shared/provenance/signature-encoding";
import { LOG_HEAD, readyRecord } from "./ready-record";

let directory: string;
let signer: LocalKeySigner;
let jwks: JsonWebKeySet;

beforeEach(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), "custody-sign-"));
  signer = await LocalKeySigner.open({ directory, now: () => new Date("2026-11-01T00:00:00Z") });
  jwks = buildJwks(await signer.publishedKeys());
});
afterEach(() => rm(directory, { recursive: true, force: true }));

const issue = (by: EvidenceSigner, issuedAt = "2026-11-27T08:02:00.000Z"): Promise<SignedManifest> =>
  signEvidenceManifest(buildEvidenceManifest(readyRecord(), { custodyLog: LOG_HEAD, issuedAt, keyId: by.keyId }), by);

const codes = (result: { problems: Array<{ code: ManifestProblemCode }> }): ManifestProblemCode[] => result.problems.map((p) => p.code);

/** A signer with a key of its own, not published (an impostor), optionally claiming another key's id. */
function impostor(claimedKeyId?: string): EvidenceSigner {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" }) as { x: string; y: string };
  const kid = claimedKeyId ?? jwkThumbprint({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y });
  return {
    algorithm: "ES256",
    keyId: kid,
    sign: (data) => Promise.resolve(new Uint8Array(signData("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" }))),
    publicKey: (): Promise<PublicSigningKey> => Promise.resolve({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, kid, alg: "ES256", use: "sig" }),
  };
}

test("sign → verify: both signatures check out with the published key", async () => {
  const signed = await issue(signer);
  const result = verifyEvidenceManifest({ manifest: signed.manifestJson, signature: signed.signature, jws: signed.jws, keys: jwks });
  expect(result).toMatchObject({ valid: true, keyId: signer.keyId, problems: [] });
  expect(result.manifest?.original.sha256).toBe("a".repeat(64));
  // Each signature verifies on its own too.
  expect(verifyEvidenceManifest({ manifest: signed.manifestJson, signature: signed.signature, keys: jwks }).valid).toBe(true);
  expect(verifyEvidenceManifest({ manifest: signed.manifestJson, jws: signed.jws, keys: jwks }).valid).toBe(true);
  // The JWS header names the algorithm and the key.
  const header = JSON.parse(Buffer.from(signed.jws.split(".")[0] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
  expect(header).toEqual({ alg: "ES256", kid: signer.keyId, typ: "custody-evidence-manifest+jws" });
});

test("one changed byte of manifest.json: the payload changed (with the JWS), a bad signature (without it)", async () => {
  const signed = await issue(signer);
  const tampered = Buffer.from(signed.manifestJson);
  const at = tampered.indexOf("a".repeat(64));
  tampered[at] = "b".charCodeAt(0);
  const withJws = verifyEvidenceManifest({ manifest: tampered, signature: signed.signature, jws: signed.jws, keys: jwks });
  expect(withJws.valid).toBe(false);
  expect(codes(withJws)).toEqual(["PayloadChanged"]);
  expect(withJws.problems[0]?.message).toContain(`from byte ${at}`);
  expect(codes(verifyEvidenceManifest({ manifest: tampered, signature: signed.signature, keys: jwks }))).toEqual(["BadSignature"]);
  // Re-serialised (same content, other layout): not the signed bytes either.
  const pretty = Buffer.from(JSON.stringify(JSON.parse(Buffer.from(signed.manifestJson).toString("utf8")), null, 2));
  expect(codes(verifyEvidenceManifest({ manifest: pretty, signature: signed.signature, jws: signed.jws, keys: jwks }))).toEqual(["PayloadChanged"]);
});

test("a key id edited in manifest.json: the payload changed (the JWS still names the key that signed), else an unknown key", async () => {
  const signed = await issue(signer);
  const edited = Buffer.from(Buffer.from(signed.manifestJson).toString("utf8").replace(signer.keyId, "someone-else"));
  expect(codes(verifyEvidenceManifest({ manifest: edited, signature: signed.signature, jws: signed.jws, keys: jwks }))).toEqual(["PayloadChanged"]);
  expect(codes(verifyEvidenceManifest({ manifest: edited, signature: signed.signature, keys: jwks }))).toEqual(["UnknownKey"]);
});

test("a changed signature or JWS is a bad signature", async () => {
  const signed = await issue(signer);
  const sig = Buffer.from(signed.signature);
  sig[sig.length - 1] ^= 0x01;
  expect(codes(verifyEvidenceManifest({ manifest: signed.manifestJson, signature: sig, keys: jwks }))).toEqual(["BadSignature"]);
  const [h, p, s] = signed.jws.split(".") as [string, string, string];
  const flipped = Buffer.from(s, "base64url");
  flipped[0] ^= 0x01;
  expect(codes(verifyEvidenceManifest({ manifest: signed.manifestJson, jws: `${h}.${p}.${flipped.toString("base64url")}`, keys: jwks }))).toEqual(["BadSignature"]);
  expect(codes(verifyEvidenceManifest({ manifest: signed.manifestJson, signature: Buffer.from("not der"), keys: jwks }))).toEqual(["Malformed"]);
  expect(codes(verifyEvidenceManifest({ manifest: signed.manifestJson, jws: "abc", keys: jwks }))).toEqual(["Malformed"]);
  expect(codes(verifyEvidenceManifest({ manifest: signed.manifestJson, keys: jwks }))).toEqual(["MissingSignature"]);
});

test("re-signed with another key: an unknown key id; signed by another key under the real id: a bad signature", async () => {
  const other = await issue(impostor());
  expect(codes(verifyEvidenceManifest({ manifest: other.manifestJson, signature: other.signature, jws: other.jws, keys: jwks }))).toEqual(["UnknownKey"]);
  const forged = await issue(impostor(signer.keyId));
  expect(codes(verifyEvidenceManifest({ manifest: forged.manifestJson, signature: forged.signature, jws: forged.jws, keys: jwks }))).toEqual(["BadSignature", "BadSignature"]);
});

test("an algorithm other than ES256 is refused, in the JWS header or in the manifest", async () => {
  const signed = await issue(signer);
  const [, payload] = signed.jws.split(".") as [string, string, string];
  for (const alg of ["none", "HS256", "ES384"]) {
    const header = Buffer.from(JSON.stringify({ alg, kid: signer.keyId })).toString("base64url");
    expect(codes(verifyEvidenceManifest({ manifest: signed.manifestJson, jws: `${header}.${payload}.`, keys: jwks }))).toEqual(["WrongAlgorithm"]);
  }
  const manifest = buildEvidenceManifest(readyRecord(), { custodyLog: LOG_HEAD, issuedAt: "2026-11-27T08:02:00.000Z", keyId: signer.keyId });
  const claimsRs256 = Buffer.from(JSON.stringify({ ...manifest, signer: { alg: "RS256", kid: signer.keyId } }));
  expect(codes(verifyEvidenceManifest({ manifest: claimsRs256, signature: signed.signature, keys: jwks }))).toEqual(["WrongAlgorithm"]);
  // A published key that is not an ES256 key is not used.
  const rsaKeys = { keys: jwks.keys.map((key) => ({ ...key, crv: "P-384" as unknown as "P-256" })) };
  expect(codes(verifyEvidenceManifest({ manifest: signed.manifestJson, signature: signed.signature, keys: rsaKeys }))).toEqual(["WrongAlgorithm"]);
});

test("the JWS and the manifest must name the same key", async () => {
  const signed = await issue(signer);
  const [, payload, signature] = signed.jws.split(".") as [string, string, string];
  const header = Buffer.from(JSON.stringify({ alg: "ES256", kid: "someone-else" })).toString("base64url");
  expect(codes(verifyEvidenceManifest({ manifest: signed.manifestJson, jws: `${header}.${payload}.${signature}`, keys: jwks }))).toEqual(["KeyIdMismatch"]);
});

test("a retired key's manifests still verify; one it claims to have signed after retirement does not", async () => {
  const old = await issue(signer, "2026-11-20T00:00:00.000Z");
  await rotateLocalSigningKey({ directory, now: () => new Date("2026-12-01T00:00:00Z") });
  const current = await LocalKeySigner.open({ directory });
  expect(current.keyId).not.toBe(signer.keyId);
  const keys = buildJwks(await current.publishedKeys());
  expect(keys.keys.map((k) => [k.kid, k.exp])).toEqual([
    [current.keyId, undefined],
    [signer.keyId, Date.parse("2026-12-01T00:00:00Z") / 1000],
  ]);
  expect(verifyEvidenceManifest({ manifest: old.manifestJson, signature: old.signature, jws: old.jws, keys }).valid).toBe(true);
  const fresh = await issue(current, "2026-12-02T00:00:00.000Z");
  expect(verifyEvidenceManifest({ manifest: fresh.manifestJson, signature: fresh.signature, jws: fresh.jws, keys })).toMatchObject({ valid: true, keyId: current.keyId });
  // The old key signing after its retirement (a stolen key, backdating not attempted): expired.
  const late = await issue(signer, "2026-12-05T00:00:00.000Z");
  expect(codes(verifyEvidenceManifest({ manifest: late.manifestJson, signature: late.signature, jws: late.jws, keys }))).toEqual(["KeyExpired"]);
  // Claiming a time before the key existed.
  const early = await issue(current, "2026-11-30T00:00:00.000Z");
  expect(codes(verifyEvidenceManifest({ manifest: early.manifestJson, signature: early.signature, keys }))).toEqual(["KeyNotYetValid"]);
  // A key set without the retired key: its manifests name an unknown key.
  expect(codes(verifyEvidenceManifest({ manifest: old.manifestJson, signature: old.signature, keys: { keys: keys.keys.slice(0, 1) } }))).toEqual(["UnknownKey"]);
});

test("a manifest built for one key is not signed by another", async () => {
  const manifest = buildEvidenceManifest(readyRecord(), { custodyLog: LOG_HEAD, issuedAt: "2026-11-27T08:02:00.000Z", keyId: "not-this-signer" });
  await expect(signEvidenceManifest(manifest, signer)).rejects.toMatchObject({ code: "Internal", retryable: false });
});

test("DER encoding of r ‖ s: leading zeros dropped, a zero byte before a set high bit", () => {
  const rs = new Uint8Array(64);
  rs[31] = 0x01; // r = 1
  rs[32] = 0x80; // s with its high bit set
  expect(Buffer.from(p1363ToDer(rs)).toString("hex")).toBe(`3026020101022100${"80" + "00".repeat(31)}`);
});
