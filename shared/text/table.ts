/**
 * Plain-text tables for terminals: columns padded to their widest cell, the first column
 * left-aligned and the others right-aligned (names, then figures), two spaces apart. Used by
 * the CLI (`custody dlq list`) and the benchmarks. Cells are printed as given: escape text
 * from outside (shared/text/printable.ts) before it goes in.
 */

export interface TextTableOptions {
  /** A line of dashes under the header. */
  rule?: boolean;
}

export function textTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, options: TextTableOptions = {}): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (values: readonly string[]): string => widths.map((width, i) => (i === 0 ? (values[i] ?? "").padEnd(width) : (values[i] ?? "").padStart(width))).join("  ");
  const lines = [line(header)];
  if (options.rule) lines.push(widths.map((width) => "-".repeat(width)).join("  "));
  for (const row of rows) lines.push(line(row));
  return lines.join("\n");
}
