/**
 * Content Credentials on JPEG renditions (shared/media/content-credentials.ts) with images made
 * by the project's ffmpeg, signed through the EvidenceSigner port (a node:crypto key here) under
 * a test CA, and validated offline: a clean image is valid and names its original; one byte
 * changed, another original, an unknown CA (even one with the same name) — each is reported by
 * the check that failed; the embedded signature is the port's r ‖ s; a chain that does not certify the signing key is refused
 * before anything is signed.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { locateMediaBinaries, type MediaBinary } from "../../shared/adapters/ffmpeg/media-binaries";
import { isCustodyError } from "../../shared/errors";
import { createContentCredentials, verifyContentCredentials, type ClaimSigner, type SignJpegInput } from "../../shared/media/content-credentials";
import { createCustodyCa, issueSignerCertificate } from "../../shared/media/content-credentials-chain";
import { loadContentCredentialsLibrary } from "../../shared/media/content-credentials-library";
import { TestEvidenceSigner, testContentCredentials, type TestContentCredentials } from "../support/test-signer";

let bin: Record<"ffmpeg" | "ffprobe", MediaBinary>;
let work: string;
let thumbnail: Buffer;
let sprite: Buffer;
let cc: TestContentCredentials;

const ORIGINAL_SHA256 = createHash("sha256").update("the original recording").digest("hex");
const input = (title: string, kind: "thumbnail" | "sprite" = "thumbnail"): SignJpegInput => ({
  title,
  original: { name: "2026/12/05/officer-17/clip.mp4", sha256: ORIGINAL_SHA256, size: 1234, versionId: "2026-12-05T19:00:00.0000000Z", etag: "0x8DD", contentType: "video/mp4" },
  action: {
    kind,
    description: kind === "sprite" ? "sprite sheet: 2×2 thumbnails of 160×90" : "thumbnail: the frame at 1.5 s, 320×180",
    tool: { name: "ffmpeg", version: "7.1-test" },
    runs: [["-i", "https://account.blob.core.windows.net/originals/clip.mp4?[redacted]", "-frames:v", "1", "thumb-01.jpg"]],
    parameters: kind === "sprite" ? {} : { timeInSeconds: 1.5 },
  },
});

beforeAll(async () => {
  bin = await locateMediaBinaries();
  work = mkdtempSync(path.join(os.tmpdir(), "custody-content-credentials-"));
  const make = (name: string, args: string[]) => {
    const out = path.join(work, name);
    execFileSync(bin.ffmpeg.path, ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=1", ...args, out]);
    return readFileSync(out);
  };
  thumbnail = make("thumb-01.jpg", ["-frames:v", "1"]);
  sprite = make("sprite.jpg", ["-vf", "fps=4,scale=160:90,tile=2x2", "-frames:v", "1"]);
  cc = await testContentCredentials();
}, 30_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Width and height ffprobe reads, and whether ffmpeg decodes the image without error. */
function decoded(bytes: Uint8Array, name: string): { width: number; height: number } {
  const file = path.join(work, `decoded-${name}`);
  writeFileSync(file, bytes);
  execFileSync(bin.ffmpeg.path, ["-v", "error", "-xerror", "-i", file, "-f", "null", "-"]);
  const [stream] = (JSON.parse(execFileSync(bin.ffprobe.path, ["-v", "error", "-show_streams", "-of", "json", file], { encoding: "utf8" })) as { streams: Array<{ width: number; height: number }> })
    .streams;
  return { width: stream.width, height: stream.height };
}

test("ffmpeg's thumbnail and sprite sheet, signed: valid under the CA, naming the original by SHA-256 and ffmpeg as the tool, still the same pictures", async () => {
  for (const [name, jpeg, kind] of [
    ["thumb-01.jpg", thumbnail, "thumbnail"],
    ["sprite.jpg", sprite, "sprite"],
  ] as const) {
    const before = cc.signer.signatures;
    const signed = await cc.contentCredentials.signJpeg(jpeg, input(name, kind));
    expect(cc.signer.signatures).toBe(before + 1);
    expect(decoded(signed, name)).toEqual(decoded(jpeg, `unsigned-${name}`));

    const verification = await verifyContentCredentials(signed, { trustAnchorPems: [cc.ca.certificatePem], expectedOriginalSha256: ORIGINAL_SHA256 });
    expect(verification.failures).toEqual([]);
    expect(verification.valid).toBe(true);
    expect(verification.ingredient).toEqual({ sha256: ORIGINAL_SHA256, name: "2026/12/05/officer-17/clip.mp4", versionId: "2026-12-05T19:00:00.0000000Z", format: "video/mp4" });
    expect(verification.actions).toEqual([
      { action: "c2pa.opened", description: "the original recording" },
      { action: "c2pa.edited", softwareAgent: "ffmpeg 7.1-test", description: input(name, kind).action.description, runs: input(name, kind).action.runs },
    ]);
    expect(verification.claimGenerator).toBe("Custody/test");
    expect(verification.signer).toMatchObject({ subject: expect.stringContaining(cc.signer.keyId) as string, issuer: "CN=Custody test CA, O=Custody" });
    expect(verification.signer!.certificatePem).toBe(cc.leafPem);
  }
});

