/**
 * Content Credentials trust anchors: the CA certificates a JPEG rendition's C2PA signing
 * certificate must chain to (docs/decisions/0016-content-credentials-on-jpeg-renditions.md).
 * The deployment publishes its CA beside the signing keys, and a disclosure package carries it as
 * `keys/content-credentials-ca-<id>.pem`. The id is the first 16 hex digits of the SHA-256 of the
 * certificate's DER bytes: it follows from the certificate, so publishing the same CA again names
 * the same file, and two CAs with the same subject never share one.
 */
import { createHash, X509Certificate } from "node:crypto";
import { CustodyError } from "../errors";

export interface TrustAnchor {
  /** The certificate as PEM, one block, as node:crypto writes it (so the same certificate is always the same bytes). */
  pem: string;
  /** SHA-256 of the DER bytes, lower-case hex (what `openssl x509 -fingerprint -sha256` shows, without colons). */
  sha256: string;
  /** The first 16 hex digits of `sha256`. */
  id: string;
  /** The subject as a reader sees it, e.g. "CN=Custody local CA, O=Custody". */
  subject: string;
  /** ISO 8601. */
  notAfter: string;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The CERTIFICATE blocks of a PEM text, in order (text between them ignored). */
export function certificateBlocks(text: string): string[] {
  return text.match(CERTIFICATE_BLOCK) ?? [];
}

/**
 * Every certificate in a PEM text (one or more CERTIFICATE blocks; text between blocks, such as
 * openssl's `subject=` lines, is ignored). InvalidConfiguration when there is none or a block is
 * not an X.509 certificate; `source` names where the text came from in the message.
 */
export function parseTrustAnchors(text: string, source: string): TrustAnchor[] {
  const blocks = certificateBlocks(text);
  if (blocks.length === 0) throw new CustodyError("InvalidConfiguration", `${source} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  return blocks.map((block, index) => {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (error) {
      throw new CustodyError("InvalidConfiguration", `certificate ${index + 1} of ${source} is not a valid X.509 certificate (${(error as Error).message}).`, { cause: error });
    }
    const sha256 = createHash("sha256").update(certificate.raw).digest("hex");
    return { pem: certificate.toString(), sha256, id: sha256.slice(0, 16), subject: certificate.subject.split("\n").join(", "), notAfter: new Date(certificate.validTo).toISOString() };
  });
}

/** The one certificate of a PEM text; InvalidConfiguration when it holds none or more than one. */
export function parseTrustAnchor(text: string, source: string): TrustAnchor {
  const [anchor, ...more] = parseTrustAnchors(text, source);
  if (more.length > 0) throw new CustodyError("InvalidConfiguration", `${source} holds ${more.length + 1} certificates; a trust anchor is one CA certificate.`);
  return anchor;
}

/** The anchor's file name, the same in storage (under keys/) and in a disclosure package. */
export function trustAnchorFileName(anchor: Pick<TrustAnchor, "id">): string {
  return `content-credentials-ca-${anchor.id}.pem`;
}

/** Whether a file name (no folder) is a trust anchor's: `content-credentials-ca*.pem`. */
export function isTrustAnchorFileName(name: string): boolean {
  return /^content-credentials-ca[A-Za-z0-9._-]*\.pem$/.test(name);
}
