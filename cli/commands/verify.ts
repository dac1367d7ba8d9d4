/**
 * `custody verify [EVIDENCE_ID…] [--all] [--since T] [--json] [--record]` — is the original
 * intact? Re-hashes each original's current bytes (streamed) and compares them with the hash
 * recorded at ingest — the custody ledger's, which an altered or lost index cannot change —
 * naming the segments (byte ranges) that differ — and checks the custody ledger's hash chain
 * (every line linked to the one before it, the index record's head a point of it), naming the
 * line where it breaks. Exit code 0 when every recording checked is intact, 1 when any original
 * is modified or missing, an index record's fingerprint is not the ledger's or a ledger's chain
 * is broken, 2 otherwise (a
 * usage error, an id the index does not hold, a recording with nothing to verify against, or
 * storage that could not be reached).
 *
 * `custody verify --package DIR [--keys FILE] [--trust FILE]` checks a disclosure package
 * instead, offline (cli/commands/verify-package.ts): no stack, no Azure, the same exit codes.
 */
import { hostname, userInfo } from "node:os";
import type { Command } from "commander";
import { progressBar } from "../progress";
import { describeFixity } from "../../shared/evidence/fixity";
import { verifyLedgerChain, type ChainProblem, type LedgerHead } from "../../shared/evidence/ledger-chain";
import type { EvidenceRecord } from "../../shared/evidence/record";
import type { CustodyLedger } from "../../shared/ports/custody-ledger";
import { EVIDENCE_ID_PATTERN } from "../../shared/evidence/evidence-id";
import { isCustodyError } from "../../shared/errors";
import { publishFixityResult, verifyEvidence, type FixityReport, type VerifyOriginalDeps } from "../../shared/stages/fixity-stage";
import { ENTITIES } from "../../shared/topology";
import { EXIT_FAILED_RECORDING, EXIT_OK, EXIT_USAGE_OR_INFRASTRUCTURE } from "../exit-codes";
import { integerInRange, isoTime, targetCommand } from "../options";
import { resolveStackTarget, type StackTarget } from "../stack-target";
import { printResult, writeErrorLine } from "../output";
import { printable } from "../../shared/text/printable";
import { verifyPackageCommand } from "./verify-package";

interface VerifyOptions {
  all?: boolean;
  since?: string;
  json?: boolean;
  record?: boolean;
  concurrency: string;
  dataDir: string;
  package?: string;
  keys?: string;
  trust?: string;
}

/** The custody ledger's chain, as verify found it (shared/evidence/ledger-chain.ts). */
export interface LedgerChainCheck {
  status: "intact" | "broken" | "empty";
  head?: LedgerHead;
  /** The index record's head, when it has one (checked to be a point of the chain). */
  indexHead?: LedgerHead;
  /** Lines written before the chain existed. */
  unchained: number;
  problems: ChainProblem[];
}

/** One line of output: a report, or why there is none; with the ledger chain's check when the ledger could be read. */
export type VerifyResult = ((FixityReport & { recorded?: boolean }) | { evidenceId: string; status: "not-found" | "error"; reason: string; differingSegments: [] }) & {
  ledgerChain?: LedgerChainCheck;
};

