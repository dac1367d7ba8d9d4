/**
 * The signer of the local stack (and of any deployment without Key Vault): an ES256 key
 * generated on first start in the data folder and reused after. What Key Vault does in Azure,
 * done with files:
 *
 *   <directory>/keyring.json    the public keys (JWK), when each was created and retired, and
 *                               which one signs now — public, so not secret
 *   <directory>/<kid>.key.pem   the private key of the current key (PKCS #8), mode 0600 in a
 *                               0700 folder; deleted when the key is retired
 *
 * The key id is the key's RFC 7638 thumbprint. Retiring a key (rotateLocalSigningKey) keeps
 * its public half in the keyring with its retirement time, so what it signed still verifies.
 * The private key never leaves this module: no method returns it and nothing logs it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as signData, type KeyObject } from "node:crypto";
import { chmod, link, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { CustodyError } from "../errors";
import type { EvidenceSigner, PublicSigningKey, PublishedSigningKey, SigningKeyHistory } from "../ports/evidence-signer";
import { jwkThumbprint } from "../provenance/jwks";

export const KEYRING_FILE = "keyring.json";

/** The folder of the local key inside a stack's data folder. */
export function localSigningKeyDirectory(dataDir: string): string {
  return path.join(dataDir, "signing-keys");
}

interface KeyringEntry {
  kid: string;
  x: string;
  y: string;
  createdAt: string;
  retiredAt?: string;
}

interface Keyring {
  version: 1;
  /** The key id that signs now. */
  current: string;
  /** Every key this folder has had, oldest first. */
  keys: KeyringEntry[];
}

export interface OpenLocalKeySignerOptions {
  /** The folder the keys live in (the stack's data folder's `signing-keys/`). */
  directory: string;
  /** The time a first key is created at (tests); default now. */
  now?: () => Date;
}

export class LocalKeySigner implements EvidenceSigner, SigningKeyHistory {
  readonly algorithm = "ES256" as const;
  readonly #privateKey: KeyObject;
  readonly #keyring: Keyring;

  private constructor(privateKey: KeyObject, keyring: Keyring) {
    this.#privateKey = privateKey;
    this.#keyring = keyring;
  }

  get keyId(): string {
    return this.#keyring.current;
  }

  /** Opens the folder's current key, generating the first one (atomically: two processes starting together agree on one key). */
  static async open(options: OpenLocalKeySignerOptions): Promise<LocalKeySigner> {
    const directory = path.resolve(options.directory);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    // A folder made before (or by hand) with a wider mode is narrowed: it holds the private key.
    if (process.platform !== "win32") await chmod(directory, 0o700);
    let keyring = await readKeyring(directory);
    if (keyring === undefined) {
      await createFirstKey(directory, (options.now ?? (() => new Date()))());
      keyring = await readKeyring(directory);
      if (keyring === undefined) throw new CustodyError("Internal", `The signing keyring in ${directory} vanished while it was being created.`);
    }
    return new LocalKeySigner(await readPrivateKey(directory, keyring.current), keyring);
  }

