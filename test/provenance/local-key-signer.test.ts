/**
 * The local signer's key: generated once in the data folder, reused after a restart, private
 * key file 0600 in a 0700 folder, one key even when processes start together, and never shown.
 */
import { createHash, createPrivateKey, verify as verifySignature, createPublicKey } from "node:crypto";
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile, copyFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { inspect } from "node:util";
import { KEYRING_FILE, LocalKeySigner, rotateLocalSigningKey } from "../../shared/adapters/local-key-signer";

let directory: string;
beforeEach(async () => {
  directory = path.join(await mkdtemp(path.join(os.tmpdir(), "custody-keys-")), "signing-keys");
});
afterEach(() => rm(path.dirname(directory), { recursive: true, force: true }));

const keyFiles = async (): Promise<string[]> => (await readdir(directory)).filter((name) => name.endsWith(".key.pem"));

test("the first start generates a key; a restart reuses it", async () => {
  const first = await LocalKeySigner.open({ directory });
  const data = Buffer.from("evidence");
  const signature = await first.sign(data);
  expect(signature).toHaveLength(64);

  const again = await LocalKeySigner.open({ directory });
  expect(again.keyId).toBe(first.keyId);
  expect(await again.publicKey()).toEqual(await first.publicKey());
  // What the first process signed verifies with the key the second publishes, and vice versa.
  const published = createPublicKey({ key: { ...(await again.publicKey()) }, format: "jwk" });
  expect(verifySignature("sha256", data, { key: published, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
  expect(verifySignature("sha256", data, { key: published, dsaEncoding: "ieee-p1363" }, await again.sign(data))).toBe(true);
  expect(await keyFiles()).toEqual([`${first.keyId}.key.pem`]);
});

test("the key id is the RFC 7638 thumbprint of the public key", async () => {
  const signer = await LocalKeySigner.open({ directory });
  const { x, y } = await signer.publicKey();
  // RFC 7638 §3.2: the required members, in lexicographic order, no whitespace.
  const expected = createHash("sha256").update(`{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`).digest("base64url");
  expect(signer.keyId).toBe(expected);
  expect(await signer.publicKey()).toEqual({ kty: "EC", crv: "P-256", x, y, kid: expected, alg: "ES256", use: "sig" });
});

test("the private key file is 0600 in a 0700 folder; the keyring holds no private material", async () => {
  const signer = await LocalKeySigner.open({ directory });
  expect((await stat(directory)).mode & 0o777).toBe(0o700);
  expect((await stat(path.join(directory, `${signer.keyId}.key.pem`))).mode & 0o777).toBe(0o600);
  const keyring = await readFile(path.join(directory, KEYRING_FILE), "utf8");
  const privateJwk = createPrivateKey(await readFile(path.join(directory, `${signer.keyId}.key.pem`), "utf8")).export({ format: "jwk" });
  expect(typeof privateJwk.d).toBe("string");
  expect(keyring).not.toContain(privateJwk.d);
  expect(keyring).not.toMatch(/PRIVATE|"d"/);
  // Printing or logging the signer shows its key id, never the key.
  for (const shown of [inspect(signer, { showHidden: true, depth: 5 }), JSON.stringify(signer), JSON.stringify(await signer.publishedKeys())]) {
    expect(shown).not.toContain(privateJwk.d);
  }
  expect(JSON.stringify(signer)).toBe(JSON.stringify({ algorithm: "ES256", keyId: signer.keyId }));
});

test("a key file others can read is refused, naming the fix", async () => {
  const signer = await LocalKeySigner.open({ directory });
  await chmod(path.join(directory, `${signer.keyId}.key.pem`), 0o644);
  await expect(LocalKeySigner.open({ directory })).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringMatching(/chmod 600/) as unknown });
});

test("a key file that does not hold the key the keyring names is refused", async () => {
  const first = await LocalKeySigner.open({ directory });
  const otherDirectory = `${directory}-other`;
  const other = await LocalKeySigner.open({ directory: otherDirectory });
  await copyFile(path.join(otherDirectory, `${other.keyId}.key.pem`), path.join(directory, `${first.keyId}.key.pem`));
  await rm(otherDirectory, { recursive: true });
  await expect(LocalKeySigner.open({ directory })).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringMatching(/does not hold key/) as unknown });
  await rm(path.join(directory, `${first.keyId}.key.pem`));
  await expect(LocalKeySigner.open({ directory })).rejects.toMatchObject({ code: "InvalidConfiguration", message: expect.stringMatching(/missing/) as unknown });
});

test("processes starting together agree on one key", async () => {
  const signers = await Promise.all(Array.from({ length: 6 }, () => LocalKeySigner.open({ directory })));
  expect(new Set(signers.map((s) => s.keyId)).size).toBe(1);
  expect(await keyFiles()).toHaveLength(1);
  expect((await readdir(directory)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
});

test("rotation retires the key: its private key is deleted, its public key stays published with its retirement", async () => {
  const first = await LocalKeySigner.open({ directory, now: () => new Date("2026-11-01T00:00:00Z") });
  const { retired, current } = await rotateLocalSigningKey({ directory, now: () => new Date("2026-12-01T00:00:00Z") });
  expect(retired).toBe(first.keyId);
  const second = await LocalKeySigner.open({ directory });
  expect(second.keyId).toBe(current);
  expect(await keyFiles()).toEqual([`${current}.key.pem`]);
  const published = await second.publishedKeys();
  expect(published.map((k) => ({ kid: k.kid, nbf: k.nbf, exp: k.exp }))).toEqual([
    { kid: current, nbf: Date.parse("2026-12-01T00:00:00Z") / 1000, exp: undefined },
    { kid: first.keyId, nbf: Date.parse("2026-11-01T00:00:00Z") / 1000, exp: Date.parse("2026-12-01T00:00:00Z") / 1000 },
  ]);
});

test("a keyring this version cannot read is refused, not replaced", async () => {
  await LocalKeySigner.open({ directory });
  await writeFile(path.join(directory, KEYRING_FILE), JSON.stringify({ version: 2, current: "x", keys: [] }));
  await expect(LocalKeySigner.open({ directory })).rejects.toMatchObject({ code: "InvalidConfiguration" });
});