export function registerVerifyCommand(program: Command): void {
  targetCommand(program, "verify [evidenceIds...]", "Re-hash originals and compare them with the hash recorded at ingest; name the byte ranges that differ.", "print a JSON array of results")
    .option("--all", "every recording in the index (with --since: created at or after T)")
    .option("--since <iso>", "with --all: only recordings indexed at or after this time")
    .option("--record", "also record each result on the recording (custody log entry, integrity finding) through the index function")
    .option("--concurrency <n>", "originals read at once", "4")
    .option("--package <dir>", "check a disclosure package (custody export) offline instead: no stack, no Azure")
    .option("--keys <file>", "with --package: the deployment's published keys (JWKS) to check signatures with; else the package's own")
    .option("--trust <file>", "with --package: the deployment's Content Credentials CA certificate(s) (PEM) the images must chain to; else the package's own")
    .action(async (evidenceIds: string[], options: VerifyOptions) => {
      if (options.package !== undefined) {
        if (evidenceIds.length > 0 || options.all || options.record) throw new Error("--package checks the package's files only: give no evidence ids, --all or --record with it.");
        process.exitCode = await verifyPackageCommand(options.package, { keysFile: options.keys, trustFile: options.trust, json: options.json });
        return;
      }
      if (options.keys !== undefined) throw new Error("--keys is for checking a disclosure package: use it with --package.");
      if (options.trust !== undefined) throw new Error("--trust is for checking a disclosure package: use it with --package.");
      if (options.all && evidenceIds.length > 0) throw new Error("give evidence ids or --all, not both.");
      if (!options.all && evidenceIds.length === 0) throw new Error("name the recordings to verify (evidence ids), or --all.");
      if (options.since && !options.all) throw new Error("--since selects recordings for --all; it needs --all.");
      if (options.since) isoTime(options.since, "--since");
      const concurrency = integerInRange(options.concurrency, "--concurrency", 1, 64);
      const malformed = evidenceIds.filter((id) => !EVIDENCE_ID_PATTERN.test(id));
      if (malformed.length > 0) throw new Error(`not an evidence id: ${malformed.join(", ")} (expected ev- and 32 hex digits).`);

      const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
      let results: VerifyResult[];
      try {
        results = await verifyAll(target, evidenceIds, options, concurrency);
      } finally {
        await target.close();
      }
      if (options.json || results.length > 0) printResult(options.json, results, () => results.map(describeResult).join("\n"));
      if (!options.json) writeErrorLine(summarise(results));
      process.exitCode = exitCodeFor(results);
    });
}

/** 1 when any original is modified or missing, or an index record's fingerprint is not the ledger's; else 2 when any could not be verified; else 0. */
export function exitCodeFor(results: readonly VerifyResult[]): number {
  if (results.some((r) => r.status === "modified" || r.status === "missing" || ("indexFingerprint" in r && r.indexFingerprint !== undefined) || r.ledgerChain?.status === "broken"))
    return EXIT_FAILED_RECORDING;
  if (results.some((r) => r.status !== "intact")) return EXIT_USAGE_OR_INFRASTRUCTURE;
  return EXIT_OK;
}

async function verifyAll(target: StackTarget, evidenceIds: string[], options: VerifyOptions, concurrency: number): Promise<VerifyResult[]> {
  const { index, blobs, publisher, ledger } = target.services;
  // Compared with the fingerprint the custody ledger recorded at ingest, whatever the index says.
  const deps: VerifyOriginalDeps = { blobs, ledger: { ledger, requiredStages: target.settings.requiredStages } };
  // Named recordings are read one by one; --all streams the listing and keeps only what it needs per record.
  const selected: Array<EvidenceRecord | { evidenceId: string; missing: true }> = [];
  if (options.all) {
    for await (const record of index.list({ since: options.since ? new Date(options.since).toISOString() : undefined })) selected.push(record);
    selected.sort((a, b) => (a.evidenceId < b.evidenceId ? -1 : 1));
  } else {
    for (const evidenceId of evidenceIds) selected.push((await index.read(evidenceId))?.record ?? { evidenceId, missing: true });
  }
  const actor = `custody-cli/${safeUser()}@${hostname()}`;
  const bar = progressBar(!options.json && selected.length > 1, "verifying [{bar}] {value}/{total} recordings", selected.length);
  const results = new Array<VerifyResult>(selected.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < selected.length; i = next++) {
      const item = selected[i];
      const record = "missing" in item ? undefined : item;
      const result = await verifyOne(
        item.evidenceId,
        record,
        deps,
        options.record && record !== undefined ? (report) => publishFixityResult(publisher, ENTITIES.stageResults.queueName, report, actor) : undefined,
      );
      results[i] = { ...result, ...(await checkChain(ledger, item.evidenceId, record?.custodyLogHead)) };
      bar.increment();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, selected.length)) }, worker));
  } finally {
    bar.stop();
  }
  return results;
}