  sign(data: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(signData("sha256", data, { key: this.#privateKey, dsaEncoding: "ieee-p1363" })));
  }

  publicKey(): Promise<PublicSigningKey> {
    const entry = this.#keyring.keys.find((key) => key.kid === this.#keyring.current);
    if (entry === undefined) return Promise.reject(new CustodyError("InvalidConfiguration", `The signing keyring does not list its current key ${this.#keyring.current}.`));
    return Promise.resolve(publicJwk(entry));
  }

  /** The current key and every retired one (newest first), each with when it could sign. */
  publishedKeys(): Promise<PublishedSigningKey[]> {
    return Promise.resolve([...this.#keyring.keys].reverse().map(publishedJwk));
  }

  /** So a logged signer shows its key id, never key material. */
  toJSON(): { algorithm: string; keyId: string } {
    return { algorithm: this.algorithm, keyId: this.keyId };
  }
}

/**
 * Retires the folder's current key and makes a new one current: the old private key is
 * deleted, its public key stays in the keyring with `retiredAt`. Processes that opened the old
 * key keep signing with it until they open the folder again (restart).
 */
export async function rotateLocalSigningKey(options: OpenLocalKeySignerOptions): Promise<{ retired: string; current: string }> {
  const directory = path.resolve(options.directory);
  const keyring = await readKeyring(directory);
  if (keyring === undefined) throw new CustodyError("InvalidConfiguration", `No signing keyring in ${directory} to rotate.`);
  const now = (options.now ?? (() => new Date()))().toISOString();
  const { entry, privatePem } = generateKey(now);
  await writeFile(privateKeyFile(directory, entry.kid), privatePem, { mode: 0o600, flag: "wx" });
  const retired = keyring.current;
  const next: Keyring = { version: 1, current: entry.kid, keys: [...keyring.keys.map((key) => (key.kid === retired ? { ...key, retiredAt: now } : key)), entry] };
  const temporary = path.join(directory, `${KEYRING_FILE}.${process.pid}.tmp`);
  await writeFile(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o644 });
  await rename(temporary, path.join(directory, KEYRING_FILE));
  await rm(privateKeyFile(directory, retired), { force: true });
  return { retired, current: entry.kid };
}

async function createFirstKey(directory: string, now: Date): Promise<void> {
  const { entry, privatePem } = generateKey(now.toISOString());
  const keyFile = privateKeyFile(directory, entry.kid);
  await writeFile(keyFile, privatePem, { mode: 0o600, flag: "wx" });
  // The process umask may have narrowed the mode further, never widened it; make it exact.
  await chmod(keyFile, 0o600);
  const keyring: Keyring = { version: 1, current: entry.kid, keys: [entry] };
  const temporary = path.join(directory, `${KEYRING_FILE}.${process.pid}.${entry.kid}.tmp`);
  await writeFile(temporary, `${JSON.stringify(keyring, null, 2)}\n`, { mode: 0o644 });
  try {
    // link() fails if the keyring exists: of two processes starting together, one wins and the other uses its key.
    await link(temporary, path.join(directory, KEYRING_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    await rm(keyFile, { force: true });
  } finally {
    await rm(temporary, { force: true });
  }
}

function generateKey(createdAt: string): { entry: KeyringEntry; privatePem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  if (typeof jwk.x !== "string" || typeof jwk.y !== "string") throw new CustodyError("Internal", "A generated P-256 key has no public point.");
  const kid = jwkThumbprint({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y });
  return { entry: { kid, x: jwk.x, y: jwk.y, createdAt }, privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

async function readKeyring(directory: string): Promise<Keyring | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(directory, KEYRING_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const keyring = JSON.parse(text) as Keyring;
  if (keyring.version !== 1 || !Array.isArray(keyring.keys) || !keyring.keys.some((key) => key.kid === keyring.current)) {
    throw new CustodyError("InvalidConfiguration", `${path.join(directory, KEYRING_FILE)} is not a signing keyring this version reads.`);
  }
  return keyring;
}

async function readPrivateKey(directory: string, kid: string): Promise<KeyObject> {
  const file = privateKeyFile(directory, kid);
  let pem: string;
  try {
    if (process.platform !== "win32" && ((await stat(file)).mode & 0o077) !== 0) {
      throw new CustodyError("InvalidConfiguration", `The signing key ${file} is readable by other users: make it mode 0600 (chmod 600) and start again.`);
    }
    pem = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new CustodyError("InvalidConfiguration", `The signing keyring names key ${kid}, but its private key file ${file} is missing.`);
    throw error;
  }
  const key = createPrivateKey(pem);
  // The file must hold the key the keyring names: a swapped file would sign under the wrong id.
  const jwk = createPublicKey(key).export({ format: "jwk" });
  if (typeof jwk.x !== "string" || typeof jwk.y !== "string" || jwkThumbprint({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }) !== kid) {
    throw new CustodyError("InvalidConfiguration", `The signing key file ${file} does not hold key ${kid}.`);
  }
  return key;
}

function privateKeyFile(directory: string, kid: string): string {
  return path.join(directory, `${kid}.key.pem`);
}

function publicJwk(entry: KeyringEntry): PublicSigningKey {
  return { kty: "EC", crv: "P-256", x: entry.x, y: entry.y, kid: entry.kid, alg: "ES256", use: "sig" };
}

function publishedJwk(entry: KeyringEntry): PublishedSigningKey {
  const nbf = Math.floor(Date.parse(entry.createdAt) / 1000);
  return { ...publicJwk(entry), nbf, ...(entry.retiredAt === undefined ? {} : { exp: Math.floor(Date.parse(entry.retiredAt) / 1000) }) };
}
