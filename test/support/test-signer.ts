/**
 * An EvidenceSigner for tests: a P-256 key made with node:crypto in memory, signing as the
 * port says (ES256 over the bytes, r ‖ s), and Content Credentials built on it under a CA made
 * for the test run.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import type { EvidenceSigner, PublicSigningKey } from "../../shared/ports/evidence-signer";
import { createCustodyCa, issueSignerCertificate, type CustodyCa } from "../../shared/media/content-credentials-chain";
import { createContentCredentials, type ContentCredentials } from "../../shared/media/content-credentials";

export class TestEvidenceSigner implements EvidenceSigner {
  readonly algorithm = "ES256";
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly jwk: PublicSigningKey;
  /** How many signatures it made. */
  signatures = 0;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const { x, y } = publicKey.export({ format: "jwk" });
    this.keyId = `test-${createHash("sha256").update(`${x}.${y}`).digest("hex").slice(0, 16)}`;
    this.privateKey = privateKey;
    this.jwk = { kty: "EC", crv: "P-256", x: x!, y: y!, kid: this.keyId, alg: "ES256", use: "sig" };
  }

  sign(data: Uint8Array): Promise<Uint8Array> {
    this.signatures++;
    return Promise.resolve(new Uint8Array(sign("sha256", data, { key: this.privateKey, dsaEncoding: "ieee-p1363" })));
  }

  publicKey(): Promise<PublicSigningKey> {
    return Promise.resolve({ ...this.jwk });
  }
}

export interface TestContentCredentials {
  contentCredentials: ContentCredentials;
  signer: TestEvidenceSigner;
  ca: CustodyCa;
  leafPem: string;
}

/** Content Credentials signed by a fresh test key under a fresh test CA. */
export async function testContentCredentials(): Promise<TestContentCredentials> {
  const signer = new TestEvidenceSigner();
  const ca = await createCustodyCa({ subject: "CN=Custody test CA, O=Custody" });
  const leafPem = await issueSignerCertificate(ca, await signer.publicKey());
  const contentCredentials = await createContentCredentials(signer, { certificatePem: leafPem, chainPems: [ca.certificatePem] }, { generatorVersion: "test" });
  return { contentCredentials, signer, ca, leafPem };
}
