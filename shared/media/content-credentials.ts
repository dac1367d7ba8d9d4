/**
 * Content Credentials (C2PA) on the JPEG renditions: each poster, thumbnail and sprite sheet
 * carries a manifest, embedded in the file, that names the original recording as its
 * ingredient (by SHA-256, name and version), says what made the image from it (ffmpeg, its
 * version, the arguments) and binds itself to the image's bytes with a data-hash assertion. The
 * claim is signed (COSE, ES256) by the evidence signing key through its port — Key Vault in
 * Azure, the local key file in the local stack — under a certificate chain that certifies that
 * same key (content-credentials-chain.ts). Anyone with a C2PA validator and the CA certificate
 * can check an image offline.
 *
 * Library: @trustnxt/c2pa-ts (pure TypeScript). Its `Signer` is one method — sign these bytes —
 * so the key never has to leave where it lives. COSE wants ECDSA signatures as r ‖ s, which is
 * what the evidence signer returns. The library checks the certificate's profile but not that
 * it chains to a trusted CA, so verification here adds that check against the caller's trust
 * anchors (`signingCredential.untrusted` when it does not).
 *
 * Proxy MP4s are not signed this way: the library's release reads no MP4 (see
 * docs/decisions/0016-content-credentials-on-jpeg-renditions.md); the signed evidence manifest
 * covers them.
 */
import { randomUUID } from "node:crypto";
import { CustodyError } from "../errors";
import { certifiesKey, issuedBy, type Certificate, type SignerPublicJwk } from "./content-credentials-chain";
import { loadContentCredentialsLibrary, type ContentCredentialsLibrary } from "./content-credentials-library";

/** What signing needs of the evidence signer (shared/ports/evidence-signer.ts satisfies it). */
export interface ClaimSigner {
  readonly algorithm: "ES256";
  readonly keyId: string;
  /** ES256 over `data` (the signer hashes), r ‖ s (64 bytes). */
  sign(data: Uint8Array): Promise<Uint8Array>;
  publicKey(): Promise<SignerPublicJwk>;
}

/** The signing certificate (it must certify the signer's key) and the CA certificates above it, PEM. */
export interface SigningCertificateChain {
  certificatePem: string;
  chainPems: string[];
}

/** The exact original a rendition was made from. */
export interface OriginalIngredient {
  /** Blob name. */
  name: string;
  /** Lower-case hex. */
  sha256: string;
  size: number;
  versionId?: string;
  etag?: string;
  contentType?: string;
}

export type RenditionImageKind = "poster" | "thumbnail" | "sprite";

/** What made the image: the tool and how it was run. */
export interface RenditionAction {
  kind: RenditionImageKind;
  /** One sentence, e.g. "frame at 12.5 s scaled to 320×180". */
  description: string;
  tool: { name: string; version: string };
  /** The argument vector of each tool run that made it (no secrets: the stage redacts the read URL). */
  runs: string[][];
  /** Further values worth keeping (time of the frame, size). */
  parameters?: Record<string, string | number>;
}

export interface SignJpegInput {
  /** The rendition's file name (the claim's title). */
  title: string;
  original: OriginalIngredient;
  action: RenditionAction;
}

/** Signs JPEG renditions; built once per host from the signer and its chain. */
export interface ContentCredentials {
  /** The image with a signed C2PA manifest embedded (new bytes; the input is not changed). */
  signJpeg(jpeg: Uint8Array, input: SignJpegInput): Promise<Uint8Array>;
  /** The key id of the key that signs (provenance). */
  readonly keyId: string;
  /**
   * The CA certificate (PEM) the signing chain ends at: what a verifier of these credentials is
   * given as its trust anchor (verifyContentCredentials), the signer itself included when it
   * checks an image it may have signed before.
   */
  readonly trustAnchorPems: readonly string[];
}

export interface ContentCredentialsOptions {
  /** The claim generator's version (Custody's). */
  generatorVersion?: string;
}

const GENERATOR = "Custody";
/** Room for the COSE signature in the manifest (64-byte ES256 signature, no time-stamp token); the library's default is 25 kB. */
const SIGNATURE_PADDING_BYTES = 512;
/** The custom parameters and metadata keys, under Custody's reverse-domain prefix (C2PA §6.2 labels). */
const ORIGINAL_METADATA_KEY = "org.custody.original";

/**
 * The signing side. Refuses (InvalidConfiguration) a chain whose certificate does not certify
 * the signer's key — before anything is signed — and checks again whenever the signer's key id
 * changes (a rotation needs a new certificate).
 */