/** The ledger's chain, and the index record's head on it; nothing when the ledger cannot be read (the fingerprint check says why). */
async function checkChain(ledger: CustodyLedger, evidenceId: string, indexHead: LedgerHead | undefined): Promise<{ ledgerChain?: LedgerChainCheck }> {
  let lines: string[];
  try {
    lines = await ledger.lines(evidenceId);
  } catch {
    return {};
  }
  const checked = verifyLedgerChain(lines, indexHead);
  const status = lines.length === 0 ? "empty" : checked.problems.length > 0 ? "broken" : "intact";
  return {
    ledgerChain: { status, ...(checked.head === undefined ? {} : { head: checked.head }), ...(indexHead === undefined ? {} : { indexHead }), unchained: checked.unchained, problems: checked.problems },
  };
}

/** One recording, by the index record or — when the index lost it — by the ledger alone (then nothing is recorded: the index has no record to record it on). */
async function verifyOne(evidenceId: string, record: EvidenceRecord | undefined, deps: VerifyOriginalDeps, record_: ((report: FixityReport) => Promise<unknown>) | undefined): Promise<VerifyResult> {
  let report: FixityReport;
  try {
    const verified = await verifyEvidence(evidenceId, record, deps);
    if (verified === undefined) return { evidenceId, status: "not-found", reason: "neither the index nor the custody ledger knows this recording", differingSegments: [] };
    report = verified;
  } catch (error) {
    const code = isCustodyError(error) ? `${error.code}: ` : "";
    return { evidenceId, status: "error", reason: `${code}${(error as Error).message}`, differingSegments: [] };
  }
  // A record that disagrees with the ledger would refuse the result: say so rather than send it.
  if (record_ === undefined || report.indexFingerprint !== undefined) return report;
  try {
    await record_(report);
    return { ...report, recorded: true };
  } catch (error) {
    // The check stands; only its recording failed. Reported, and the exit code says so.
    return { evidenceId, status: "error", reason: `verified ${report.status.toUpperCase()}, but recording the result failed: ${(error as Error).message}`, differingSegments: [] };
  }
}

function isReport(result: VerifyResult): result is FixityReport & { recorded?: boolean } {
  return result.status !== "not-found" && result.status !== "error";
}

function describeResult(result: VerifyResult): string {
  const head = `${result.status.toUpperCase().padEnd(12)} ${result.evidenceId}`;
  const chain = describeChain(result.ledgerChain);
  if (!isReport(result)) return `${head}  ${printable(result.reason)}${chain}`;
  const where = result.original
    ? `\n${" ".repeat(13)}${printable(result.original.container)}/${printable(result.original.name)}${result.original.versionId ? ` (version ${printable(result.original.versionId)})` : ""}`
    : "";
  return `${head}  ${printable(describeFixity(result))}${where}${chain}`;
}

function describeChain(chain: LedgerChainCheck | undefined): string {
  const indent = `\n${" ".repeat(13)}`;
  if (chain === undefined) return "";
  if (chain.status === "empty") return `${indent}custody ledger: empty`;
  const at = chain.head === undefined ? "" : `${chain.head.entries} entries, head ${chain.head.sha256}`;
  const index = chain.indexHead === undefined ? "" : `; the index's head is entry ${chain.indexHead.entries}`;
  const legacy = chain.unchained > 0 ? `; the first ${chain.unchained} written before the chain` : "";
  if (chain.status === "intact") return `${indent}custody ledger: chain intact, ${at}${index}${legacy}`;
  return `${indent}CUSTODY LEDGER CHAIN BROKEN (${at}): ${chain.problems.map((p) => printable(p.message)).join(`${indent}  `)}`;
}

function summarise(results: readonly VerifyResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const parts = [...counts.entries()].map(([status, count]) => `${count} ${status}`);
  const broken = results.filter((r) => r.ledgerChain?.status === "broken").length;
  if (broken > 0) parts.push(`${broken} custody ledger chain(s) BROKEN`);
  return `custody verify: ${results.length} recording(s)${parts.length > 0 ? `: ${parts.join(", ")}` : ""}`;
}

function safeUser(): string {
  try {
    return userInfo().username || "unknown";
  } catch {
    return "unknown";
  }
}
