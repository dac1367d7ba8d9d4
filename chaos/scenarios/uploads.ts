/**
 * The upload scenarios: a burst, host kills, duplicate delivery and an outage of one service.
 * Each uploads small clips as a dock does, does its damage, waits (with a limit) until every
 * recording is final, waits for the events subscription to go quiet, and measures.
 */
import * as path from "node:path";
import type { CutMode } from "../../local/fault-proxy";
import type { ServiceBusEmulatorFaults } from "../../local/servicebus-emulator";
import { delay, startChaosStack, until, waitForFinal, type ChaosStack, type Upload } from "../harness";
import { measure, standardChecks, type Check, type ScenarioOutcome } from "../outcome";
import { seededRandom, type Scenario, type ScenarioContext } from "../scenario";

/** How long the events subscription must stay silent before events are counted. */
const EVENTS_QUIET_IN_MS = 3000;

/**
 * Where time is not what must hold (a burst, duplicate delivery), recordings are waited for as
 * long as they keep moving, up to 30 minutes: longer than any lock, so a lost message would
 * have come back.
 */
const STALLED_AFTER_IN_MS = 6 * 60_000;

interface UploadRun {
  chaos: ChaosStack;
  uploads: Upload[];
  /** Reference moment of the time to the last final event. */
  since: { at: number; label: string };
  notes: string[];
  /** Extra checks the scenario makes on top of the standard ones. */
  checks?: (outcome: Omit<ScenarioOutcome, "checks" | "notes">) => Check[];
  /** Longest wait for every recording to be final, from `since`. */
  settleInMs: number;
  distinctEventIds?: boolean;
  /** Stop waiting when no record moved for this long (see waitForFinal). */
  stalledAfterInMs?: number;
}

async function runUploads(
  name: string,
  context: ScenarioContext,
  stackOptions: { serviceBusFaults?: ServiceBusEmulatorFaults; environment?: Record<string, string> },
  act: (chaos: ChaosStack) => Promise<Omit<UploadRun, "chaos">>,
): Promise<ScenarioOutcome> {
  const chaos = await startChaosStack({ workDir: path.join(context.workDir, name), ...stackOptions });
  try {
    const run = await act(chaos);
    const records = await waitForFinal(chaos.index, run.uploads, { timeoutInMs: Math.max(0, run.since.at + run.settleInMs - Date.now()), stalledAfterInMs: run.stalledAfterInMs });
    await chaos.events.quiet(EVENTS_QUIET_IN_MS);
    const figures = measure({
      scenario: name,
      uploads: run.uploads,
      records,
      events: chaos.events.all,
      deadLettered: chaos.deadLettered(),
      since: run.since,
      distinctEventIds: run.distinctEventIds,
    });
    return { ...figures, checks: [...standardChecks(figures, { allReady: true }), ...(run.checks?.(figures) ?? [])], notes: run.notes };
  } finally {
    await chaos.stop();
  }
}

export interface BurstScenarioOptions {
  uploads: number;
  settleInMs?: number;
}

export function burstScenario(options: BurstScenarioOptions): Scenario {
  const name = `burst-${options.uploads}`;
  return {
    name,
    summary: `${options.uploads} uploads at once (16 in parallel), nothing broken.`,
    mustHold: `${options.uploads} ready, 0 duplicate records or events.`,
    run: (context) =>
      runUploads(name, context, {}, async (chaos) => {
        chaos.host.start();
        const at = Date.now();
        const uploads = await chaos.upload(context.clip, options.uploads, name, 16);
        context.log(`${name}: ${uploads.length} uploaded in ${((Date.now() - at) / 1000).toFixed(1)} s`);
        return { uploads, since: { at, label: "first upload" }, notes: [], settleInMs: options.settleInMs ?? 30 * 60_000, stalledAfterInMs: STALLED_AFTER_IN_MS };
      }),
  };
}

export interface HostKillScenarioOptions {
  uploads: number;
  kills: number;
  /** Override every entity's lock duration (the short test); default: the topology's. */
  lockDurationInMs?: number;
  /** Every recording must be final within this of the last kill. */
  recoveryLimitInMs: number;
  /** How long to keep waiting past the limit, to measure how late the last one is. */
  extraWaitInMs?: number;
}

