#!/usr/bin/env node
/**
 * azd `predeploy` hook (azure.yaml): waits until the role assignments that let each function
 * app read and write its deployment package container are old enough to have taken effect.
 *
 * Why: on Flex Consumption, `azd deploy` publishes through the app, which writes the package to
 * its host storage container with the app's own identity. On the first `azd up` that identity's
 * Storage Blob Data Owner assignment is minutes old; Azure RBAC changes can take a while to take
 * effect (learn.microsoft.com/azure/role-based-access-control/troubleshooting), and until they
 * do the write is refused (403) and the publish fails (400) — Azure/azure-dev#8026. The
 * templates create the assignment before the app (bicep/main.bicep dependsOn), and provisioning
 * Cosmos DB usually takes longer than the wait; this hook covers the rest. On every later deploy
 * the assignments are old and it returns at once.
 *
 * Reads CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS (a deployment output: comma-separated role
 * assignment ids, not secrets) and each assignment's `createdOn` through `az rest` (relative to
 * the current cloud's Resource Manager endpoint). CUSTODY_ROLE_PROPAGATION_MINUTES sets the
 * window (default 10). Dependency-free CommonJS: it runs before the package is built.
 */
"use strict";
const { spawnSync } = require("node:child_process");

const DEFAULT_PROPAGATION_MINUTES = 10;
const POLL_MS = 30_000;

/** Milliseconds still to wait so that every assignment is `propagationMs` old at `nowMs` (0 = none). */
function remainingWaitMs(createdOn, nowMs, propagationMs) {
  let until = 0;
  for (const value of createdOn) {
    const created = Date.parse(value);
    if (Number.isNaN(created)) throw new Error(`not a time: ${JSON.stringify(value)}`);
    until = Math.max(until, created + propagationMs);
  }
  return Math.max(0, until - nowMs);
}

/** The window in ms from CUSTODY_ROLE_PROPAGATION_MINUTES (a non-negative number), else the default. */
function propagationMsFrom(env) {
  const raw = env.CUSTODY_ROLE_PROPAGATION_MINUTES;
  if (raw === undefined || raw.trim() === "") return DEFAULT_PROPAGATION_MINUTES * 60_000;
  const minutes = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !Number.isFinite(minutes)) throw new Error(`CUSTODY_ROLE_PROPAGATION_MINUTES must be a number of minutes (got ${JSON.stringify(raw)})`);
  return minutes * 60_000;
}

/** The assignment ids of CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS. */
function assignmentIdsFrom(env) {
  return (env.CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
}

function createdOnOf(id) {
  const result = spawnSync("az", ["rest", "--method", "get", "--url", `${id}?api-version=2022-04-01`, "--query", "properties.createdOn", "--output", "tsv"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`az rest ${id}: ${(result.stderr || result.error?.message || "failed").trim()}`);
  return result.stdout.trim();
}

async function main() {
  const ids = assignmentIdsFrom(process.env);
  if (ids.length === 0) {
    console.log("await-package-roles: no CUSTODY_PACKAGE_ROLE_ASSIGNMENT_IDS (not provisioned yet?): nothing to wait for");
    return;
  }
  const propagationMs = propagationMsFrom(process.env);
  let createdOn;
  try {
    createdOn = ids.map(createdOnOf);
  } catch (error) {
    // Never block a deploy on the check itself: the publish then fails or succeeds on its own.
    console.warn(`await-package-roles: cannot read the assignments (${error.message}); deploying without waiting`);
    return;
  }
  for (;;) {
    const wait = remainingWaitMs(createdOn, Date.now(), propagationMs);
    if (wait === 0) return;
    console.log(`await-package-roles: the apps' package role assignments are new; waiting ${Math.ceil(wait / 1000)} s more for them to take effect`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait, POLL_MS)));
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`await-package-roles: ${error.message}`);
    process.exit(1);
  });
}

module.exports = { remainingWaitMs, propagationMsFrom, assignmentIdsFrom, DEFAULT_PROPAGATION_MINUTES };
