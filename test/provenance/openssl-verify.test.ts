/**
 * The disclosure package's promise: a manifest's signature checks with nothing but openssl and
 * the published key as PEM — `openssl dgst -sha256 -verify key.pem -signature manifest.sig
 * manifest.json`, the command the VERIFY guide gives.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { LocalKeySigner } from "../../shared/adapters/local-key-signer";
import { buildJwks, publicKeyPem } from "../../shared/provenance/jwks";
import { buildEvidenceManifest } from "../../shared/provenance/manifest";
import { signEvidenceManifest } from "../../shared/provenance/manifest-signature";
import { LOG_HEAD, readyRecord } from "./ready-record";

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), "custody-openssl-"));
});
afterAll(() => rm(directory, { recursive: true, force: true }));

function openssl(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("openssl", args, { cwd: directory }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }));
  });
}

test("openssl verifies manifest.sig over manifest.json with the exported PEM, and refuses a changed byte or another key", async () => {
  const signer = await LocalKeySigner.open({ directory: path.join(directory, "keys") });
  const otherSigner = await LocalKeySigner.open({ directory: path.join(directory, "other-keys") });
  const signed = await signEvidenceManifest(buildEvidenceManifest(readyRecord(), { custodyLog: LOG_HEAD, issuedAt: new Date().toISOString(), keyId: signer.keyId }), signer);
  const [published] = buildJwks(await signer.publishedKeys()).keys;
  if (published === undefined) throw new Error("no published key");
  await writeFile(path.join(directory, "manifest.json"), signed.manifestJson);
  await writeFile(path.join(directory, "manifest.sig"), signed.signature);
  await writeFile(path.join(directory, "key.pem"), publicKeyPem(published));
  await writeFile(path.join(directory, "other.pem"), publicKeyPem(await otherSigner.publicKey()));

  expect(await openssl(["dgst", "-sha256", "-verify", "key.pem", "-signature", "manifest.sig", "manifest.json"])).toEqual({ code: 0, output: "Verified OK\n" });

  const tampered = Buffer.from(signed.manifestJson);
  tampered[tampered.length - 3] ^= 0x01;
  await writeFile(path.join(directory, "tampered.json"), tampered);
  const refused = await openssl(["dgst", "-sha256", "-verify", "key.pem", "-signature", "manifest.sig", "tampered.json"]);
  expect(refused.code).toBe(1);
  expect(refused.output).toMatch(/^Verification failure/);
  expect((await openssl(["dgst", "-sha256", "-verify", "other.pem", "-signature", "manifest.sig", "manifest.json"])).output).toMatch(/^Verification failure/);
  // The PEM is what openssl reads as a P-256 public key.
  expect((await openssl(["pkey", "-pubin", "-in", "key.pem", "-noout", "-text"])).output).toMatch(/NIST CURVE: P-256/);
});
