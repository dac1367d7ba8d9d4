/**
 * The standing fault suite (`npm run chaos`): every scenario at its full size, in the order the
 * table shows them. The short versions inside `npm test` are in test/chaos/short.test.ts.
 */
import type { Scenario } from "../scenario";
import { forgeryScenario } from "./forgery";
import { stackCrashScenario } from "./stack-crash";
import { burstScenario, duplicateDeliveryScenario, hostKillScenario, outageScenario } from "./uploads";

export function fullSuite(): Scenario[] {
  return [
    burstScenario({ uploads: 200 }),
    hostKillScenario({ uploads: 30, kills: 4, recoveryLimitInMs: 120_000, extraWaitInMs: 300_000 }),
    duplicateDeliveryScenario({ uploads: 30 }),
    outageScenario({ service: "cosmos", cutInMs: 5_000, mode: "down", uploads: 15 }),
    outageScenario({ service: "cosmos", cutInMs: 120_000, mode: "down", uploads: 15 }),
    outageScenario({ service: "blob", cutInMs: 150_000, mode: "down", uploads: 15 }),
    // A partition rather than a stopped service: requests hang instead of failing.
    outageScenario({ service: "blob", cutInMs: 150_000, mode: "blackhole", uploads: 15 }),
    outageScenario({ service: "serviceBus", cutInMs: 60_000, mode: "down", uploads: 15 }),
    forgeryScenario(),
    stackCrashScenario({ uploads: 40 }),
  ];
}
