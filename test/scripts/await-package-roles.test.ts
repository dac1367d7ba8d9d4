/**
 * The predeploy hook as azd runs it (`node scripts/await-package-roles.js`), with a stand-in
 * `az` first on PATH that records its arguments and answers as Resource Manager would.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../deploy/bicep";

const HOOK = path.join(REPO_ROOT, "scripts", "await-package-roles.js");
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "custody-await-roles-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An `az` that appends its arguments to calls.txt and prints `createdOn` (or fails). */
function fakeAz(createdOn: string | undefined): void {
  const script = createdOn === undefined ? `echo "$@" >> "${dir}/calls.txt"; echo "ERROR: Please run 'az login'" >&2; exit 1` : `echo "$@" >> "${dir}/calls.txt"; echo "${createdOn}"`;
  writeFileSync(path.join(dir, "az"), `#!/bin/sh\n${script}\n`);
  chmodSync(path.join(dir, "az"), 0o755);
}

function runHook(env: Record<string, string>): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, [HOOK], { env: { PATH: `${dir}:${process.env.PATH ?? ""}`, ...env }, encoding: "utf8", timeout: 20_000 });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

const IDS =
  "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/providers/Microsoft.Authorization/roleAssignments/1,/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/b/providers/Microsoft.Authorization/roleAssignments/2";

test("reads each assignment's createdOn through az rest (relative to the cloud's Resource Manager) and waits while it is new", () => {
  fakeAz(new Date().toISOString());
  const { status, out } = runHook({ CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS: IDS, CUSTODY_ROLE_PROPAGATION_MINUTES: "0.02" });
  expect(status).toBe(0);
  expect(out).toMatch(/waiting \d+ s more/);
  const calls = readFileSync(path.join(dir, "calls.txt"), "utf8").trim().split("\n");
  expect(calls).toEqual(IDS.split(",").map((id) => `rest --method get --url ${id}?api-version=2022-04-01 --query properties.createdOn --output tsv`));
});

test("old assignments: no wait", () => {
  fakeAz("2026-01-01T00:00:00.000000+00:00");
  const { status, out } = runHook({ CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS: IDS });
  expect(status).toBe(0);
  expect(out).not.toMatch(/waiting/);
});

test("never blocks a deploy on the check itself: az failing, or no deployment outputs yet", () => {
  fakeAz(undefined);
  const failed = runHook({ CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS: IDS });
  expect(failed.status).toBe(0);
  expect(failed.out).toMatch(/cannot read the assignments .*az login.*deploying without waiting/);
  const none = runHook({});
  expect(none.status).toBe(0);
  expect(none.out).toMatch(/nothing to wait for/);
});

test("a malformed window is an error naming the setting", () => {
  fakeAz("2026-01-01T00:00:00Z");
  const { status, out } = runHook({ CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS: IDS, CUSTODY_ROLE_PROPAGATION_MINUTES: "ten" });
  expect(status).toBe(1);
  expect(out).toMatch(/CUSTODY_ROLE_PROPAGATION_MINUTES/);
});
