/**
 * When `npm start` / `npm test` install first (scripts/ensure-installed.js): node_modules missing,
 * not installed by npm, or not matching package-lock.json package by package; never for another
 * platform's optional binaries, nor when only file times changed.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const { installNeeded } = require("../../scripts/ensure-installed") as { installNeeded: (root: string) => string | undefined };

type Packages = Record<string, { version?: string; optional?: boolean; link?: boolean }>;

const LOCKED: Packages = {
  "": { version: "0.1.0" },
  "node_modules/rhea": { version: "3.0.5" },
  "node_modules/@azure/functions": { version: "4.16.5" },
  "node_modules/debug/node_modules/ms": { version: "2.1.3" },
  "node_modules/@ffmpeg-installer/win32-x64": { version: "4.1.0", optional: true },
};
const INSTALLED: Packages = Object.fromEntries(Object.entries(LOCKED).filter(([location, p]) => location !== "" && !p.optional));

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "custody-ensure-installed-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function checkout(lock: Packages | undefined, installed: Packages | undefined | "no node_modules" | "torn"): void {
  if (lock !== undefined) writeFileSync(path.join(root, "package-lock.json"), JSON.stringify({ lockfileVersion: 3, packages: lock }));
  if (installed === "no node_modules") return;
  mkdirSync(path.join(root, "node_modules"));
  if (installed === "torn") writeFileSync(path.join(root, "node_modules", ".package-lock.json"), '{"packages": {');
  else if (installed !== undefined) writeFileSync(path.join(root, "node_modules", ".package-lock.json"), JSON.stringify({ lockfileVersion: 3, packages: installed }));
}

test("a fresh clone (no node_modules) installs", () => {
  checkout(LOCKED, "no node_modules");
  expect(installNeeded(root)).toBe("node_modules is missing");
});

test("node_modules that npm did not install (no record of it, or a torn one) installs", () => {
  checkout(LOCKED, undefined);
  expect(installNeeded(root)).toBe("node_modules was not installed by npm from package-lock.json");
  rmSync(path.join(root, "node_modules"), { recursive: true });
  checkout(LOCKED, "torn");
  expect(installNeeded(root)).toBe("node_modules was not installed by npm from package-lock.json");
});

test("an installed tree that matches the lock file needs nothing, whatever the file times", () => {
  checkout(LOCKED, INSTALLED);
  expect(installNeeded(root)).toBeUndefined();
  // A checkout or another work tree makes the lock file newer without changing it.
  const later = new Date(Date.now() + 3_600_000);
  utimesSync(path.join(root, "package-lock.json"), later, later);
  expect(installNeeded(root)).toBeUndefined();
});

test("a pull that changed a version, or added a package, installs, naming it", () => {
  checkout({ ...LOCKED, "node_modules/rhea": { version: "3.0.6" } }, INSTALLED);
  expect(installNeeded(root)).toBe("rhea is 3.0.5 in node_modules, 3.0.6 in package-lock.json");
  rmSync(root, { recursive: true });
  mkdirSync(root);
  checkout({ ...LOCKED, "node_modules/croner": { version: "9.1.0" } }, INSTALLED);
  expect(installNeeded(root)).toBe("croner 9.1.0 is not installed");
  rmSync(root, { recursive: true });
  mkdirSync(root);
  checkout(LOCKED, { ...INSTALLED, "node_modules/debug/node_modules/ms": { version: "2.0.0" } });
  expect(installNeeded(root)).toBe("ms is 2.0.0 in node_modules, 2.1.3 in package-lock.json");
});

test("another platform's optional binaries and linked packages are not required", () => {
  checkout({ ...LOCKED, "node_modules/local-thing": { link: true } }, INSTALLED);
  expect(installNeeded(root)).toBeUndefined();
});

test("without a lock file there is nothing to install from", () => {
  checkout(undefined, "no node_modules");
  expect(installNeeded(root)).toBeUndefined();
});

test("this checkout's node_modules matches its lock file (what `npm test` checks first)", () => {
  expect(installNeeded(path.resolve(__dirname, "..", ".."))).toBeUndefined();
});
