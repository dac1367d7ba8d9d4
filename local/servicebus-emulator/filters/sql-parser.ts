/**
 * Turns SQL filter / action text into the tree of sql-ast.ts, using the parser peggy generated
 * ahead of time from sql.peggy (sql-parser.generated.ts; scripts/generate-sql-parser.js).
 * Every syntax problem comes out as a FilterError naming the position and what was expected.
 */

import type * as peggy from "peggy";
import type { ActionStatement, PredicateNode } from "./sql-ast";
import { type SqlTextKind, sqlTextError } from "./filter-error";
import * as generated from "./sql-parser.generated";

/**
 * The generated module is untyped JavaScript (its file is not type-checked) with the shape of a
 * peggy parser; peggy's own types describe it — the one cast at the generated-code boundary.
 */
const parser = generated as unknown as Pick<peggy.Parser, "parse" | "SyntaxError">;

export function parseSqlFilter(expression: string): PredicateNode {
  return parse(expression, "filter") as PredicateNode;
}

export function parseSqlAction(expression: string): ActionStatement[] {
  return parse(expression, "action") as ActionStatement[];
}

function parse(text: string, kind: SqlTextKind): unknown {
  try {
    return parser.parse(text, { startRule: kind === "filter" ? "Filter" : "Action" }) as unknown;
  } catch (error) {
    if (error instanceof parser.SyntaxError) {
      const { line, column } = error.location.start;
      throw sqlTextError(kind, describeSyntaxError(error), { line, column });
    }
    throw error;
  }
}

/**
 * peggy's own wording ("Expected X or Y but Z found."), lower-cased to follow our prefix, with
 * whitespace left out of the alternatives: "expected whitespace" never helps anyone.
 * Errors raised by the grammar's error() calls carry no expectations and keep their message.
 */
function describeSyntaxError(error: peggy.parser.SyntaxError): string {
  if (error.expected === null) return error.message;
  const expected = error.expected.filter((e) => !(e.type === "other" && e.description === "whitespace"));
  // The typings say `found: string`, but the runtime takes null for "end of input" (and that is
  // what the error itself carries at the end of the text).
  const message = parser.SyntaxError.buildMessage(expected, error.found as string);
  return message.charAt(0).toLowerCase() + message.slice(1).replace(/\.$/, "");
}
