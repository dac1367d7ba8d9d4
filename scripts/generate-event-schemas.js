#!/usr/bin/env node
/**
 * Generates the TypeScript form of the published evidence event schemas, ahead of time:
 * docs/events/evidence-{ready,failed,updated}.v1.schema.json → shared/contracts/evidence-event-schemas.generated.ts
 * (committed). The published JSON files stay the contract downstream teams read; the generated
 * module holds them as `as const` objects, closed (`additionalProperties: false` on every object
 * that names its properties), so that shared/contracts/evidence-events.ts derives the event types
 * from them and checks Custody's own events against exactly what is published, nothing more.
 * `--check` exits 1 when the committed module is not what the schemas give; the contract
 * documents test checks the same.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.join(__dirname, "..");
const SCHEMAS = [
  { name: "EVIDENCE_READY_DATA_SCHEMA", file: path.join(ROOT, "docs", "events", "evidence-ready.v1.schema.json") },
  { name: "EVIDENCE_FAILED_DATA_SCHEMA", file: path.join(ROOT, "docs", "events", "evidence-failed.v1.schema.json") },
  { name: "EVIDENCE_UPDATED_DATA_SCHEMA", file: path.join(ROOT, "docs", "events", "evidence-updated.v1.schema.json") },
];
const MODULE_FILE = path.join(ROOT, "shared", "contracts", "evidence-event-schemas.generated.ts");

const HEADER = [
  "// Generated from docs/events/*.v1.schema.json by scripts/generate-event-schemas.js; do not edit (edit the schemas and run the script).",
  "// The published schemas, closed: no property they do not name (what Custody produces).",
  "",
].join("\n");

/**
 * A published schema admits properties it does not name (additive changes keep the version);
 * Custody's own events must not carry any, so the producer's form adds `additionalProperties:
 * false` wherever an object lists its `properties`.
 */
function closed(schema) {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === "properties" ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, closed(sub)])) : closed(value);
  }
  if ("properties" in out && !("additionalProperties" in out)) out.additionalProperties = false;
  return out;
}

/**
 * The module source the published schemas give now. The schemas define several parts alike
 * (`$defs`: original, capture, …); a part two or more define identically is written once, as a
 * constant they share.
 */
function generatedModuleSource() {
  const schemas = SCHEMAS.map(({ name, file }) => ({ name, file, schema: closed(JSON.parse(fs.readFileSync(file, "utf8"))) }));
  const uses = new Map();
  for (const { schema } of schemas) {
    for (const [key, def] of Object.entries(schema.$defs ?? {})) {
      const id = `${key}\u0000${JSON.stringify(def)}`;
      uses.set(id, { key, def, count: (uses.get(id)?.count ?? 0) + 1 });
    }
  }
  const shared = new Map();
  const parts = [];
  for (const [id, { key, def, count }] of uses) {
    if (count < 2) continue;
    // One name per part; a part defined two different ways by several schemas each gets a numbered name.
    const base = `${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_DEF`;
    let name = base;
    for (let n = 2; [...shared.values()].includes(name); n++) name = `${base}_${n}`;
    shared.set(id, name);
    parts.push(`const ${name} = ${JSON.stringify(def, null, 2)} as const;\n`);
  }
  for (const { name, file, schema } of schemas) {
    const marks = new Map();
    const defs = Object.fromEntries(
      Object.entries(schema.$defs ?? {}).map(([key, def]) => {
        const constant = shared.get(`${key}\u0000${JSON.stringify(def)}`);
        if (constant === undefined) return [key, def];
        const mark = `\u0000${constant}`;
        marks.set(JSON.stringify(mark), constant);
        return [key, mark];
      }),
    );
    let source = JSON.stringify(schema.$defs === undefined ? schema : { ...schema, $defs: defs }, null, 2);
    for (const [quoted, constant] of marks) source = source.replace(quoted, constant);
    parts.push(`/** ${path.relative(ROOT, file)}, closed. */\nexport const ${name} = ${source} as const;\n`);
  }
  return HEADER + parts.join("\n");
}

module.exports = { generatedModuleSource, MODULE_FILE };

if (require.main === module) {
  const source = generatedModuleSource();
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(MODULE_FILE) ? fs.readFileSync(MODULE_FILE, "utf8") : "";
    if (current !== source) {
      process.stderr.write(`${path.relative(process.cwd(), MODULE_FILE)} is not what docs/events gives: run node scripts/generate-event-schemas.js\n`);
      process.exitCode = 1;
    }
  } else {
    fs.writeFileSync(MODULE_FILE, source);
  }
}
