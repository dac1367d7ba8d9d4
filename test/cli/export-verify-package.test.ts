/**
 * `custody verify --package` as a user runs it (the compiled CLI, as a process) on a machine
 * with no stack: a clean package exits 0 with a readable report (and --json), a tampered one
 * exits 1 naming each finding, with the deployment's keys (--keys) an unknown key exits 1, and
 * a folder or key file that cannot be read exits 2. `custody export` with nothing to talk to
 * exits 2 and says so. Content Credentials: checked against the package's CA certificate, or
 * the one given with --trust (another CA: exit 1, untrusted); a --trust file that cannot be read
 * or holds no certificate exits 2.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { LocalKeySigner } from "../../shared/adapters/local-key-signer";
import type { PackageVerification } from "../../shared/disclosure/verify-package";
import { writeDisclosurePackage } from "../../shared/disclosure/write-package";
import { createCustodyCa } from "../../shared/media/content-credentials-chain";
import { buildJwks } from "../../shared/provenance/jwks";
import { EVIDENCE_A, EVIDENCE_B, makeJpeg, makeRecording, SEGMENT, sourceFor } from "../disclosure/package-fixture";
import { testContentCredentials } from "../support/test-signer";
import { runCli } from "./run-cli";

let work: string;
let clean: string;
let publishedFile: string;
let otherFile: string;
/** A package whose thumbnail carries Content Credentials under the CA it carries. */
let signedPackage: string;
let otherCaFile: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "custody-verify-package-"));
  const signer = await LocalKeySigner.open({ directory: path.join(work, "keys") });
  const other = await LocalKeySigner.open({ directory: path.join(work, "other-keys") });
  clean = path.join(work, "package");
  for (const evidenceId of [EVIDENCE_A, EVIDENCE_B]) {
    await writeDisclosurePackage(clean, await sourceFor(await makeRecording({ evidenceId, signer, poster: await makeJpeg(work, `${evidenceId}.jpg`) }), signer));
  }
  publishedFile = path.join(work, "jwks.json");
  await writeFile(publishedFile, JSON.stringify(buildJwks(await signer.publishedKeys())));
  otherFile = path.join(work, "other-jwks.json");
  await writeFile(otherFile, JSON.stringify(buildJwks(await other.publishedKeys())));
  const cc = await testContentCredentials();
  signedPackage = path.join(work, "signed");
  const recording = await makeRecording({ evidenceId: EVIDENCE_A, signer, poster: await makeJpeg(work, "signed.jpg"), contentCredentials: cc });
  await writeDisclosurePackage(signedPackage, await sourceFor(recording, signer, [cc.ca.certificatePem]));
  otherCaFile = path.join(work, "other-ca.pem");
  await writeFile(otherCaFile, (await createCustodyCa({ subject: "CN=Another force CA, O=Elsewhere" })).certificatePem);
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

// No stack anywhere: a data folder that holds none, and no connection settings in the environment.
const offline = ["--data-dir", path.join(os.tmpdir(), "custody-no-stack-here")];

