/**
 * The `custody` CLI runs with what package.json declares: laid out in a folder of its own with
 * only the production dependencies — the packages package-lock.json does not mark `dev`, i.e.
 * what `npm ci --omit=dev` installs — it starts, and `custody start` brings up the whole
 * embedded stack (Azurite, the Cosmos stand-in, the Service Bus emulator, the functions) and
 * stops on SIGINT. The packages are hard-linked from this checkout's node_modules rather than
 * installed again: the same files, in seconds instead of a minute and a half.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { waitFor } from "../support/polling";
import { removeInBackground, REPO_ROOT } from "./package-build";

jest.setTimeout(120_000);

interface LockFile {
  packages: Record<string, { version?: string; dev?: boolean; link?: boolean }>;
}

let work: string;
let cliDir: string;
let linkedPackages = 0;

/** Hard-links (or, across devices, copies) a package folder, without its nested node_modules (separate lock entries). */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.name === "node_modules") continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) linkTree(source, target);
    else if (entry.isFile()) {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
      }
    }
  }
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "custody-cli-package-"));
  cliDir = path.join(work, "custody");
  const modules = realpathSync(path.join(REPO_ROOT, "node_modules"));
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as LockFile;
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (location === "" || entry.dev || entry.link) continue;
    const installed = path.join(modules, location.slice("node_modules/".length));
    // Optional packages for other platforms (the ffmpeg installers' binaries) are not installed here, nor by npm ci.
    if (!existsSync(installed)) continue;
    linkTree(installed, path.join(cliDir, location));
    linkedPackages++;
  }
  // What the published CLI is made of: its manifest, bin/ and the build (npm's `prepare`), plus the project files it reads.
  for (const item of ["package.json", "host.json", "bin", "dist", "topology"]) {
    const source = path.join(REPO_ROOT, item);
    if (item.includes(".")) copyFileSync(source, path.join(cliDir, item));
    else linkTree(source, path.join(cliDir, item));
  }
});

afterAll(() => {
  if (work) removeInBackground(work);
});

/** No NODE_PATH, nothing of this machine's settings: only the folder's own node_modules resolve. */
const cleanEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, NODE_PATH: "" });

test("none of the tooling is there: TypeScript, jest and the linters are dev-only", () => {
  expect(linkedPackages).toBeGreaterThan(100);
  for (const name of ["typescript", "jest", "eslint", "ts-jest", "dependency-cruiser", "@asyncapi/parser", "peggy"]) expect(existsSync(path.join(cliDir, "node_modules", name))).toBe(false);
  for (const name of ["azurite", "@vercel/cosmosdb-server", "rhea", "selfsigned", "commander"]) expect(existsSync(path.join(cliDir, "node_modules", name, "package.json"))).toBe(true);
});

test("`custody --help` runs", () => {
  const help = spawnSync(process.execPath, [path.join(cliDir, "bin", "custody.js"), "--help"], { cwd: cliDir, env: cleanEnv(), encoding: "utf8" });
  expect(help.stderr).toBe("");
  expect(help.status).toBe(0);
  expect(help.stdout).toContain("start");
});

test("`custody start` brings up the embedded stack from the declared dependencies alone, and stops on SIGINT", async () => {
  const dataDir = path.join(work, "data");
  const stack: ChildProcess = spawn(
    process.execPath,
    [path.join(cliDir, "bin", "custody.js"), "start", "--data-dir", dataDir, "--blob-port", "0", "--cosmos-port", "0", "--servicebus-port", "0", "--json", "--quiet"],
    { cwd: cliDir, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  stack.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  stack.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => stack.on("exit", (code) => resolve(code)));
  try {
    const ready = await waitFor(
      "the stack's ready line",
      () => {
        if (stack.exitCode !== null) throw new Error(`custody start exited ${stack.exitCode}: ${stderr}`);
        const line = stdout.split("\n").find((l) => l.includes('"ready":true'));
        return line ? (JSON.parse(line) as { settings: Record<string, string> }) : undefined;
      },
      90_000,
    );
    expect(Object.keys(ready.settings)).toEqual(expect.arrayContaining(["ServiceBusConnection", "EvidenceStorage", "EvidenceIndex"]));
  } finally {
    if (stack.exitCode === null) stack.kill("SIGINT");
  }
  expect(await exited).toBe(0);
  expect(stderr).not.toMatch(/Cannot find module/);
});
