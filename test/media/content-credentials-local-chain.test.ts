/**
 * The local stack's Content Credentials chain in the data folder
 * (shared/adapters/local-content-credentials.ts): a CA made on first start with its key readable
 * by the owner only, kept across starts; a leaf per signing key, issued again when it no longer
 * certifies the key; images signed under it verify with the CA file as the trust anchor.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CA_CERTIFICATE_FILE, createLocalContentCredentials, localSigningChain } from "../../shared/adapters/local-content-credentials";
import { verifyContentCredentials } from "../../shared/media/content-credentials";
import { certifiesKey } from "../../shared/media/content-credentials-chain";
import { LocalKeySigner } from "../../shared/adapters/local-key-signer";
import { TestEvidenceSigner } from "../support/test-signer";

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "custody-local-chain-"));
});

afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

test("first start makes the CA (key 0600) and a leaf for the signer's key; the next start keeps both", async () => {
  const signer = new TestEvidenceSigner();
  const first = await localSigningChain(dataDir, signer);
  expect(statSync(path.join(first.folder, "custody-ca.key.pem")).mode & 0o777).toBe(0o600);
  expect(readFileSync(path.join(first.folder, CA_CERTIFICATE_FILE), "utf8")).toBe(first.caCertificatePem);
  expect(first.chainPems).toEqual([first.caCertificatePem]);
  expect(await certifiesKey(first.certificatePem, await signer.publicKey())).toBe(true);

  const again = await localSigningChain(dataDir, signer);
  expect(again).toEqual(first);
});

test("a new signing key gets its own leaf from the same CA; a leaf file that certifies another key is issued again", async () => {
  const first = await localSigningChain(dataDir, new TestEvidenceSigner());
  const rotated = new TestEvidenceSigner();
  const second = await localSigningChain(dataDir, rotated);
  expect(second.caCertificatePem).toBe(first.caCertificatePem);
  expect(second.certificatePem).not.toBe(first.certificatePem);
  expect(await certifiesKey(second.certificatePem, await rotated.publicKey())).toBe(true);

  // The rotated key's leaf file replaced by the first key's certificate: not trusted as it is.
  writeFileSync(path.join(second.folder, `signer-${rotated.keyId}.pem`), first.certificatePem);
  const repaired = await localSigningChain(dataDir, rotated);
  expect(await certifiesKey(repaired.certificatePem, await rotated.publicKey())).toBe(true);
});

test("two hosts starting together share one CA", async () => {
  const [a, b] = await Promise.all([localSigningChain(dataDir, new TestEvidenceSigner()), localSigningChain(dataDir, new TestEvidenceSigner())]);
  expect(a.caCertificatePem).toBe(b.caCertificatePem);
});

/** A 16×16 grey JPEG made by ffmpeg (a unit test starts no process). */
const TINY_JPEG = Buffer.from(
  "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU4LjQyLjEwMAD/2wBDAAgUFBcUFxsbGxsbGyAeICEhISAgICAhISEkJCQqKiokJCQhISQkKCgqKi4vLisrKisvLzIyMjw8OTlGRkhWVmf/xABKAAEAAAAAAAAAAAAAAAAAAAAAAQEAAAAAAAAAAAAAAAAAAAAAEAEAAAAAAAAAAAAAAAAAAAAAEQEAAAAAAAAAAAAAAAAAAAAA/8AAEQgAEAAQAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8AAA//2Q==",
  "base64",
);

test("Content Credentials built from the data folder sign under that CA: valid with its certificate file as the trust anchor", async () => {
  const signer = new TestEvidenceSigner();
  const credentials = await createLocalContentCredentials(dataDir, signer);
  expect(credentials.keyId).toBe(signer.keyId);
  const signed = await credentials.signJpeg(TINY_JPEG, {
    title: "poster.jpg",
    original: { name: "clip.mp4", sha256: "0".repeat(64), size: 1 },
    action: { kind: "poster", description: "poster: the frame at 0 s", tool: { name: "ffmpeg", version: "test" }, runs: [] },
  });
  const anchor = readFileSync(path.join(dataDir, "content-credentials", CA_CERTIFICATE_FILE), "utf8");
  expect(await verifyContentCredentials(signed, { trustAnchorPems: [anchor], expectedOriginalSha256: "0".repeat(64) })).toMatchObject({ valid: true, failures: [] });
});

test("with the local stack's own signer (the key file in the data folder): images verify under the local CA", async () => {
  const signer = await LocalKeySigner.open({ directory: path.join(dataDir, "signing") });
  const credentials = await createLocalContentCredentials(dataDir, signer);
  const signed = await credentials.signJpeg(TINY_JPEG, {
    title: "thumb-01.jpg",
    original: { name: "clip.mp4", sha256: "1".repeat(64), size: 1 },
    action: { kind: "thumbnail", description: "thumbnail: the frame at 0 s", tool: { name: "ffmpeg", version: "test" }, runs: [] },
  });
  const anchor = readFileSync(path.join(dataDir, "content-credentials", CA_CERTIFICATE_FILE), "utf8");
  const verification = await verifyContentCredentials(signed, { trustAnchorPems: [anchor], expectedOriginalSha256: "1".repeat(64) });
  expect(verification).toMatchObject({ valid: true, failures: [] });
  expect(verification.signer?.subject).toContain(signer.keyId);
});
