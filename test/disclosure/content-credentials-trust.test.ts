/**
 * Whether a package's JPEG renditions were signed under the deployment's Content Credentials CA
 * (shared/disclosure/verify-package.ts): checked against the CA certificate the package carries
 * (and said to prove origin only when that certificate is obtained separately), or against the
 * ones given (`--trust`). An image signed under a rogue CA with the same name, a package CA
 * replaced by a rogue one, or another CA given — each fails `signingCredential.untrusted`,
 * naming the anchor; a package CA file that is no certificate is a finding.
 */
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { LocalKeySigner } from "../../shared/adapters/local-key-signer";
import { SUMS_FILE } from "../../shared/disclosure/layout";
import { describePackageVerification } from "../../shared/disclosure/report";
import { formatSums, parseSums } from "../../shared/disclosure/sha256sums";
import { verifyDisclosurePackage, type PackageCheck, type PackageVerification } from "../../shared/disclosure/verify-package";
import { writeDisclosurePackage } from "../../shared/disclosure/write-package";
import { createCustodyCa, type CustodyCa } from "../../shared/media/content-credentials-chain";
import { parseTrustAnchor } from "../../shared/provenance/trust-anchors";
import { testContentCredentials, type TestContentCredentials } from "../support/test-signer";
import { EVIDENCE_A, makeJpeg, makeRecording, sourceFor } from "./package-fixture";

const THUMBNAIL = "renditions/thumbnail/thumb-01.jpg";
const CA_SUBJECT = "CN=Custody test CA, O=Custody";

let work: string;
let cc: TestContentCredentials;
let rogue: TestContentCredentials;
let otherCa: CustodyCa;
let caFile: string;
/** Signed under the deployment's CA, which the package carries. */
let genuine: string;
/** Signed under a rogue CA with the same name; the package carries the deployment's CA. */
let rogueSigned: string;
/** No image with Content Credentials; the package carries the deployment's CA. */
let unsigned: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "custody-cc-trust-"));
  const signer = await LocalKeySigner.open({ directory: path.join(work, "keys") });
  cc = await testContentCredentials();
  // Someone else's key and CA, with the deployment CA's subject.
  rogue = await testContentCredentials();
  otherCa = await createCustodyCa({ subject: "CN=Another force CA, O=Elsewhere" });
  caFile = `keys/content-credentials-ca-${parseTrustAnchor(cc.ca.certificatePem, "the test CA").id}.pem`;
  const poster = await makeJpeg(work, "poster.jpg");
  genuine = path.join(work, "genuine");
  await writeDisclosurePackage(genuine, await sourceFor(await makeRecording({ evidenceId: EVIDENCE_A, signer, poster, contentCredentials: cc }), signer, [cc.ca.certificatePem]));
  rogueSigned = path.join(work, "rogue");
  await writeDisclosurePackage(rogueSigned, await sourceFor(await makeRecording({ evidenceId: EVIDENCE_A, signer, poster, contentCredentials: rogue }), signer, [cc.ca.certificatePem]));
  unsigned = path.join(work, "unsigned");
  await writeDisclosurePackage(unsigned, await sourceFor(await makeRecording({ evidenceId: EVIDENCE_A, signer, poster }), signer, [cc.ca.certificatePem]));
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

const checks = (result: PackageVerification): PackageCheck[] => result.recordings[0].checks;
const failures = (result: PackageVerification): PackageCheck[] => checks(result).filter((c) => c.status === "fail");
const check = (result: PackageVerification, code: string): PackageCheck | undefined => checks(result).find((c) => c.code === code);

let copies = 0;
/** A copy of `root` changed by `mutate` (given the recording's folder), SHA256SUMS rewritten to match: what a careful forger does. */
async function tampered(root: string, mutate: (folder: string) => Promise<void>): Promise<string> {
  const copy = path.join(work, `copy-${++copies}`);
  await cp(root, copy, { recursive: true });
  const folder = path.join(copy, EVIDENCE_A);
  await mutate(folder);
  const { entries } = parseSums(await readFile(path.join(folder, SUMS_FILE), "utf8"));
  const fresh = await Promise.all(
    entries.map(async (e) => ({
      path: e.path,
      sha256: createHash("sha256")
        .update(await readFile(path.join(folder, e.path)))
        .digest("hex"),
    })),
  );
  await writeFile(path.join(folder, SUMS_FILE), formatSums(fresh));
  return copy;
}

