/**
 * The custody ledger's hash chain (shared/evidence/ledger-chain.ts): lines chained by `seq` and
 * `prev`, and the verifier that finds a removed, reordered or edited entry — and a head, recorded
 * elsewhere, that the ledger no longer holds — naming the line.
 */
import { GENESIS_DIGEST, chainLines, lineDigest, verifyLedgerChain, type LedgerHead } from "../../shared/evidence/ledger-chain";

const entry = (n: number) => ({ v: 1, kind: "applied", evidenceId: "ev-" + "a".repeat(32), recordedAt: `2026-12-05T10:00:0${n}.000Z`, recordedBy: "custody/index@test", messageId: `m${n}` });

function ledger(count: number): { lines: string[]; head: LedgerHead } {
  // Appended in three rounds, as the index does, each chained from where the last ended.
  const first = chainLines(undefined, [entry(0)]);
  const second = chainLines(
    first.head,
    Array.from({ length: count - 2 }, (_, i) => entry(i + 1)),
  );
  const third = chainLines(second.head, [entry(count - 1)]);
  return { lines: [...first.lines, ...second.lines, ...third.lines], head: third.head };
}

test("each line names its position and the SHA-256 of the line before it (the first: zeros); the head is the last line's digest and the count", () => {
  const { lines, head } = ledger(5);
  const parsed = lines.map((line) => JSON.parse(line) as { seq: number; prev: string });
  expect(parsed.map((p) => p.seq)).toEqual([0, 1, 2, 3, 4]);
  expect(parsed[0].prev).toBe(GENESIS_DIGEST);
  for (let i = 1; i < lines.length; i++) expect(parsed[i].prev).toBe(lineDigest(lines[i - 1]));
  expect(head).toEqual({ sha256: lineDigest(lines[4]), entries: 5 });
  // What `sha256sum` of the line gives: the digest is over the stored bytes.
  expect(lineDigest(Buffer.from(lines[4], "utf8"))).toBe(head.sha256);
  expect(verifyLedgerChain(lines, head)).toEqual({ head, unchained: 0, problems: [] });
});

test("an entry removed, two swapped, or one edited: the first broken link names the line", () => {
  const { lines, head } = ledger(6);
  const removed = [...lines.slice(0, 2), ...lines.slice(3)];
  expect(verifyLedgerChain(removed, head).problems.map((p) => [p.kind, p.line])).toEqual([
    ["BrokenLink", 3],
    ["WrongPosition", 3],
    ["WrongPosition", 4],
    ["WrongPosition", 5],
    ["HeadBeyondChain", 6],
  ]);
  const swapped = [lines[0], lines[2], lines[1], ...lines.slice(3)];
  expect(
    verifyLedgerChain(swapped)
      .problems.filter((p) => p.kind === "BrokenLink")
      .map((p) => p.line),
  ).toEqual([2, 3, 4]);
  const edited = [...lines];
  edited[3] = edited[3].replace('"recordedBy":"custody/index@test"', '"recordedBy":"someone/else"');
  const found = verifyLedgerChain(edited, head);
  // The edited line's own links still hold; the line after it no longer points at it.
  expect(found.problems.map((p) => [p.kind, p.line])).toEqual([["BrokenLink", 5]]);
  expect(found.problems[0].message).toContain("line 4 has");
});

test("a head recorded elsewhere must be a point of the chain: later lines are fine, a changed or missing one is not", () => {
  const { lines } = ledger(4);
  const atTwo: LedgerHead = { sha256: lineDigest(lines[1]), entries: 2 };
  expect(verifyLedgerChain(lines, atTwo).problems).toEqual([]);
  expect(verifyLedgerChain(lines, { sha256: lineDigest(lines[2]), entries: 2 }).problems.map((p) => p.kind)).toEqual(["HeadNotInChain"]);
  expect(verifyLedgerChain(lines.slice(0, 1), atTwo).problems.map((p) => p.kind)).toEqual(["HeadBeyondChain"]);
});

test("lines written before the chain existed: counted as unchained, and the first chained line links to the last of them", () => {
  const legacy = [JSON.stringify(entry(0)), JSON.stringify(entry(1))];
  const appended = chainLines({ sha256: lineDigest(legacy[1]), entries: 2 }, [entry(2)]);
  const lines = [...legacy, ...appended.lines];
  expect(verifyLedgerChain(lines, appended.head)).toEqual({ head: appended.head, unchained: 2, problems: [] });
  // An unchained line edited: the chained line after it catches it.
  const edited = [legacy[0], legacy[1].replace("m1", "m9"), ...appended.lines];
  expect(verifyLedgerChain(edited).problems.map((p) => [p.kind, p.line])).toEqual([["BrokenLink", 3]]);
});

test("a line that is not JSON is named", () => {
  const { lines } = ledger(3);
  expect(verifyLedgerChain([lines[0], "{not json", lines[2]]).problems.map((p) => [p.kind, p.line])).toEqual([
    ["NotJson", 2],
    ["BrokenLink", 3],
  ]);
});
