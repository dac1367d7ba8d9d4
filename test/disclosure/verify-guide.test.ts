/**
 * VERIFY.txt's promise: every command in it runs as written with sh, sha256sum, openssl and
 * POSIX tools on a real package, says OK / MATCH / Verified OK on a clean one, and MISMATCH /
 * FAILED / BROKEN where a byte was changed. The Content Credentials CA certificate the package
 * carries is shown (subject, SHA-256 fingerprint) for comparison with the force's; the images'
 * credentials themselves are left to a C2PA validator, and the guide says so.
 */
import { createHash, X509Certificate } from "node:crypto";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { LocalKeySigner } from "../../shared/adapters/local-key-signer";
import { CUSTODY_LOG, GUIDE_FILE } from "../../shared/disclosure/layout";
import { COMMAND_PREFIX, verifyGuide } from "../../shared/disclosure/verify-guide";
import { writeDisclosurePackage } from "../../shared/disclosure/write-package";
import { testContentCredentials, type TestContentCredentials } from "../support/test-signer";
import { EVIDENCE_A, makeJpeg, makeRecording, SEGMENT, sourceFor } from "./package-fixture";

let work: string;
let folder: string;
let commands: string[];
let guide: string;
let cc: TestContentCredentials;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "custody-guide-"));
  const signer = await LocalKeySigner.open({ directory: path.join(work, "keys") });
  cc = await testContentCredentials();
  const recording = await makeRecording({ evidenceId: EVIDENCE_A, signer, poster: await makeJpeg(work, "a.jpg"), contentCredentials: cc, reissue: true });
  folder = (await writeDisclosurePackage(path.join(work, "package"), await sourceFor(recording, signer, [cc.ca.certificatePem]))).folder;
  guide = await readFile(path.join(folder, GUIDE_FILE), "utf8");
  commands = guide
    .split("\n")
    .filter((line) => line.startsWith(COMMAND_PREFIX))
    .map((line) => line.slice(COMMAND_PREFIX.length));
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

function sh(command: string, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", command], { cwd }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }));
  });
}

const find = (needle: string): string => {
  const command = commands.find((c) => c.includes(needle));
  if (command === undefined) throw new Error(`VERIFY.txt has no command with ${needle}`);
  return command;
};

