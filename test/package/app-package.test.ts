/**
 * The deployment package of the Function apps, built as azd builds it (package-build.ts):
 * production dependencies only, from app/package-lock.json; the app compiled by app/'s own
 * build; filtered by app/.funcignore. Then the entry point (package.json "main") is loaded
 * from the package, once per app role (CUSTODY_APP_ROLE, as bicep/modules/functions.bicep sets
 * it), with the worker's `@azure/functions-core` recorded (functions-core-recorder.js): every
 * function of functions/definitions.ts must register through `@azure/functions`' real calls,
 * with the binding the host will read — and nothing may be loaded from outside the package.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { APP_ROLES, APP_ROLE_SETTING, type AppRole } from "../../functions/app-roles";
import { definitionsForRoles } from "../../functions/definitions";
import { SERVICE_BUS_CONNECTION } from "../../shared/settings";
import { checkPackagedFiles, devOnlyPackages, filterByFuncignore, lockMismatches } from "./package-checks";
import { APP_DIR, copyManifest, installedPackages, installProduction, mebibytes, packagedFiles, pruneToPackage, removeInBackground, REPO_ROOT, run } from "./package-build";

// Restore (npm ci) and build (tsc) take most of a minute on a busy machine.
jest.setTimeout(240_000);

const { stageApp } = require("../../scripts/stage-app.js") as { stageApp: (options: { outDir: string }) => string };

let work: string;
let serviceDir: string;
let files: string[];
let bytes: number;

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "custody-package-"));
  // The service folder becomes the package (pruneToPackage): loaded where it was built, as Azure loads the zip's content.
  serviceDir = path.join(work, "app");
  const started = Date.now();
  copyManifest(serviceDir);
  installProduction(serviceDir);
  const installedInMs = Date.now() - started;
  stageApp({ outDir: serviceDir });
  files = packagedFiles(serviceDir);
  bytes = pruneToPackage(serviceDir, files);
  const dependencies = files.filter((file) => file.startsWith("node_modules/"));
  process.stdout.write(
    `\nDeployment package (app/): ${files.length} files, ${mebibytes(bytes)} — node_modules ${dependencies.length} files in ${installedPackages(serviceDir).length} packages; ` +
      `install ${(installedInMs / 1000).toFixed(1)} s, all ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
});

afterAll(() => {
  if (work) removeInBackground(work);
});

describe("the deployment package", () => {
  test("holds the compiled app, host.json, the manifest and its dependencies — and every file the app loads", () => {
    expect(checkPackagedFiles(files)).toEqual([]);
  });

  test("carries no dev-only or tooling package (TypeScript, jest, Azurite, the Cosmos stand-in, the CLI's own)", () => {
    const rootLock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as LockFile;
    expect(devOnlyPackages(installedPackages(serviceDir), rootLock)).toEqual([]);
  });

  test("resolves every package to the version the repository's tests run with (app/package-lock.json agrees with package-lock.json)", () => {
    const rootLock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as LockFile;
    const appLock = JSON.parse(readFileSync(path.join(APP_DIR, "package-lock.json"), "utf8")) as LockFile;
    expect(lockMismatches(appLock, rootLock)).toEqual([]);
  });

  test.each(APP_ROLES)("the %s app registers each of its functions through @azure/functions, loading nothing from outside the package", (role: AppRole) => {
    const recordFile = path.join(work, `registrations-${role}.json`);
    const main = (JSON.parse(readFileSync(path.join(serviceDir, "package.json"), "utf8")) as { main: string }).main;
    // A clean environment: what the Functions host would give (the role, nothing of this machine's settings).
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, [APP_ROLE_SETTING]: role, CUSTODY_RECORD_FILE: recordFile, NODE_PATH: "" };
    run(process.execPath, ["-r", path.join(__dirname, "functions-core-recorder.js"), "-e", `require(${JSON.stringify(path.join(serviceDir, main))})`], { cwd: serviceDir, env });
    const recorded = JSON.parse(readFileSync(recordFile, "utf8")) as Recording;

    expect(recorded.programmingModel?.name).toBe("@azure/functions");
    const { functions, timers } = definitionsForRoles([role]);
    expect(recorded.registrations.map((r) => r.name).sort()).toEqual([...functions.map((f) => f.name), ...timers.map((t) => t.name)].sort());
    for (const definition of functions) {
      const registration = recorded.registrations.find((r) => r.name === definition.name);
      const trigger = Object.values(registration?.bindings ?? {}).find((binding) => binding.direction === "in");
      const entity = definition.entity.kind === "queue" ? { queueName: definition.entity.queueName } : { topicName: definition.entity.topicName, subscriptionName: definition.entity.subscriptionName };
      expect(trigger).toMatchObject({ type: "serviceBusTrigger", connection: SERVICE_BUS_CONNECTION, ...entity });
      expect(registration?.callbackIsFunction).toBe(true);
    }
    for (const timer of timers) {
      const registration = recorded.registrations.find((r) => r.name === timer.name);
      expect(Object.values(registration?.bindings ?? {})).toContainEqual(expect.objectContaining({ type: "timerTrigger", schedule: timer.schedule({}), runOnStartup: false }));
    }
    const outside = recorded.modules.filter((file) => !file.startsWith(serviceDir + path.sep) && file !== path.join(__dirname, "functions-core-recorder.js"));
    expect(outside).toEqual([]);
  });
});

describe("the package checks catch what they are for", () => {
  test(".funcignore's `docs/` (gitignore syntax: any folder named docs) drops the event schemas the app requires at load", () => {
    const staged = [...files, ".funcignore"];
    expect(checkPackagedFiles(filterByFuncignore(staged, "docs/\n"))).toEqual(expect.arrayContaining([expect.stringMatching(/dist\/docs\/events\/.*schema\.json/)]));
    // Anchored to the folder's root, the same rule would be harmless.
    expect(checkPackagedFiles(filterByFuncignore(files, "/docs/\n"))).toEqual([]);
  });

  test("a .funcignore that drops node_modules, or one that lets the sources in, is refused", () => {
    expect(checkPackagedFiles(filterByFuncignore(files, "node_modules/\n"))).not.toEqual([]);
    expect(checkPackagedFiles([...files, "functions/index.ts", "test/package/app-package.test.ts"])).not.toEqual([]);
  });

  test("TypeScript in the package is a dev-only package", () => {
    const rootLock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as LockFile;
    const typescript = rootLock.packages["node_modules/typescript"];
    expect(devOnlyPackages([...installedPackages(serviceDir), { name: "typescript", location: "node_modules/typescript", version: typescript?.version ?? "?" }], rootLock)).toEqual([
      expect.stringContaining("typescript"),
    ]);
  });

  test("an app lock that resolves a package to another version than the repository's is refused", () => {
    const rootLock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as LockFile;
    const appLock = JSON.parse(readFileSync(path.join(APP_DIR, "package-lock.json"), "utf8")) as LockFile;
    const changed: LockFile = { packages: { ...appLock.packages, "node_modules/ajv": { ...appLock.packages["node_modules/ajv"], version: "0.0.1" } } };
    expect(lockMismatches(changed, rootLock)).toEqual([expect.stringContaining("ajv")]);
  });
});

interface LockFile {
  packages: Record<string, { version?: string; dev?: boolean; link?: boolean }>;
}

interface Recording {
  programmingModel?: { name: string; version: string };
  registrations: { name: string; bindings: Record<string, { type: string; direction: string; [key: string]: unknown }>; callbackIsFunction: boolean }[];
  modules: string[];
}
