/** SHA256SUMS in the format `sha256sum` writes and `sha256sum -c` reads: `<hex>  <path>`, one file a line. */

export interface SumsEntry {
  sha256: string;
  path: string;
}

export function formatSums(entries: readonly SumsEntry[]): string {
  return [...entries]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((entry) => `${entry.sha256}  ${entry.path}\n`)
    .join("");
}

/** The entries, and the 1-based numbers of lines that are not `<hex>  <path>` (text or binary mode). */
export function parseSums(text: string): { entries: SumsEntry[]; malformedLines: number[] } {
  const entries: SumsEntry[] = [];
  const malformedLines: number[] = [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (const [index, line] of lines.entries()) {
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (match === null) malformedLines.push(index + 1);
    else entries.push({ sha256: match[1].toLowerCase(), path: match[2] });
  }
  return { entries, malformedLines };
}