test("with the CA certificate the package carries: the image chains to it, and the report says that proves origin only if the CA is obtained separately", async () => {
  const result = await verifyDisclosurePackage(genuine);
  expect(failures(result)).toEqual([]);
  expect(result).toMatchObject({ verified: true, trust: "package" });
  expect(check(result, "ContentCredentialsValid")).toMatchObject({ status: "ok", file: THUMBNAIL });
  expect(check(result, "ContentCredentialsValid")?.message).toContain(`its certificate chains to ${CA_SUBJECT} (${caFile})`);
  expect(check(result, "PackageTrustAnchor")).toMatchObject({ status: "note", file: caFile });
  expect(check(result, "PackageTrustAnchor")?.message).toMatch(/NOT that it is the deployment's CA.*--trust FILE/);
  const report = describePackageVerification(result);
  expect(report).toMatch(/Content Credentials: checked against each recording's own keys\/content-credentials-ca\*\.pem.*NOT that it is the deployment's CA/);
  expect(report).toMatch(/RESULT: VERIFIED/);
});

test("a package that carries the CA but no image with Content Credentials: nothing was checked against it, so the report says nothing about it", async () => {
  const result = await verifyDisclosurePackage(unsigned);
  expect(result.verified).toBe(true);
  expect(check(result, "NoContentCredentials")).toMatchObject({ status: "note" });
  expect(check(result, "PackageTrustAnchor")).toBeUndefined();
});

test("an image signed under a rogue CA with the deployment CA's name fails untrusted, naming the package's CA", async () => {
  const result = await verifyDisclosurePackage(rogueSigned);
  expect(result.verified).toBe(false);
  expect(failures(result).map((c) => [c.code, c.file])).toEqual([["signingCredential.untrusted", THUMBNAIL]]);
  expect(failures(result)[0].message).toContain(`does not chain to ${CA_SUBJECT} (${caFile}, SHA-256 ${parseTrustAnchor(cc.ca.certificatePem, "").sha256})`);
  expect(failures(result)[0].message).toContain(`issued by ${CA_SUBJECT}`);
  // Its signature, binding and ingredient are fine: what trust proves depends on the anchor alone.
  expect((await verifyDisclosurePackage(rogueSigned, { trustAnchorPems: [rogue.ca.certificatePem], trustFile: "rogue-ca.pem" })).verified).toBe(true);
});

test("a package whose CA was replaced by the rogue one (SHA256SUMS rewritten): the deployment's images no longer chain to it", async () => {
  const copy = await tampered(genuine, (folder) => writeFile(path.join(folder, caFile), rogue.ca.certificatePem));
  const result = await verifyDisclosurePackage(copy);
  expect(failures(result).map((c) => c.code)).toEqual(["signingCredential.untrusted"]);
});

test("--trust another force's CA: untrusted, naming the file given; --trust a bundle holding the deployment's CA: valid, naming it", async () => {
  const other = await verifyDisclosurePackage(genuine, { trustAnchorPems: [otherCa.certificatePem], trustFile: "other-ca.pem" });
  expect(other).toMatchObject({ verified: false, trust: "given", trustFile: "other-ca.pem", trustAnchors: [{ subject: "CN=Another force CA, O=Elsewhere" }] });
  expect(failures(other).map((c) => c.code)).toEqual(["signingCredential.untrusted"]);
  expect(failures(other)[0].message).toContain("does not chain to CN=Another force CA, O=Elsewhere (--trust other-ca.pem");
  // The package's own CA is not used when one is given, and the report says whose were.
  expect(check(other, "PackageTrustAnchor")).toBeUndefined();
  expect(describePackageVerification(other)).toMatch(/Content Credentials: checked against the CA certificate\(s\) given \(other-ca\.pem\): CN=Another force CA, O=Elsewhere/);

  const bundle = await verifyDisclosurePackage(genuine, { trustAnchorPems: [`${otherCa.certificatePem}${cc.ca.certificatePem}`], trustFile: "bundle.pem" });
  expect(failures(bundle)).toEqual([]);
  expect(check(bundle, "ContentCredentialsValid")?.message).toContain(`chains to ${CA_SUBJECT} (--trust bundle.pem)`);

  await expect(verifyDisclosurePackage(genuine, { trustAnchorPems: ["not a certificate"], trustFile: "notes.txt" })).rejects.toMatchObject({
    code: "InvalidConfiguration",
    message: expect.stringMatching(/notes\.txt holds no PEM certificate/) as string,
  });
});

test("a package CA file that is no certificate is a finding; the images' trust is then not checked", async () => {
  const copy = await tampered(genuine, (folder) => writeFile(path.join(folder, caFile), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  const result = await verifyDisclosurePackage(copy);
  expect(failures(result).map((c) => [c.code, c.file])).toEqual([["MalformedTrustAnchor", caFile]]);
  expect(check(result, "ContentCredentialsValid")?.message).toMatch(/certificate trust not checked/);
});
