/**
 * `custody verify --package DIR [--keys FILE] [--trust FILE] [--json]`: checks a disclosure
 * package with no stack and no Azure (shared/disclosure/verify-package.ts) and prints the
 * report. `--trust` gives the deployment's Content Credentials CA certificate(s), PEM, that the
 * JPEG renditions' signing certificates must chain to (else the package's own CA file is used).
 * Exit code 0 when every recording in it verifies, 1 when anything does not match (each finding
 * named), 2 when the package, the keys or the CA certificates cannot be read.
 */
import { readFile, stat } from "node:fs/promises";
import { describePackageVerification } from "../../shared/disclosure/report";
import { verifyDisclosurePackage } from "../../shared/disclosure/verify-package";
import type { JsonWebKeySet } from "../../shared/provenance/jwks";
import { parseTrustAnchors } from "../../shared/provenance/trust-anchors";
import { EXIT_FAILED_RECORDING, EXIT_OK } from "../exit-codes";
import { printResult } from "../output";

export interface VerifyPackageCommandOptions {
  keysFile?: string;
  trustFile?: string;
  json?: boolean;
}

export async function verifyPackageCommand(dir: string, options: VerifyPackageCommandOptions = {}): Promise<number> {
  const { keysFile, trustFile, json } = options;
  const info = await stat(dir).catch(() => undefined);
  if (info?.isDirectory() !== true) throw new Error(`--package ${dir}: no such folder.`);
  const publishedKeys = keysFile === undefined ? undefined : await readJwks(keysFile);
  const trustAnchorPems = trustFile === undefined ? undefined : await readTrustAnchors(trustFile);
  const result = await verifyDisclosurePackage(dir, {
    ...(publishedKeys === undefined ? {} : { publishedKeys, keysFile }),
    ...(trustAnchorPems === undefined ? {} : { trustAnchorPems, trustFile }),
  });
  if (result.recordings.length === 0) throw new Error(`--package ${dir}: no recording in it (a recording's folder has manifest/manifest.json or SHA256SUMS).`);
  printResult(json, result, () => describePackageVerification(result));
  return result.verified ? EXIT_OK : EXIT_FAILED_RECORDING;
}

/** The certificates of a PEM file (one or more); a file that cannot be read or holds none is a usage error. */
async function readTrustAnchors(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`--trust ${file}: not readable (${(error as Error).message}).`, { cause: error });
  }
  try {
    return parseTrustAnchors(text, `--trust ${file}`).map((anchor) => anchor.pem);
  } catch (error) {
    throw new Error(`${(error as Error).message} Give the CA certificate(s) as PEM.`, { cause: error });
  }
}

async function readJwks(file: string): Promise<JsonWebKeySet> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new Error(`--keys ${file}: not readable as JSON (${(error as Error).message}).`, { cause: error });
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error(`--keys ${file}: not a JWK Set (an object with a "keys" array).`);
  return { keys: keys as JsonWebKeySet["keys"] };
}