test("one byte of the signed image changed → assertion.dataHash.mismatch (the binding)", async () => {
  const signed = Buffer.from(await cc.contentCredentials.signJpeg(thumbnail, input("thumb-01.jpg")));
  // The last bytes before the end-of-image marker are entropy-coded picture data, outside the manifest.
  signed[signed.length - 10] ^= 0x01;
  const verification = await verifyContentCredentials(signed, { trustAnchorPems: [cc.ca.certificatePem], expectedOriginalSha256: ORIGINAL_SHA256 });
  expect(verification.valid).toBe(false);
  expect(verification.failures).toEqual([expect.objectContaining({ check: "binding", code: "assertion.dataHash.mismatch" })]);
});

test("an image made from another original → the ingredient is reported as a different one", async () => {
  const signed = await cc.contentCredentials.signJpeg(thumbnail, input("thumb-01.jpg"));
  const other = createHash("sha256").update("another recording").digest("hex");
  const verification = await verifyContentCredentials(signed, { trustAnchorPems: [cc.ca.certificatePem], expectedOriginalSha256: other });
  expect(verification.valid).toBe(false);
  expect(verification.failures).toEqual([expect.objectContaining({ check: "ingredient", code: "custody.ingredient.mismatch" })]);
  expect(verification.failures[0].explanation).toContain(ORIGINAL_SHA256);
  expect(verification.ingredient?.sha256).toBe(ORIGINAL_SHA256);
});

test("signed under an unknown CA — even one with the same name as the trusted one — → signingCredential.untrusted", async () => {
  // Someone else's key and CA, with the trusted CA's subject: the library alone calls it trusted.
  const rogue = await testContentCredentials();
  const signed = await rogue.contentCredentials.signJpeg(thumbnail, input("thumb-01.jpg"));
  const verification = await verifyContentCredentials(signed, { trustAnchorPems: [cc.ca.certificatePem], expectedOriginalSha256: ORIGINAL_SHA256 });
  expect(verification.valid).toBe(false);
  expect(verification.failures).toEqual([expect.objectContaining({ check: "trust", code: "signingCredential.untrusted" })]);
  expect(verification.signer?.issuer).toBe("CN=Custody test CA, O=Custody");

  const noAnchors = await verifyContentCredentials(await cc.contentCredentials.signJpeg(thumbnail, input("thumb-01.jpg")), { trustAnchorPems: [] });
  expect(noAnchors.failures.map((f) => f.code)).toEqual(["signingCredential.untrusted"]);
});

test("a chain whose certificate certifies another key than the signer's → refused before anything is signed", async () => {
  const signer = new TestEvidenceSigner();
  const otherKey = new TestEvidenceSigner();
  const ca = await createCustodyCa();
  const wrongLeaf = await issueSignerCertificate(ca, await otherKey.publicKey());
  const refused = await createContentCredentials(signer, { certificatePem: wrongLeaf, chainPems: [ca.certificatePem] }).catch((error: unknown) => error);
  expect(isCustodyError(refused) && refused.code).toBe("InvalidConfiguration");
  expect((refused as Error).message).toContain(signer.keyId);
  expect(signer.signatures).toBe(0);

  // A key rotated after the chain was checked: refused at the next image, nothing signed with the new key.
  let current: TestEvidenceSigner = signer;
  const rotating: ClaimSigner = {
    algorithm: "ES256",
    get keyId() {
      return current.keyId;
    },
    sign: (data) => current.sign(data),
    publicKey: () => current.publicKey(),
  };
  const credentials = await createContentCredentials(rotating, { certificatePem: await issueSignerCertificate(ca, await signer.publicKey()), chainPems: [ca.certificatePem] });
  await credentials.signJpeg(thumbnail, input("thumb-01.jpg"));
  current = otherKey;
  const afterRotation = await credentials.signJpeg(thumbnail, input("thumb-01.jpg")).catch((error: unknown) => error);
  expect(isCustodyError(afterRotation) && afterRotation.code).toBe("InvalidConfiguration");
  expect(otherKey.signatures).toBe(0);
});

test("the claim carries the signer's ES256 signature as COSE wants it: r ‖ s, 64 bytes, exactly as the port returned it", async () => {
  const signer = new TestEvidenceSigner();
  const returned: Uint8Array[] = [];
  const recording: ClaimSigner = {
    algorithm: "ES256",
    keyId: signer.keyId,
    publicKey: () => signer.publicKey(),
    sign: async (data) => {
      returned.push(await signer.sign(data));
      return returned.at(-1)!;
    },
  };
  const credentials = await createContentCredentials(recording, { certificatePem: await issueSignerCertificate(cc.ca, await signer.publicKey()), chainPems: [cc.ca.certificatePem] });
  const signed = await credentials.signJpeg(thumbnail, input("thumb-01.jpg"));
  const lib = await loadContentCredentialsLibrary();
  const store = lib.manifest.ManifestStore.read(lib.jumbf.SuperBox.fromBuffer(new lib.asset.JPEG(signed).getManifestJUMBF() as Uint8Array<ArrayBuffer>));
  const embedded = store.getActiveManifest()!.signature!.signatureData.signature!;
  expect(returned).toHaveLength(1);
  expect(embedded.length).toBe(64);
  expect(Buffer.from(embedded).equals(Buffer.from(returned[0]))).toBe(true);
  expect((await verifyContentCredentials(signed, { trustAnchorPems: [cc.ca.certificatePem] })).valid).toBe(true);
});

test("a JPEG without Content Credentials → custody.manifest.absent", async () => {
  const verification = await verifyContentCredentials(thumbnail, { trustAnchorPems: [cc.ca.certificatePem] });
  expect(verification).toEqual({ valid: false, failures: [expect.objectContaining({ check: "manifest", code: "custody.manifest.absent" })] });
});
