/**
 * `custody verify --package DIR [--keys FILE] [--json]`: checks a disclosure package with no
 * stack and no Azure (shared/disclosure/verify-package.ts) and prints the report. Exit code 0
 * when every recording in it verifies, 1 when anything does not match (each finding named), 2
 * when the package or the keys cannot be read.
 */
import { readFile, stat } from "node:fs/promises";
import { describePackageVerification } from "../../shared/disclosure/report";
import { verifyDisclosurePackage } from "../../shared/disclosure/verify-package";
import type { JsonWebKeySet } from "../../shared/provenance/jwks";
import { EXIT_FAILED_RECORDING, EXIT_OK } from "../exit-codes";
import { printResult } from "../output";

export async function verifyPackageCommand(dir: string, keysFile: string | undefined, json: boolean | undefined): Promise<number> {
  const info = await stat(dir).catch(() => undefined);
  if (info?.isDirectory() !== true) throw new Error(`--package ${dir}: no such folder.`);
  const publishedKeys = keysFile === undefined ? undefined : await readJwks(keysFile);
  const result = await verifyDisclosurePackage(dir, { ...(publishedKeys === undefined ? {} : { publishedKeys, keysFile }) });
  if (result.recordings.length === 0) throw new Error(`--package ${dir}: no recording in it (a recording's folder has manifest/manifest.json or SHA256SUMS).`);
  printResult(json, result, () => describePackageVerification(result));
  return result.verified ? EXIT_OK : EXIT_FAILED_RECORDING;
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
