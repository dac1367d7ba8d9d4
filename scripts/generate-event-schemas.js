#!/usr/bin/env node
/**
 * Generates the TypeScript form of the published evidence event schemas, ahead of time:
 * docs/events/evidence-{ready,failed,updated,disposed}.v1.schema.json → shared/contracts/evidence-event-schemas.generated.ts
 * (committed). The published JSON files stay the contract downstream teams read; the generated
 * module holds them as `as const` objects, closed (`additionalProperties: false` on every object
 * that names its properties), so that shared/contracts/evidence-events.ts derives the event types
 * from them and checks Custody's own events against exactly what is published, nothing more.
 * `--check` exits 1 when the committed module is not what the schemas give; the contract
 * documents test checks the same.
 *
 * The other way round for the commands Custody receives: the code's schema is the contract (the
 * index accepts exactly what it admits), and the published file is written from it —
 * RETENTION_COMMAND_SCHEMA (shared/contracts/messages.ts) → docs/events/retention-command.v1.schema.json,
 * the same schema with descriptions for the teams that send commands. The contract documents
 * test compares the file with what the constant gives.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.join(__dirname, "..");
const SCHEMAS = [
  { name: "EVIDENCE_READY_DATA_SCHEMA", file: path.join(ROOT, "docs", "events", "evidence-ready.v1.schema.json") },
  { name: "EVIDENCE_FAILED_DATA_SCHEMA", file: path.join(ROOT, "docs", "events", "evidence-failed.v1.schema.json") },
  { name: "EVIDENCE_UPDATED_DATA_SCHEMA", file: path.join(ROOT, "docs", "events", "evidence-updated.v1.schema.json") },
  { name: "EVIDENCE_DISPOSED_DATA_SCHEMA", file: path.join(ROOT, "docs", "events", "evidence-disposed.v1.schema.json") },
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

const RETENTION_COMMAND_SCHEMA_FILE = path.join(ROOT, "docs", "events", "retention-command.v1.schema.json");

/** What a sender reads beside each part of the retention command schema (the code's comments, for people who do not read the code). */
const RETENTION_COMMAND_DESCRIPTIONS = {
  "": [
    "A retention command: a change to one recording's retention, sent to Custody's Service Bus queue `retention-commands` by a case-management system (or by an operator's `custody retention set` / `custody hold` / `custody release`).",
    "The body is this JSON document (UTF-8, content type `application/json`); set the Service Bus message id to `<evidenceId>:retention:<commandId>`.",
    "The same commandId for the same recording is applied once however often it is delivered. A command Custody refuses — a body this schema does not admit (properties it does not name included), an unknown recording or category, a release for a case with no hold, a requestedAt in the future — is dead-lettered with the reason.",
    "Additive changes (a new optional property) keep this version; anything else is a new version, accepted beside this one for a deprecation window.",
  ].join(" "),
  schemaVersion: "1.",
  kind: "Always `retention-command`.",
  commandId:
    "The sender's idempotency key: one per decision (a UUID, or the case system's own id of the decision), the same on every re-send of that decision. Letters, digits and `._:-`, at most 128. Applied once per recording: sending it again, even with other fields, changes nothing.",
  evidenceId: "The recording: Custody's evidence id (`ev-` and 32 lower-case hex digits), as the evidence events carry it. Unknown to Custody: refused.",
  action:
    "`categorise`: put the recording in `category`. `hold`: place a legal hold for `caseReference` (one per case; while any hold remains the recording is never deleted). `release`: lift that case's hold (refused when the case holds nothing).",
  category:
    "Required for `categorise`: a category of Custody's retention schedule (retention/schedule.json: `non-evidential`, `evidential`, `evidential-serious`). Unknown: refused. A category never shortens retention: the later end is kept.",
  caseReference: "Required for `hold` and `release`: the case the hold is for. 1 to 128 characters, no control characters.",
  reason: "Why, in words a records officer will read in the recording's history and custody log. 1 to 2,000 characters.",
  requestedBy: "Who decided, as the sender knows them (a person or the system's name). Recorded as given.",
  requestedAt: "When the decision was made, ISO 8601 with offset (e.g. `2026-12-03T10:15:00Z`). More than 5 minutes ahead of Custody's clock: refused.",
  source: "`system` for a downstream system (the default when absent), `operator` for Custody's CLI.",
};

/**
 * The published form of a command schema: the code's schema as it is, with a description at the
 * top and on each property. A description for a property the schema does not have is an error:
 * the code changed and the descriptions did not follow.
 */
function publishedCommandSchemaSource(schema, descriptions = RETENTION_COMMAND_DESCRIPTIONS) {
  const { [""]: top, ...byProperty } = descriptions;
  const unknown = Object.keys(byProperty).filter((name) => !(name in schema.properties));
  if (unknown.length > 0) throw new Error(`descriptions of properties the schema does not have: ${unknown.join(", ")}`);
  const properties = Object.fromEntries(Object.entries(schema.properties).map(([name, sub]) => [name, byProperty[name] === undefined ? sub : { description: byProperty[name], ...sub }]));
  const { $schema, $id, title, ...rest } = schema;
  return `${JSON.stringify({ $schema, $id, title, description: top, ...rest, properties }, null, 2)}\n`;
}

/**
 * RETENTION_COMMAND_SCHEMA, read from the TypeScript source: transpiled on require (types
 * dropped, nothing checked — `tsc` does that), so the file follows the code without a build.
 */
function sourceRetentionCommandSchema() {
  const ts = require("typescript");
  require.extensions[".ts"] ??= (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    module._compile(outputText, filename);
  };
  return require(path.join(ROOT, "shared", "contracts", "messages.ts")).RETENTION_COMMAND_SCHEMA;
}

module.exports = { generatedModuleSource, MODULE_FILE, publishedCommandSchemaSource, RETENTION_COMMAND_SCHEMA_FILE };

if (require.main === module) {
  const outputs = [
    { file: MODULE_FILE, source: generatedModuleSource(), from: "docs/events" },
    { file: RETENTION_COMMAND_SCHEMA_FILE, source: publishedCommandSchemaSource(sourceRetentionCommandSchema()), from: "RETENTION_COMMAND_SCHEMA" },
  ];
  for (const { file, source, from } of outputs) {
    if (process.argv.includes("--check")) {
      const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      if (current !== source) {
        process.stderr.write(`${path.relative(process.cwd(), file)} is not what ${from} gives: run node scripts/generate-event-schemas.js\n`);
        process.exitCode = 1;
      }
    } else {
      fs.writeFileSync(file, source);
    }
  }
}
