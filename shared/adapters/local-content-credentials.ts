/**
 * The local stack's certificate chain for Content Credentials, kept in a folder of its own under
 * `dataDir` (`<dataDir>/content-credentials/`; the app passes the local signing key's folder, so
 * the local stack's chain is in `<data folder>/signing-keys/content-credentials/`, beside the key
 * it certifies): a Custody CA made on first start (its private key in a
 * file only the owner can read — the local stack's counterpart of a CA Custody does not hold in
 * Azure) and a leaf certificate per evidence signing key, issued from the key's published public
 * half. A leaf that no longer certifies the signer's key (a new key, an edited file) is issued
 * again; the CA stays, so images signed before still chain to it.
 *
 * Azure obtains the chain differently (docs/decisions/0016-content-credentials-on-jpeg-renditions.md).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { CustodyError } from "../errors";
import { certifiesKey, createCustodyCa, issuedBy, issueSignerCertificate, type CustodyCa, type SignerPublicJwk } from "../media/content-credentials-chain";
import { loadContentCredentialsLibrary } from "../media/content-credentials-library";
import { createContentCredentials, type ClaimSigner, type ContentCredentials, type ContentCredentialsOptions, type SigningCertificateChain } from "../media/content-credentials";

export const CA_CERTIFICATE_FILE = "custody-ca.pem";
const CA_KEY_FILE = "custody-ca.key.pem";

export interface LocalSigningChain extends SigningCertificateChain {
  /** The CA certificate: the trust anchor verifiers are given. */
  caCertificatePem: string;
  folder: string;
}

/** The chain for `signer`'s current key, the CA made on first use. */
export async function localSigningChain(dataDir: string, signer: Pick<ClaimSigner, "publicKey">): Promise<LocalSigningChain> {
  const folder = path.join(dataDir, "content-credentials");
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const ca = await loadOrCreateCa(folder);
  const key = await signer.publicKey();
  const leafFile = path.join(folder, `signer-${fileSafe(key.kid)}.pem`);
  let certificatePem = await readIfExists(leafFile);
  if (certificatePem === undefined || !(await certifiesKey(certificatePem, key)) || !(await issuedByCa(certificatePem, ca))) {
    certificatePem = await issueSignerCertificate(ca, key);
    await writeFile(leafFile, certificatePem, { mode: 0o644 });
  }
  return { certificatePem, chainPems: [ca.certificatePem], caCertificatePem: ca.certificatePem, folder };
}

/** Content Credentials signed by `signer` under the local chain. */
export async function createLocalContentCredentials(dataDir: string, signer: ClaimSigner, options?: ContentCredentialsOptions): Promise<ContentCredentials> {
  return createContentCredentials(signer, await localSigningChain(dataDir, signer), options);
}

async function loadOrCreateCa(folder: string): Promise<CustodyCa> {
  const certificateFile = path.join(folder, CA_CERTIFICATE_FILE);
  const keyFile = path.join(folder, CA_KEY_FILE);
  const [certificatePem, privateKeyPem] = await Promise.all([readIfExists(certificateFile), readIfExists(keyFile)]);
  if (certificatePem !== undefined && privateKeyPem !== undefined) return { certificatePem, privateKeyPem };
  const ca = await createCustodyCa();
  try {
    // `wx`: two hosts starting together — the first writes, the second reads the first's.
    await writeFile(keyFile, ca.privateKeyPem, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return waitForCa(certificateFile, keyFile);
  }
  await writeFile(certificateFile, ca.certificatePem, { mode: 0o644 });
  return ca;
}

/** The other writer's CA: its certificate follows its key within moments. */
async function waitForCa(certificateFile: string, keyFile: string): Promise<CustodyCa> {
  for (let i = 0; i < 100; i++) {
    const [certificatePem, privateKeyPem] = await Promise.all([readIfExists(certificateFile), readIfExists(keyFile)]);
    if (certificatePem !== undefined && privateKeyPem !== undefined) return { certificatePem, privateKeyPem };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new CustodyError("InvalidConfiguration", `${keyFile} exists without ${certificateFile}: remove both to make a new local CA.`);
}

async function issuedByCa(certificatePem: string, ca: CustodyCa): Promise<boolean> {
  const { x509 } = await loadContentCredentialsLibrary();
  return issuedBy(new x509.X509Certificate(certificatePem), new x509.X509Certificate(ca.certificatePem));
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function fileSafe(kid: SignerPublicJwk["kid"]): string {
  return kid.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 100);
}