test("a clean package verifies offline: exit 0, a report a reader can follow, and the same as JSON", async () => {
  const text = await runCli(["verify", "--package", clean, ...offline]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(new RegExp(`Recording ${EVIDENCE_A}: VERIFIED`));
  expect(text.stdout).toMatch(/OK +manifest\/manifest\.json is signed \(ES256/);
  expect(text.stdout).toMatch(/NOT who signed/);
  expect(text.stdout).toMatch(/RESULT: VERIFIED — 2 recording\(s\)/);

  const json = await runCli(["verify", "--package", clean, "--keys", publishedFile, "--json", ...offline]);
  expect(json.code).toBe(0);
  const result = JSON.parse(json.stdout) as PackageVerification;
  expect(result).toMatchObject({
    verified: true,
    keys: "published",
    recordings: [
      { evidenceId: EVIDENCE_A, verified: true },
      { evidenceId: EVIDENCE_B, verified: true },
    ],
  });
});

test("a tampered package exits 1 naming the changed segment; an unknown key exits 1", async () => {
  const copy = path.join(work, "tampered");
  await cp(clean, copy, { recursive: true });
  const original = path.join(copy, EVIDENCE_B, "original/2026-11-26T09-00-00Z.mp4");
  const bytes = await readFile(original);
  bytes[2 * SEGMENT + 7] ^= 0xff;
  await writeFile(original, bytes);
  const tampered = await runCli(["verify", "--package", copy, ...offline]);
  expect(tampered.code).toBe(1);
  expect(tampered.stdout).toMatch(new RegExp(`Recording ${EVIDENCE_B}: NOT VERIFIED — 2 finding\\(s\\)`));
  expect(tampered.stdout).toMatch(/FAILED original\/2026-11-26T09-00-00Z\.mp4 is NOT the original the manifest names.*segment 2 \(bytes 8192–9191\)/);
  expect(tampered.stdout).toMatch(new RegExp(`Recording ${EVIDENCE_A}: VERIFIED`));
  expect(tampered.stdout).toMatch(/RESULT: NOT VERIFIED — 1 of 2/);

  const unknown = await runCli(["verify", "--package", clean, "--keys", otherFile, ...offline]);
  expect(unknown.code).toBe(1);
  expect(unknown.stdout).toMatch(/No published key has the id/);
});

test("what cannot be read is a usage error (exit 2), and export with no stack says there is none", async () => {
  const missing = await runCli(["verify", "--package", path.join(work, "nope"), ...offline]);
  expect(missing).toMatchObject({ code: 2, stdout: "" });
  expect(missing.stderr).toMatch(/--package .*nope: no such folder/);
  expect((await runCli(["verify", "--package", work, ...offline])).stderr).toMatch(/no recording in it/);
  const badKeys = await runCli(["verify", "--package", clean, "--keys", path.join(work, "missing.json"), ...offline]);
  expect(badKeys.code).toBe(2);
  expect(badKeys.stderr).toMatch(/--keys .*missing\.json: not readable as JSON/);
  expect((await runCli(["verify", EVIDENCE_A, "--package", clean, ...offline])).code).toBe(2);
  expect((await runCli(["verify", "--keys", publishedFile, EVIDENCE_A, ...offline])).stderr).toMatch(/--keys is for checking a disclosure package/);

  const exported = await runCli(["export", EVIDENCE_A, "--out", path.join(work, "out"), ...offline]);
  expect(exported.code).toBe(2);
  expect(exported.stderr).toMatch(/No Custody to talk to/);
  expect((await runCli(["export", "not-an-id", "--out", path.join(work, "out"), ...offline])).stderr).toMatch(/not an evidence id: not-an-id/);
  expect((await runCli(["export", EVIDENCE_A, ...offline])).code).toBe(2);
  // Nine CLI processes, one after another: each start takes seconds on a loaded two-core machine.
}, 120_000);

test("Content Credentials: the package's CA (exit 0, said to prove origin only if obtained separately); --trust another CA exits 1; a --trust file that cannot be read or is no certificate exits 2", async () => {
  const own = await runCli(["verify", "--package", signedPackage, ...offline]);
  expect(own.code).toBe(0);
  expect(own.stdout).toMatch(/OK +renditions\/thumbnail\/thumb-01\.jpg: Content Credentials valid.*chains to CN=Custody test CA, O=Custody \(keys\/content-credentials-ca-[0-9a-f]{16}\.pem\)/);
  expect(own.stdout).toMatch(/NOTE +Content Credentials checked against the CA certificate in this package .*NOT that it is the deployment's CA/);

  const other = await runCli(["verify", "--package", signedPackage, "--trust", otherCaFile, ...offline]);
  expect(other.code).toBe(1);
  expect(other.stdout).toMatch(/Content Credentials: checked against the CA certificate\(s\) given \(.*other-ca\.pem\): CN=Another force CA, O=Elsewhere/);
  expect(other.stdout).toMatch(/FAILED renditions\/thumbnail\/thumb-01\.jpg: its Content Credentials fail \(trust\).*does not chain to CN=Another force CA, O=Elsewhere \(--trust .*other-ca\.pem/);

  const missing = await runCli(["verify", "--package", signedPackage, "--trust", path.join(work, "missing-ca.pem"), ...offline]);
  expect(missing).toMatchObject({ code: 2, stdout: "" });
  expect(missing.stderr).toMatch(/--trust .*missing-ca\.pem: not readable/);
  const notCertificate = await runCli(["verify", "--package", signedPackage, "--trust", publishedFile, ...offline]);
  expect(notCertificate).toMatchObject({ code: 2, stdout: "" });
  expect(notCertificate.stderr).toMatch(/--trust .*jwks\.json holds no PEM certificate/);
  expect((await runCli(["verify", "--trust", otherCaFile, EVIDENCE_A, ...offline])).stderr).toMatch(/--trust is for checking a disclosure package/);
  // Five CLI processes, one after another, on a loaded machine.
}, 120_000);