export function hostKillScenario(options: HostKillScenarioOptions): Scenario {
  const name = `host-kill-${options.kills}x${options.uploads}`;
  const limitText = `${Math.round(options.recoveryLimitInMs / 1000)} s`;
  return {
    name,
    summary: `${options.uploads} uploads in ${options.kills + 1} batches; after each of the first ${options.kills} the host is SIGKILLed 1–6 s later (seeded random) and a new one started at once${options.lockDurationInMs ? `; locks ${options.lockDurationInMs} ms` : "; the topology's lock durations"}.`,
    mustHold: `${options.uploads} final and ready within ${limitText} of the last kill, 0 duplicate records or events.`,
    run: (context) =>
      runUploads(name, context, { serviceBusFaults: options.lockDurationInMs ? { lockDurationInMs: options.lockDurationInMs } : undefined }, async (chaos) => {
        const random = seededRandom(context.seed);
        const batches = options.kills + 1;
        const uploads: Upload[] = [];
        const kills: number[] = [];
        chaos.host.start();
        const started = Date.now();
        for (let batch = 0; batch < batches; batch++) {
          const count = Math.floor(options.uploads / batches) + (batch < options.uploads % batches ? 1 : 0);
          uploads.push(...(await chaos.upload(context.clip, count, `${name}/batch-${batch}`)));
          if (batch === batches - 1) break;
          // The kill moment is the fault being injected, not a wait for an outcome.
          await delay(1000 + Math.floor(random() * 5000));
          await chaos.host.kill();
          kills.push(Date.now());
          chaos.host.start();
        }
        const lastKill = kills[kills.length - 1] ?? started;
        context.log(`${name}: killed at ${kills.map((k) => `${((k - started) / 1000).toFixed(1)} s`).join(", ")}`);
        return {
          uploads,
          since: { at: lastKill, label: "last kill" },
          notes: [`seed ${context.seed}`, `kills at ${kills.map((k) => ((k - started) / 1000).toFixed(1)).join("/")} s`],
          settleInMs: options.recoveryLimitInMs + (options.extraWaitInMs ?? 0),
          checks: (figures) => [
            {
              what: `final within ${limitText} of the last kill`,
              held: figures.stuck === 0 && figures.timeToLastFinalInMs !== undefined && figures.timeToLastFinalInMs <= options.recoveryLimitInMs,
              detail:
                figures.stuck > 0
                  ? `${figures.stuck} not final after ${Math.round((options.recoveryLimitInMs + (options.extraWaitInMs ?? 0)) / 1000)} s`
                  : `last final ${Math.round((figures.timeToLastFinalInMs ?? 0) / 1000)} s after the last kill`,
            },
          ],
        };
      }),
  };
}

export interface DuplicateDeliveryScenarioOptions {
  uploads: number;
}

export function duplicateDeliveryScenario(options: DuplicateDeliveryScenarioOptions): Scenario {
  const name = `duplicate-delivery-${options.uploads}`;
  return {
    name,
    summary: `${options.uploads} uploads with the emulator storing every message twice on every queue and subscription.`,
    mustHold: `${options.uploads} ready, 0 duplicate records, one event id per recording.`,
    run: (context) =>
      runUploads(name, context, { serviceBusFaults: { duplicateDeliveries: true } }, async (chaos) => {
        chaos.host.start();
        const at = Date.now();
        const uploads = await chaos.upload(context.clip, options.uploads, name);
        return { uploads, since: { at, label: "first upload" }, notes: ["events counted by distinct id"], settleInMs: 30 * 60_000, stalledAfterInMs: STALLED_AFTER_IN_MS, distinctEventIds: true };
      }),
  };
}

export type CuttableService = "cosmos" | "blob" | "serviceBus";

const SERVICE_NAMES: Record<CuttableService, string> = { cosmos: "Cosmos", blob: "Azurite", serviceBus: "Service Bus" };

export interface OutageScenarioOptions {
  service: CuttableService;
  cutInMs: number;
  mode: CutMode;
  uploads: number;
  /** Longest wait, after restore, for every recording to be final. */
  settleInMs?: number;
}

export function outageScenario(options: OutageScenarioOptions): Scenario {
  const seconds = Math.round(options.cutInMs / 1000);
  // `down` is the plain outage (`…-cut-…`); the other kinds say theirs.
  const name = `${options.service === "serviceBus" ? "servicebus" : options.service === "blob" ? "azurite" : "cosmos"}-${options.mode === "down" ? "cut" : options.mode}-${seconds}s`;
  const settleInMs = options.settleInMs ?? 240_000;
  return {
    name,
    summary: `${options.uploads} uploads; once the first is indexed, the host's connection to ${SERVICE_NAMES[options.service]} is cut (${options.mode}) for ${seconds} s, then restored.`,
    mustHold: `every upload final within ${Math.round(settleInMs / 1000)} s of the restore, none failed for a transient cause, 0 duplicate events.`,
    run: (context) =>
      runUploads(name, context, {}, async (chaos) => {
        chaos.host.start();
        const uploads = await chaos.upload(context.clip, options.uploads, name);
        // Cut while recordings are in flight: once the first one has a record.
        const indexed = await until(async () => (await chaos.index.read(uploads[0].evidenceId).catch(() => undefined)) !== undefined, 60_000, 50);
        const cutAt = Date.now();
        await chaos.proxies[options.service].cut(options.mode);
        await delay(options.cutInMs);
        await chaos.proxies[options.service].restore();
        const restoredAt = Date.now();
        context.log(`${name}: cut ${options.mode} ${((restoredAt - cutAt) / 1000).toFixed(1)} s${indexed ? "" : " (the first upload was not indexed within 60 s)"}`);
        return { uploads, since: { at: restoredAt, label: "restore" }, notes: [options.mode], settleInMs };
      }),
  };
}