export async function createContentCredentials(signer: ClaimSigner, chain: SigningCertificateChain, options: ContentCredentialsOptions = {}): Promise<ContentCredentials> {
  const lib = await loadContentCredentialsLibrary();
  let checkedKeyId: string | undefined;
  const checkKey = async (): Promise<void> => {
    if (checkedKeyId === signer.keyId) return;
    const key = await signer.publicKey();
    if (!(await certifiesKey(chain.certificatePem, key))) {
      throw new CustodyError("InvalidConfiguration", `The Content Credentials signing certificate does not certify the evidence signing key ${key.kid}: a new certificate must be issued for it.`);
    }
    checkedKeyId = key.kid === signer.keyId ? signer.keyId : undefined;
  };
  await checkKey();
  const c2paSigner = {
    algorithm: lib.cose.CoseAlgorithmIdentifier.ES256,
    certificate: new lib.x509.X509Certificate(chain.certificatePem),
    chainCertificates: chain.chainPems.map((pem) => new lib.x509.X509Certificate(pem)),
    sign: (payload: Uint8Array) => signer.sign(payload),
  };
  const anchor = chain.chainPems.at(-1);
  return {
    get keyId() {
      return signer.keyId;
    },
    trustAnchorPems: anchor === undefined ? [] : [anchor],
    async signJpeg(jpeg, input) {
      await checkKey();
      return signJpeg(lib, c2paSigner, jpeg, input, options);
    },
  };
}

type C2paSigner = Parameters<ContentCredentialsLibrary["manifest"]["Manifest"]["prototype"]["sign"]>[0];

async function signJpeg(lib: ContentCredentialsLibrary, signer: C2paSigner, jpeg: Uint8Array, input: SignJpegInput, options: ContentCredentialsOptions): Promise<Uint8Array> {
  const { manifest: m } = lib;
  if (!lib.asset.JPEG.canRead(jpeg)) throw new CustodyError("OutputVerificationFailed", `${input.title} is not a JPEG: no Content Credentials can be embedded.`);
  const asset = new lib.asset.JPEG(new Uint8Array(jpeg));
  const store = new m.ManifestStore();
  const manifest = store.createManifest({
    claimVersion: m.ClaimVersion.V2,
    assetFormat: "image/jpeg",
    instanceID: `xmp:iid:${randomUUID()}`,
    defaultHashAlgorithm: "SHA-256",
    signer,
  });
  manifest.signature = m.Signature.create(signer, SIGNATURE_PADDING_BYTES);
  const claim = manifest.claim;
  if (claim === undefined) throw new CustodyError("Internal", "The C2PA library made a manifest without a claim.");
  claim.title = input.title;
  claim.claimGeneratorName = GENERATOR;
  if (options.generatorVersion !== undefined) claim.claimGeneratorVersion = options.generatorVersion;

  const { original, action } = input;
  const ingredient = m.IngredientAssertion.createV3(m.RelationshipType.ParentOf);
  ingredient.title = original.name;
  if (original.contentType !== undefined) ingredient.format = original.contentType;
  // The original's SHA-256 is its instance id: a content address for that exact recording.
  ingredient.instanceID = `sha256:${original.sha256}`;
  ingredient.metadata = { [ORIGINAL_METADATA_KEY]: { name: original.name, sha256: original.sha256, size: original.size, versionId: original.versionId ?? null, etag: original.etag ?? null } };
  manifest.addAssertion(ingredient);

  const actions = new m.ActionAssertion();
  actions.actions = [
    // The library writes an action's description only as `parameters.description` (claim v2).
    { action: m.ActionType.C2paOpened, parameters: { ingredients: [manifest.createAssertionReference(ingredient)], description: "the original recording" } },
    {
      action: m.ActionType.C2paEdited,
      softwareAgent: { name: action.tool.name, version: action.tool.version },
      parameters: { description: action.description, "org.custody.rendition": action.kind, "org.custody.runs": action.runs, ...action.parameters },
    },
  ];
  manifest.addAssertion(actions);

  const dataHash = m.DataHashAssertion.create("SHA-256");
  manifest.addAssertion(dataHash);
  await asset.ensureManifestSpace(store.measureSize());
  await dataHash.updateWithAsset(asset);
  await manifest.sign(signer);
  await asset.writeManifestJUMBF(store.getBytes());
  return asset.getDataRange();
}

/* ------------------------------------------------------------------------------------------ */

/** Which part of a credential a failure is about. */
export type ContentCredentialsCheck = "manifest" | "binding" | "signature" | "credential" | "trust" | "ingredient";

