/**
 * The custody ledger as a hash chain: each line (one entry, RFC 8785 canonical JSON) carries
 * `seq`, its position, and `prev`, the SHA-256 of the line before it as stored (the first line:
 * 64 zeros). The **head** — the last line's SHA-256 and the number of lines — is on the
 * recording's index record and in its evidence events, so an entry removed, reordered or
 * edited anywhere before the head breaks a link a verifier recomputes from the bytes alone
 * (`sha256sum` of a line is its digest). The chain's order is the blob's order: the writer
 * appends only at the position it read (Append Position condition), so two index instances
 * never chain from the same line. Lines written before the chain existed carry neither field;
 * the first chained line links to the last of them, so they are covered too. Pure: no I/O.
 */
import { createHash } from "node:crypto";
import { jcs } from "../provenance/jcs";

/** `prev` of the first line. */
export const GENESIS_DIGEST = "0".repeat(64);

/** Where a ledger stands: its last line's SHA-256 and how many lines it holds. */
export interface LedgerHead {
  sha256: string;
  entries: number;
}

/** The SHA-256 of a line as stored (UTF-8, without its newline). */
export function lineDigest(line: string | Uint8Array): string {
  return (typeof line === "string" ? createHash("sha256").update(line, "utf8") : createHash("sha256").update(line)).digest("hex");
}

/**
 * The lines that append `entries` after `head` (undefined: an empty ledger), each with its
 * position and the digest of the line before it, and the head after them.
 */
export function chainLines(head: LedgerHead | undefined, entries: readonly object[]): { lines: string[]; head: LedgerHead } {
  let at = head ?? { sha256: GENESIS_DIGEST, entries: 0 };
  const lines: string[] = [];
  for (const entry of entries) {
    const line = jcs({ ...entry, seq: at.entries, prev: at.sha256 });
    lines.push(line);
    at = { sha256: lineDigest(line), entries: at.entries + 1 };
  }
  return { lines, head: at };
}

/** The later of two heads (more lines); either may be absent. A record keeps the later one whatever order writers confirm them in. */
export function laterHead(a: LedgerHead | undefined, b: LedgerHead | undefined): LedgerHead | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.entries > a.entries ? b : a;
}

export type ChainProblemKind = "NotJson" | "BrokenLink" | "WrongPosition" | "HeadNotInChain" | "HeadBeyondChain";

export interface ChainProblem {
  kind: ChainProblemKind;
  /** 1-based line of the ledger blob the problem is found at (the head's line for head problems). */
  line: number;
  message: string;
}

export interface ChainVerification {
  /** The head the lines give (undefined for an empty ledger). */
  head?: LedgerHead;
  /** Lines written before the chain existed (no `prev`), at the start. */
  unchained: number;
  problems: ChainProblem[];
}

/**
 * Checks the links of a ledger's lines and, when given, that `expectedHead` (the index record's,
 * or an event's) is a point of this chain: its line exists and has that digest. Later lines are
 * fine (appended after the head was taken). Every problem names the line, so an examiner can
 * look at the bytes.
 */
export function verifyLedgerChain(lines: readonly string[], expectedHead?: LedgerHead): ChainVerification {
  const problems: ChainProblem[] = [];
  const digests = lines.map(lineDigest);
  let unchained = 0;
  let chained = false;
  for (const [index, line] of lines.entries()) {
    let entry: { seq?: unknown; prev?: unknown };
    try {
      entry = JSON.parse(line) as { seq?: unknown; prev?: unknown };
    } catch {
      problems.push({ kind: "NotJson", line: index + 1, message: `line ${index + 1} is not JSON: the ledger's bytes were changed` });
      continue;
    }
    if (entry.prev === undefined && !chained) {
      unchained++;
      continue;
    }
    chained = true;
    const expected = index === 0 ? GENESIS_DIGEST : digests[index - 1];
    if (entry.prev !== expected) {
      problems.push({
        kind: "BrokenLink",
        line: index + 1,
        message: `line ${index + 1} says the line before it has SHA-256 ${String(entry.prev)}, but ${index === 0 ? "it is the first line (expected the genesis digest)" : `line ${index} has ${expected}`}: an entry before it was removed, reordered or edited, or this one was`,
      });
    }
    if (entry.seq !== index) {
      problems.push({ kind: "WrongPosition", line: index + 1, message: `line ${index + 1} says it is entry ${String(entry.seq)}, but it is entry ${index}: entries were removed or reordered` });
    }
  }
  const head = lines.length === 0 ? undefined : { sha256: digests[lines.length - 1], entries: lines.length };
  if (expectedHead !== undefined) {
    const at = expectedHead.entries;
    if (at > lines.length) {
      problems.push({
        kind: "HeadBeyondChain",
        line: at,
        message: `the head recorded elsewhere names entry ${at} (SHA-256 ${expectedHead.sha256}), but the ledger holds only ${lines.length}: entries were removed from its end`,
      });
    } else if (at < 1 || digests[at - 1] !== expectedHead.sha256) {
      problems.push({
        kind: "HeadNotInChain",
        line: at,
        message: `the head recorded elsewhere is entry ${at} with SHA-256 ${expectedHead.sha256}, but line ${at} of the ledger has ${at >= 1 ? digests[at - 1] : "no digest"}: the ledger was changed at or before that line`,
      });
    }
  }
  return { ...(head === undefined ? {} : { head }), unchained, problems };
}
