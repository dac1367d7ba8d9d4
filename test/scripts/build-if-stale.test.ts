/**
 * When the e2e tests rebuild dist/ before running the CLI as a process (scripts/build-if-stale.js):
 * a source newer than its compiled file, or one never compiled; not tests, declarations, or
 * JSON the build does not copy.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const { staleSource } = require("../../scripts/build-if-stale") as { staleSource: (root: string) => string | undefined };

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "custody-build-if-stale-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const EARLIER = new Date("2026-12-01T10:00:00Z");
const LATER = new Date("2026-12-01T10:05:00Z");

function file(relative: string, at: Date): void {
  mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
  writeFileSync(path.join(root, relative), "//");
  utimesSync(path.join(root, relative), at, at);
}

test("nothing is stale right after a build", () => {
  file("cli/commands/dlq.ts", EARLIER);
  file("dist/cli/commands/dlq.js", LATER);
  file("topology/servicebus.json", EARLIER);
  file("dist/topology/servicebus.json", LATER);
  expect(staleSource(root)).toBeUndefined();
});

test("an edited CLI source, or one never compiled, is stale", () => {
  file("cli/commands/dlq.ts", LATER);
  file("dist/cli/commands/dlq.js", EARLIER);
  expect(staleSource(root)).toBe(path.join("cli", "commands", "dlq.ts"));
  utimesSync(path.join(root, "dist/cli/commands/dlq.js"), LATER, LATER);
  file("shared/new-module.ts", EARLIER);
  expect(staleSource(root)).toBe(path.join("shared", "new-module.ts"));
});

test("an edited topology the build copies is stale; tests and declarations are not compiled, so never stale", () => {
  file("topology/servicebus.json", LATER);
  file("dist/topology/servicebus.json", EARLIER);
  expect(staleSource(root)).toBe(path.join("topology", "servicebus.json"));
  rmSync(path.join(root, "dist", "topology"), { recursive: true });
  file("shared/thing.test.ts", LATER);
  file("shared/types.d.ts", LATER);
  expect(staleSource(root)).toBeUndefined();
});