export interface ContentCredentialsFailure {
  check: ContentCredentialsCheck;
  /** The C2PA validation status code (e.g. `assertion.dataHash.mismatch`), or a `custody.*` code for Custody's own checks. */
  code: string;
  explanation?: string;
  /** The JUMBF URI of the part it is about, when the library names one. */
  url?: string;
}

export interface ContentCredentialsSigner {
  certificatePem: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
}

export interface ContentCredentialsVerification {
  valid: boolean;
  /** Empty when valid. */
  failures: ContentCredentialsFailure[];
  /** The claim's title: the rendition's file name it was signed as (absent when no manifest could be read). */
  title?: string;
  /** The ingredient the image names (absent when no manifest could be read). */
  ingredient?: { sha256?: string; name?: string; versionId?: string; format?: string };
  /** The actions recorded (`c2pa.opened`, `c2pa.edited` …) with the tool that did them. */
  actions?: Array<{ action: string; softwareAgent?: string; description?: string; runs?: string[][] }>;
  signer?: ContentCredentialsSigner;
  claimGenerator?: string;
}

export interface VerifyContentCredentialsOptions {
  /** CA certificates (PEM) a signing certificate must chain to; none — every signer is untrusted. */
  trustAnchorPems: string[];
  /** The SHA-256 (hex) of the original the image should have been made from. */
  expectedOriginalSha256?: string;
  /** When to check certificate validity; default now. */
  at?: Date;
}

/** Codes the library reports as failures, by the part they are about. */
function checkFor(code: string): ContentCredentialsCheck {
  if (code.startsWith("claimSignature.") || code.startsWith("algorithm.") || code.startsWith("timeStamp.")) return "signature";
  if (code === "signingCredential.untrusted") return "trust";
  if (code.startsWith("signingCredential.")) return "credential";
  if (code.startsWith("assertion.dataHash.") || code.startsWith("assertion.bmffHash.") || code.startsWith("assertion.boxesHash.") || code === "claim.hardBindings.missing") return "binding";
  if (code.startsWith("ingredient.")) return "ingredient";
  return "manifest";
}

/**
 * Validates the Content Credentials embedded in a JPEG, offline: the manifest and its hashed
 * assertions, the binding to these bytes (data hash), the claim signature, the signing
 * certificate's profile and validity (the library), the certificate's chain to one of the trust
 * anchors, and — when given — that the ingredient is the expected original.
 */
