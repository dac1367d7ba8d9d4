/**
 * `npm run chaos` — the standing fault suite: runs every scenario (or those named) on its own
 * breakable embedded stack, prints the table, and writes it into docs/reliability.md.
 *
 *   node dist/chaos/run.js [--scenario NAME]... [--list] [--seed N] [--no-docs] [--json]
 *
 * Exits 0 when everything held, 1 when a scenario did not hold, 2 on a usage or harness error.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { projectFile } from "../local/project-files";
import { generateClip } from "./harness";
import { passed, type ScenarioOutcome } from "./outcome";
import { markdownTable, writeTable } from "./report";
import { fullSuite } from "./scenarios";

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      scenario: { type: "string", multiple: true },
      list: { type: "boolean" },
      seed: { type: "string" },
      "no-docs": { type: "boolean" },
      json: { type: "boolean" },
      keep: { type: "boolean" },
    },
  });
  const suite = fullSuite();
  if (values.list) {
    for (const scenario of suite) process.stdout.write(`${scenario.name}\n  ${scenario.summary}\n  must hold: ${scenario.mustHold}\n`);
    return 0;
  }
  const wanted = values.scenario ?? [];
  const unknown = wanted.filter((name) => !suite.some((s) => s.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(", ")}; --list shows them\n`);
    return 2;
  }
  const selected = wanted.length === 0 ? suite : suite.filter((s) => wanted.includes(s.name));
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isSafeInteger(seed)) {
    process.stderr.write(`--seed must be an integer\n`);
    return 2;
  }
  const workDir = mkdtempSync(path.join(os.tmpdir(), "custody-chaos-"));
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  log(`work folder ${workDir}, seed ${seed}`);
  const clip = await generateClip(workDir);
  const outcomes: ScenarioOutcome[] = [];
  try {
    for (const scenario of selected) {
      log(`${scenario.name}: ${scenario.summary}`);
      const started = Date.now();
      const outcome = await scenario.run({ workDir, clip, seed, log }).catch((error: unknown) => harnessFailure(scenario.name, error));
      outcomes.push(outcome);
      log(`${scenario.name}: ${passed(outcome) ? "held" : "did NOT hold"} (${Math.round((Date.now() - started) / 1000)} s)`);
      process.stdout.write(`${markdownTable([outcome]).split("\n").slice(2).join("\n")}\n`);
    }
  } finally {
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
  }
  if (values.json) process.stdout.write(`${JSON.stringify(outcomes)}\n`);
  else process.stdout.write(`\n${markdownTable(outcomes)}\n`);
  if (!values["no-docs"]) {
    const meta = `Last updated ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${os.cpus().length} cores (Node ${process.version}); each row is the latest run of its scenario.`;
    writeTable(
      projectFile("docs", "reliability.md"),
      outcomes,
      meta,
      suite.map((s) => s.name),
    );
  }
  return outcomes.every(passed) ? 0 : 1;
}

/** A scenario the harness could not run to the end still gets its row, saying why. */
function harnessFailure(scenario: string, error: unknown): ScenarioOutcome {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${scenario}: harness error: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
  return {
    scenario,
    uploads: 0,
    ready: 0,
    failed: 0,
    rejected: 0,
    failedTransient: 0,
    duplicateRecords: 0,
    duplicateEvents: 0,
    stuck: 0,
    eventFingerprintMismatches: 0,
    deadLettered: 0,
    since: "start",
    checks: [{ what: "ran to the end", held: false, detail: `harness error: ${message.slice(0, 300)}` }],
    notes: [],
  };
}

// Ctrl-C: exit through process 'exit', where the host processes are killed (chaos/host-process.ts).
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
