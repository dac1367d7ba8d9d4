#!/usr/bin/env node
/**
 * Generates the Service Bus emulator's SQL filter parser from its grammar, ahead of time:
 * local/servicebus-emulator/filters/sql.peggy → sql-parser.generated.ts (committed), so the
 * running emulator never compiles a grammar and peggy is a build-time tool only.
 * `--check` exits 1 when the committed parser is not what the grammar gives; the filters test
 * checks the same.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const FILTERS = path.join(__dirname, "..", "local", "servicebus-emulator", "filters");
const GRAMMAR_FILE = path.join(FILTERS, "sql.peggy");
const PARSER_FILE = path.join(FILTERS, "sql-parser.generated.ts");
const START_RULES = ["Filter", "Action"];

const HEADER = [
  "// @ts-nocheck -- generated JavaScript: sql-parser.ts gives it its types.",
  "// Generated from sql.peggy by scripts/generate-sql-parser.js; do not edit (edit the grammar and run the script).",
  "",
].join("\n");

/** The parser source the grammar gives now. */
function generatedParserSource() {
  const peggy = require("peggy");
  const grammar = fs.readFileSync(GRAMMAR_FILE, "utf8");
  return HEADER + peggy.generate(grammar, { output: "source", format: "es", allowedStartRules: START_RULES, grammarSource: "sql.peggy" });
}

module.exports = { generatedParserSource, PARSER_FILE, GRAMMAR_FILE };

if (require.main === module) {
  const source = generatedParserSource();
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(PARSER_FILE) ? fs.readFileSync(PARSER_FILE, "utf8") : "";
    if (current !== source) {
      process.stderr.write(`${path.relative(process.cwd(), PARSER_FILE)} is not what sql.peggy gives: run node scripts/generate-sql-parser.js\n`);
      process.exitCode = 1;
    }
  } else {
    fs.writeFileSync(PARSER_FILE, source);
  }
}
