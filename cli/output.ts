/**
 * Everything the CLI prints goes through here. Its output carries text from outside — blob
 * names, message ids, dead-letter descriptions, event fields — that can hold terminal escape
 * sequences or bidi controls; shared/text/printable.ts escapes them (`\u{1B}`, `\u{202E}`) so an
 * operator's terminal shows what is there instead of acting on it. The commands escape each
 * outside value where they put it into a line (`printable(name)`), so a line break inside a
 * value cannot forge a row either; here every text line is escaped once more as a safety net
 * (escaping is idempotent; the CLI's own line breaks stay). JSON output stays valid JSON, with
 * those characters as `\uXXXX` escapes that read back as the same strings.
 */
import { printable, printableJson } from "../shared/text/printable";

/** A command's result: `value` as JSON with `--json`, else the text `text()` renders. */
export function printResult(json: boolean | undefined, value: unknown, text: () => string): void {
  if (json) process.stdout.write(`${printableJson(value, 2)}\n`);
  else writeLine(text());
}

/** One JSON document on one line (streams of results, e.g. `custody subscribe --json`). */
export function writeJsonLine(value: unknown): void {
  process.stdout.write(`${printableJson(value)}\n`);
}

/** Text (one or more lines) to stdout, followed by a line break. */
export function writeLine(text: string): void {
  process.stdout.write(`${printableLines(text)}\n`);
}

/** Text (one or more lines) to stderr, followed by a line break. */
export function writeErrorLine(text: string): void {
  process.stderr.write(`${printableLines(text)}\n`);
}

function printableLines(text: string): string {
  return text.split("\n").map(printable).join("\n");
}
