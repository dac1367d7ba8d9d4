/**
 * The jest projects (test/projects.js) stay honest: every listed file exists, and a file left in
 * the unit project starts no server, process or media tool — so `npm run test:unit` stays fast.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

// A CommonJS module shared with jest.config.js.
const { INTEGRATION, E2E } = require("../projects") as { INTEGRATION: string[]; E2E: string[] };

const ROOT = path.resolve(__dirname, "..", "..");

function testFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((entry) => {
    const relative = `${dir}/${entry}`;
    if (statSync(path.join(ROOT, relative)).isDirectory()) return testFiles(relative);
    return entry.endsWith(".test.ts") ? [relative] : [];
  });
}

function projectOf(file: string): "integration" | "e2e" | "unit" {
  const listed = (list: string[]): boolean => list.some((entry) => (entry.endsWith("/") ? file.startsWith(entry) : file === entry));
  if (listed(INTEGRATION)) return "integration";
  if (listed(E2E)) return "e2e";
  return "unit";
}

/** What a unit test may not load: the embedded services, the stack, a process, ffmpeg. */
const STARTS_SOMETHING = [
  /from "[./]*\/local\/(stack|azurite|cosmos|dev-host\/[^"]*)"/,
  /from "[./]*\/local\/servicebus-emulator"/,
  /from "\.\.?\/[^"]*harness"/,
  /from "[^"]*run-cli"/,
  /from "[^"]*package-build"/, // npm ci and node processes (test/package/)
  /from "node:(child_process|net|http|https)"/,
  /require\("@ff(mpeg|probe)-installer\//,
  /from "@ff(mpeg|probe)-installer\//,
];

test("every file a project lists exists, and no file is in two projects", () => {
  for (const entry of [...INTEGRATION, ...E2E].filter((e) => !e.endsWith("/"))) expect(existsSync(path.join(ROOT, entry)) ? entry : `missing: ${entry}`).toBe(entry);
  const all = [...INTEGRATION, ...E2E];
  expect(new Set(all).size).toBe(all.length);
});

test("a unit test starts no server, process or media tool", () => {
  const offenders = testFiles("test")
    .filter((file) => projectOf(file) === "unit")
    .flatMap((file) => {
      const source = readFileSync(path.join(ROOT, file), "utf8");
      return STARTS_SOMETHING.filter((pattern) => pattern.test(source)).map((pattern) => `${file} matches ${pattern}`);
    });
  expect(offenders).toEqual([]);
});

test("the classification sees the heavy files as heavy", () => {
  expect(projectOf("test/pipeline/spine.test.ts")).toBe("e2e");
  expect(projectOf("test/cli/process-command.test.ts")).toBe("e2e");
  expect(projectOf("test/stages/hash-stage.test.ts")).toBe("integration");
  expect(projectOf("test/evidence/record-merge.test.ts")).toBe("unit");
  // The rule catches what it is for: every integration file would fail it.
  // A folder entry is one unit: what its files start (a test and the fixture it imports) is read together.
  const sourceOf = (entry: string): string =>
    entry.endsWith("/")
      ? readdirSync(path.join(ROOT, entry))
          .filter((name) => name.endsWith(".ts"))
          .map((name) => readFileSync(path.join(ROOT, entry, name), "utf8"))
          .join("\n")
      : readFileSync(path.join(ROOT, entry), "utf8");
  const caught = INTEGRATION.filter((entry) => STARTS_SOMETHING.some((pattern) => pattern.test(sourceOf(entry))));
  expect(caught).toEqual(INTEGRATION);
});
