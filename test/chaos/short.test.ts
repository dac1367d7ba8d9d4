/**
 * The fault suite's short version, inside `npm test`: small versions of the `npm run chaos`
 * scenarios (chaos/), each on its own breakable stack with the functions host as its own
 * process (the compiled dist/, as `npm test` builds it first). Each asserts that everything
 * the scenario checks held; a failure lists what did not, with its figure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { generateClip } from "../../chaos/harness";
import type { ScenarioOutcome } from "../../chaos/outcome";
import type { Scenario } from "../../chaos/scenario";
import { forgeryScenario } from "../../chaos/scenarios/forgery";
import { stackCrashScenario } from "../../chaos/scenarios/stack-crash";
import { hostKillScenario, outageScenario } from "../../chaos/scenarios/uploads";

const work = mkdtempSync(path.join(os.tmpdir(), "custody-chaos-short-"));
let clip: string;

beforeAll(async () => {
  clip = await generateClip(work);
}, 30_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function run(scenario: Scenario): Promise<ScenarioOutcome> {
  return scenario.run({ workDir: work, clip, seed: 7, log: () => undefined });
}

function notHeld(outcome: ScenarioOutcome): string[] {
  return outcome.checks.filter((check) => !check.held).map((check) => `${check.what}: ${check.detail ?? "no"}`);
}

test("a 5 s Cosmos outage during 3 uploads: every recording ready, none failed for a transient cause, one event each", async () => {
  const outcome = await run(outageScenario({ service: "cosmos", cutInMs: 5000, mode: "down", uploads: 3, settleInMs: 45_000 }));
  expect(notHeld(outcome)).toEqual([]);
  expect(outcome.ready).toBe(3);
}, 120_000);

test("a host SIGKILLed while 3 recordings are in flight: all ready once the locks expire, no duplicates", async () => {
  const outcome = await run(hostKillScenario({ uploads: 3, kills: 1, lockDurationInMs: 5000, recoveryLimitInMs: 45_000 }));
  expect(notHeld(outcome)).toEqual([]);
  expect(outcome.ready).toBe(3);
}, 120_000);

test("forged stage results and events on every entity: refused, no record or published event changed", async () => {
  const outcome = await run(forgeryScenario());
  expect(notHeld(outcome)).toEqual([]);
}, 120_000);

test("the whole stack crashes mid-burst (host killed, broker and index lost) and is recovered with reconcile: all ready, fingerprints kept, no event twice", async () => {
  const outcome = await run(stackCrashScenario({ uploads: 6, crashAfterFinal: 2, settleInMs: 120_000 }));
  expect(notHeld(outcome)).toEqual([]);
  expect(outcome.ready).toBe(6);
}, 300_000);
