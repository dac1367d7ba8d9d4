/**
 * The Service Bus settings the dev host takes from host.json — the same file the Functions
 * host reads in Azure — so local concurrency and lock renewal match production.
 */
import { readFileSync } from "node:fs";
import { projectFile } from "../project-files";

export interface ServiceBusHostSettings {
  maxConcurrentCalls: number;
  maxAutoLockRenewalDurationInMs: number;
}

const DEFAULTS: ServiceBusHostSettings = { maxConcurrentCalls: 16, maxAutoLockRenewalDurationInMs: 5 * 60_000 };

export function readHostJson(file = projectFile("host.json")): ServiceBusHostSettings {
  const json = JSON.parse(readFileSync(file, "utf8")) as { extensions?: { serviceBus?: { maxConcurrentCalls?: number; maxAutoLockRenewalDuration?: string } } };
  const serviceBus = json.extensions?.serviceBus ?? {};
  return {
    maxConcurrentCalls: serviceBus.maxConcurrentCalls ?? DEFAULTS.maxConcurrentCalls,
    maxAutoLockRenewalDurationInMs: serviceBus.maxAutoLockRenewalDuration !== undefined ? parseTimeSpan(serviceBus.maxAutoLockRenewalDuration) : DEFAULTS.maxAutoLockRenewalDurationInMs,
  };
}

/** .NET TimeSpan text as host.json uses it: `hh:mm:ss` or `d.hh:mm:ss`. */
export function parseTimeSpan(text: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`host.json: "${text}" is not a TimeSpan (hh:mm:ss)`);
  const [, days, hours, minutes, seconds] = match;
  return (((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
}
