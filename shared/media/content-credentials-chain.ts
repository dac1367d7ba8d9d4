/**
 * The certificate chain Content Credentials are signed under: a Custody CA and a leaf
 * certificate for the evidence signing key. C2PA validators refuse a self-signed signing
 * certificate (`signingCredential.invalid`), so the leaf is issued by a CA, with the profile
 * C2PA asks of a claim signer: basicConstraints CA:false, keyUsage digitalSignature (both
 * critical), extendedKeyUsage emailProtection, subject and authority key identifiers.
 *
 * The leaf certifies the public key the evidence signer publishes (its JWK): the private key
 * never leaves where it lives (Key Vault, or the local key file), it only signs. Pure: keys and
 * certificates in, PEM out; where they are kept is the caller's (local: the data folder).
 */
import { webcrypto } from "node:crypto";
import { CustodyError } from "../errors";
import { certificateBlocks } from "../provenance/trust-anchors";
import { loadContentCredentialsLibrary, type ContentCredentialsLibrary } from "./content-credentials-library";

/** The public half of the signing key as the evidence signer publishes it (RFC 7517, EC P-256). */
export interface SignerPublicJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  kid: string;
}

export interface CustodyCa {
  certificatePem: string;
  /** PKCS#8, PEM. Only for a CA whose key Custody holds (the local stack). */
  privateKeyPem: string;
}

export interface CreateCustodyCaOptions {
  /** Default "CN=Custody local CA, O=Custody". */
  subject?: string;
  /** Default 20 years. */
  validForInDays?: number;
  now?: Date;
}

export interface IssueSignerCertificateOptions {
  /** Default "CN=Custody evidence signer <kid>, O=Custody". */
  subject?: string;
  /**
   * Default 10 years. With no time-stamp authority in the claims, a validator checks the
   * certificate at the time it validates, so this is how long the images validate as unexpired.
   */
  validForInDays?: number;
  now?: Date;
}

const DAY_IN_MS = 24 * 60 * 60 * 1000;
const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
/** RFC 5280 OIDs: emailProtection, which C2PA accepts for claim signers. */
const EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4";

/** A new CA key pair and its self-signed certificate (CA:true, keyCertSign, path length 0). */
export async function createCustodyCa(options: CreateCustodyCaOptions = {}): Promise<CustodyCa> {
  const { x509 } = await loadContentCredentialsLibrary();
  const now = options.now ?? new Date();
  const keys = await webcrypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
  const subject = options.subject ?? "CN=Custody local CA, O=Custody";
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: subject,
    notBefore: new Date(now.getTime() - DAY_IN_MS),
    notAfter: new Date(now.getTime() + (options.validForInDays ?? 20 * 365) * DAY_IN_MS),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certificatePem: certificate.toString("pem"), privateKeyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}

/** A leaf certificate for `publicKey` (the evidence signer's), issued and signed by `ca`. */
export async function issueSignerCertificate(ca: CustodyCa, publicKey: SignerPublicJwk, options: IssueSignerCertificateOptions = {}): Promise<string> {
  const { x509 } = await loadContentCredentialsLibrary();
  const now = options.now ?? new Date();
  const caCertificate = new x509.X509Certificate(ca.certificatePem);
  const caKey = await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(ca.privateKeyPem), ECDSA_P256, false, ["sign"]);
  const leafKey = await webcrypto.subtle.importKey("jwk", { kty: publicKey.kty, crv: publicKey.crv, x: publicKey.x, y: publicKey.y }, ECDSA_P256, true, ["verify"]);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: options.subject ?? `CN=Custody evidence signer ${publicKey.kid.replace(/[,+="\\<>;#]/g, "_")}, O=Custody`,
    issuer: caCertificate.subject,
    notBefore: new Date(now.getTime() - DAY_IN_MS),
    notAfter: new Date(Math.min(now.getTime() + (options.validForInDays ?? 10 * 365) * DAY_IN_MS, caCertificate.notAfter.getTime())),
    signingAlgorithm: SIGNING,
    publicKey: leafKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([EMAIL_PROTECTION], false),
      await x509.SubjectKeyIdentifierExtension.create(leafKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
    ],
  });
  return certificate.toString("pem");
}

/** Whether the certificate (PEM) certifies exactly this EC P-256 public key. */
export async function certifiesKey(certificatePem: string, publicKey: Pick<SignerPublicJwk, "x" | "y">): Promise<boolean> {
  const { x509 } = await loadContentCredentialsLibrary();
  const certified = Buffer.from(new x509.X509Certificate(certificatePem).publicKey.rawData);
  let spki: ArrayBuffer;
  try {
    spki = await webcrypto.subtle.exportKey("spki", await webcrypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: publicKey.x, y: publicKey.y }, ECDSA_P256, true, ["verify"]));
  } catch {
    return false;
  }
  // Both DER SubjectPublicKeyInfo, uncompressed point: equal bytes, the same key.
  return certified.equals(Buffer.from(spki));
}

/** A positive 128-bit serial number, hex (RFC 5280 §4.1.2.2). */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return Buffer.from(bytes).toString("hex");
}

/**
 * A signing chain from PEM text (`source` names where it came from, for the error): the signing
 * certificate first, then each issuer up to the CA verifiers trust — at least two certificates
 * (C2PA validators refuse a self-signed signer), each issued by the next (signature checked), so
 * a chain pasted out of order or with a stranger in it fails at start, not at the first image.
 * Whether the first certifies the signing key is checked by createContentCredentials.
 */
export async function parseSigningChainPem(text: string, source: string): Promise<{ certificatePem: string; chainPems: string[] }> {
  const { x509 } = await loadContentCredentialsLibrary();
  const blocks = certificateBlocks(text.replace(/\\n/g, "\n"));
  const refuse = (why: string, cause?: unknown): never => {
    throw new CustodyError("InvalidConfiguration", `${source} must be the Content Credentials certificate chain in PEM, the signing certificate first and its CA last: ${why}.`, { cause });
  };
  if (blocks.length < 2) refuse(`it holds ${blocks.length} certificate${blocks.length === 1 ? "" : "s"}, not a signing certificate and at least one CA`);
  const certificates = blocks.map((pem, i) => {
    try {
      return new x509.X509Certificate(pem);
    } catch (error) {
      return refuse(`certificate ${i + 1} cannot be read (${error instanceof Error ? error.message : String(error)})`, error);
    }
  });
  for (let i = 0; i + 1 < certificates.length; i++) {
    const [child, issuer] = [certificates[i], certificates[i + 1]];
    if (!(await issuedBy(child, issuer))) refuse(`certificate ${i + 1} (${child.subject}) is not issued by certificate ${i + 2} (${issuer.subject})`);
  }
  const [leaf, ...chain] = certificates.map((c) => c.toString("pem"));
  return { certificatePem: leaf, chainPems: chain };
}

/** An X.509 certificate as the C2PA library (@peculiar/x509) reads it. */
export type Certificate = InstanceType<ContentCredentialsLibrary["x509"]["X509Certificate"]>;

/** Whether `issuer` issued `child`: its subject is the child's issuer and its key verifies the child's signature. */
export async function issuedBy(child: Certificate, issuer: Certificate): Promise<boolean> {
  return child.issuer === issuer.subject && (await child.verify({ publicKey: issuer.publicKey, signatureOnly: true }, webcrypto));
}
