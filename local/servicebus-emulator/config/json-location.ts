/**
 * Where a JSON syntax error is, as a line and column for the message. V8's JSON.parse messages
 * only sometimes carry a position ("Unexpected token '}', ... is not valid JSON" does not), so on
 * failure the text is scanned again by jsonc-parser in strict mode (no comments, no trailing
 * commas, no empty document), whose first error gives the offset. JSON.parse still decides what
 * the document is; this only says where it went wrong.
 */
import { parse, type ParseError } from "jsonc-parser";

/** The 1-based line and column of the first syntax error in `text`; the end of the text when none is found. */
export function jsonSyntaxErrorPosition(text: string): { line: number; column: number } {
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  // jsonc-parser reports in the order it meets them; none means it accepted what JSON.parse did not: point at the end rather than guess.
  return lineAndColumn(text, errors[0]?.offset ?? text.length);
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return { line, column };
}