export async function verifyContentCredentials(jpeg: Uint8Array, options: VerifyContentCredentialsOptions): Promise<ContentCredentialsVerification> {
  const lib = await loadContentCredentialsLibrary();
  if (!lib.asset.JPEG.canRead(jpeg)) return invalid({ check: "manifest", code: "custody.asset.unreadable", explanation: "not a JPEG" });
  const asset = new lib.asset.JPEG(new Uint8Array(jpeg));
  const jumbf = asset.getManifestJUMBF();
  if (jumbf === undefined) return invalid({ check: "manifest", code: "custody.manifest.absent", explanation: "the image carries no C2PA manifest" });

  let store: InstanceType<ContentCredentialsLibrary["manifest"]["ManifestStore"]>;
  let result: InstanceType<ContentCredentialsLibrary["manifest"]["ValidationResult"]>;
  try {
    store = lib.manifest.ManifestStore.read(lib.jumbf.SuperBox.fromBuffer(jumbf as Uint8Array<ArrayBuffer>));
    result = await store.validate(asset);
  } catch (error) {
    const code = typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : "general.error";
    return invalid({ check: checkFor(code), code, explanation: error instanceof Error ? error.message : String(error) });
  }
  const failures: ContentCredentialsFailure[] = result.statusEntries
    .filter((entry) => entry.success === false)
    .map((entry) => ({
      check: checkFor(entry.code),
      code: entry.code,
      ...(entry.explanation === undefined ? {} : { explanation: entry.explanation }),
      ...(entry.url === undefined ? {} : { url: entry.url }),
    }));

  const manifest = store.getActiveManifest();
  const verification: ContentCredentialsVerification = { valid: false, failures };
  if (manifest?.claim !== undefined) {
    verification.claimGenerator = [manifest.claim.claimGeneratorName, manifest.claim.claimGeneratorVersion].filter(Boolean).join("/");
    if (manifest.claim.title !== undefined) verification.title = manifest.claim.title;
  }
  const ingredient = manifest?.assertions?.assertions.find((a) => a instanceof lib.manifest.IngredientAssertion);
  if (ingredient !== undefined) {
    const sha256 = /^sha256:([0-9a-f]{64})$/.exec(ingredient.instanceID ?? "")?.[1];
    const recorded = ingredient.metadata?.[ORIGINAL_METADATA_KEY] as { versionId?: string | null } | undefined;
    verification.ingredient = {
      ...(sha256 === undefined ? {} : { sha256 }),
      ...(ingredient.title === undefined ? {} : { name: ingredient.title }),
      ...(typeof recorded?.versionId === "string" ? { versionId: recorded.versionId } : {}),
      ...(ingredient.format === undefined ? {} : { format: ingredient.format }),
    };
  }
  verification.actions = (manifest?.assertions?.getActionAssertions() ?? []).flatMap((a) =>
    a.actions.map((action) => ({
      action: action.action,
      ...(action.softwareAgent === undefined ? {} : { softwareAgent: [action.softwareAgent.name, action.softwareAgent.version].filter(Boolean).join(" ") }),
      ...(typeof action.parameters?.description === "string" ? { description: action.parameters.description } : {}),
      ...(isRuns(action.parameters?.["org.custody.runs"]) ? { runs: action.parameters["org.custody.runs"] } : {}),
    })),
  );

  const cose = manifest?.signature?.signatureData;
  if (cose?.certificate !== undefined) {
    const leaf = cose.certificate;
    verification.signer = {
      certificatePem: leaf.toString("pem"),
      subject: leaf.subject,
      issuer: leaf.issuer,
      serialNumber: leaf.serialNumber,
      notBefore: leaf.notBefore.toISOString(),
      notAfter: leaf.notAfter.toISOString(),
    };
    const trust = await chainsToAnchor(lib, leaf, cose.chainCertificates, options.trustAnchorPems, options.at ?? new Date());
    if (trust !== undefined) failures.push({ check: "trust", code: "signingCredential.untrusted", explanation: trust });
  } else if (!failures.some((f) => f.check === "signature" || f.check === "credential")) {
    failures.push({ check: "credential", code: "signingCredential.invalid", explanation: "the claim signature carries no certificate" });
  }

  if (options.expectedOriginalSha256 !== undefined && verification.ingredient?.sha256 !== options.expectedOriginalSha256) {
    failures.push({
      check: "ingredient",
      code: "custody.ingredient.mismatch",
      explanation: `the image names ${verification.ingredient?.sha256 === undefined ? "no original SHA-256" : `original ${verification.ingredient.sha256}`}, not ${options.expectedOriginalSha256}`,
    });
  }
  verification.valid = failures.length === 0 && result.isValid;
  return verification;
}

function isRuns(value: unknown): value is string[][] {
  return Array.isArray(value) && value.every((run) => Array.isArray(run) && run.every((a) => typeof a === "string"));
}

function invalid(failure: ContentCredentialsFailure): ContentCredentialsVerification {
  return { valid: false, failures: [failure] };
}

/**
 * Walks from the signing certificate up through the certificates the claim carries to one of
 * the trust anchors, checking each signature and validity. Undefined when it gets there; else
 * why not.
 */
async function chainsToAnchor(lib: ContentCredentialsLibrary, leaf: Certificate, carried: Certificate[], anchorPems: string[], at: Date): Promise<string | undefined> {
  const anchors = anchorPems.map((pem) => new lib.x509.X509Certificate(pem));
  const isAnchor = (c: Certificate) => anchors.some((a) => Buffer.from(a.rawData).equals(Buffer.from(c.rawData)));
  let current = leaf;
  for (let depth = 0; depth <= carried.length; depth++) {
    if (isAnchor(current)) return undefined;
    const anchor = await firstOf(anchors, (a) => issuedBy(current, a));
    if (anchor !== undefined) return anchor.notBefore <= at && at <= anchor.notAfter ? undefined : `the trust anchor ${anchor.subject} is not valid at ${at.toISOString()}`;
    const next = await firstOf(
      carried.filter((c) => c !== current),
      (c) => issuedBy(current, c),
    );
    if (next === undefined) return `${current.subject} is not issued by any trusted CA (issuer ${current.issuer})`;
    if (!(next.notBefore <= at && at <= next.notAfter)) return `${next.subject} is not valid at ${at.toISOString()}`;
    current = next;
  }
  return "the certificate chain does not end at a trusted CA";
}

async function firstOf<T>(items: T[], predicate: (item: T) => Promise<boolean>): Promise<T | undefined> {
  for (const item of items) if (await predicate(item)) return item;
  return undefined;
}