test("every command of VERIFY.txt runs and reports success on a clean package", async () => {
  expect(commands.length).toBeGreaterThanOrEqual(10);
  const outputs: string[] = [];
  for (const command of commands) {
    const { code, output } = await sh(command, folder);
    expect({ command, code }).toEqual({ command, code: 0 });
    outputs.push(output);
  }
  const all = outputs.join("");
  expect(all).not.toMatch(/MISMATCH|BROKEN|FAILED|Verification failure/);
  expect(await sh(find("sha256sum -c"), folder)).toMatchObject({ code: 0, output: expect.stringMatching(/original\/2026-11-26T09-00-00Z\.mp4: OK/) });
  expect((await sh(find("-signature manifest/manifest.sig"), folder)).output).toBe("Verified OK\n");
  expect((await sh(find("-signature manifest/issues/1/manifest.sig"), folder)).output).toBe("Verified OK\n");
  expect((await sh(find("dd if="), folder)).output).toBe("MATCH\n");
  expect((await sh(find('"custodyLog"'), folder)).output).toBe("MATCH\n");
  expect((await sh(find("while IFS= read"), folder)).output).toMatch(/^5 lines, last [0-9a-f]{64}\n$/);
  const renditions = commands.filter((c) => c.includes('echo "OK renditions/'));
  expect(renditions).toHaveLength(3);
  for (const command of renditions) expect((await sh(command, folder)).output).toMatch(/^OK renditions\//);
});

test("the Content Credentials CA certificate the package carries is shown by openssl, subject and SHA-256 fingerprint, to compare with the force's; the images are left to a C2PA validator", async () => {
  const ca = new X509Certificate(cc.ca.certificatePem);
  const fingerprint = createHash("sha256").update(ca.raw).digest("hex").toUpperCase().match(/../g)!.join(":");
  const { code, output } = await sh(find("openssl x509 -in keys/content-credentials-ca-"), folder);
  expect(code).toBe(0);
  expect(output).toMatch(/subject=.*CN *= *Custody test CA/);
  expect(output).toContain(`Fingerprint=${fingerprint}`);
  expect(guide).toMatch(/custody verify --package \. --trust/);
  expect(guide).toMatch(/C2PA validator/);

  // A package without a CA certificate says so, and has no command for one.
  const without = verifyGuide({
    evidenceId: EVIDENCE_A,
    keyId: "k",
    keyPemPath: "keys/k.pem",
    originalPath: "original/a.mp4",
    segmentSizeInBytes: SEGMENT,
    segmentCount: 1,
    renditions: [],
    earlierIssues: [],
    trustAnchorPaths: [],
  });
  expect(without).toMatch(/carries no Content Credentials CA certificate/);
  expect(without).not.toMatch(/openssl x509/);
});

test("the same commands say where a copy was changed: a byte of the original (its segment), of a rendition, of the manifest, and a custody log line", async () => {
  const copy = path.join(work, "tampered");
  await cp(folder, copy, { recursive: true });
  const flip = async (file: string, at: number): Promise<void> => {
    const bytes = await readFile(path.join(copy, file));
    bytes[at] ^= 0x01;
    await writeFile(path.join(copy, file), bytes);
  };
  await flip("original/2026-11-26T09-00-00Z.mp4", SEGMENT + 10);
  await flip("renditions/transcode/proxy.mp4", 5);
  const lines = (await readFile(path.join(copy, CUSTODY_LOG), "utf8")).split("\n");
  lines[1] = lines[1].replace("2026-11-26T09:31:00Z", "2026-11-26T09:39:00Z");
  await writeFile(path.join(copy, CUSTODY_LOG), lines.join("\n"));

  const sums = await sh(find("sha256sum -c"), copy);
  expect(sums.code).not.toBe(0);
  expect(sums.output).toMatch(/original\/2026-11-26T09-00-00Z\.mp4: FAILED/);
  expect(sums.output).toMatch(/renditions\/transcode\/proxy\.mp4: FAILED/);
  expect(sums.output).toMatch(/custody-log\.jsonl: FAILED/);
  expect((await sh(find("echo MATCH || echo MISMATCH"), copy)).output).toBe("MISMATCH\n");
  const segment = find("dd if=");
  expect((await sh(segment, copy)).output).toBe("MATCH\n"); // the last segment is untouched
  expect((await sh(segment.replace(/^N=\d+;/, "N=1;"), copy)).output).toBe("MISMATCH\n");
  expect((await sh(segment.replace(/^N=\d+;/, "N=0;"), copy)).output).toBe("MATCH\n");
  expect((await sh(find("OK renditions/transcode/proxy.mp4"), copy)).output).toBe("MISMATCH renditions/transcode/proxy.mp4\n");
  expect((await sh(find("while IFS= read"), copy)).output).toMatch(/^BROKEN at line 3\n5 lines/);
  // Line 4 (the manifest's head) is untouched: the edit before it shows as the broken link above.
  expect((await sh(find('"custodyLog"'), copy)).output).toBe("MATCH\n");
  lines[3] = lines[3].replace("2026-11-26T09:33:00Z", "2026-11-26T09:38:00Z");
  await writeFile(path.join(copy, CUSTODY_LOG), lines.join("\n"));
  expect((await sh(find('"custodyLog"'), copy)).output).toBe("MISMATCH\n");
  expect((await sh(find("while IFS= read"), copy)).output).toMatch(/^BROKEN at line 3\nBROKEN at line 5\n5 lines/);

  await flip("manifest/manifest.json", 40);
  const signature = await sh(find("-signature manifest/manifest.sig"), copy);
  expect(signature.code).toBe(1);
  expect(signature.output).toMatch(/^Verification failure/);
});
