/**
 * The CLI's options: the ones every operator command shares (`targetCommand`), and the parsers
 * every command reads its numbers, durations, times and entity names through, so a flag means
 * the same everywhere and its error reads the same. Each parser throws an Error naming the
 * option and the value; main.ts prints it and exits 2.
 */
import type { Command } from "commander";
import { allReceivableEntities, entityName, type ReceivableEntity } from "../shared/topology";

export const DEFAULT_DATA_DIR = ".custody";

/**
 * A subcommand of `parent` that talks to a running Custody (cli/stack-target.ts): with
 * `--data-dir` (where `custody start` runs, else the settings in the environment) and `--json`.
 */
export function targetCommand(parent: Command, nameAndArgs: string, description: string, jsonHelp: string): Command {
  return parent
    .command(nameAndArgs)
    .description(description)
    .option("--data-dir <dir>", "data folder of a running `custody start` (else the settings in the environment)", DEFAULT_DATA_DIR)
    .option("--json", jsonHelp);
}

/**
 * A parser as commander takes it (`.option(flags, description, parsedAs(positiveInteger, "--max"))`): the option's
 * value arrives parsed, and a bad one stops the command before it runs, with the parser's message.
 */
export function parsedAs<T>(parser: (value: string, option: string) => T, option: string): (value: string) => T {
  return (value) => parser(value, option);
}

/** A whole number ≥ 1 (`--max`). */
export function positiveInteger(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new Error(`${option} must be a positive whole number, not '${value}'.`);
  return n;
}

/** A number > 0, fractions allowed (`--rate 0.5`). */
export function positiveNumber(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n <= 0) throw new Error(`${option} must be a positive number, not '${value}'.`);
  return n;
}

/** A whole number from `min` to `max` (`--concurrency`). */
export function integerInRange(value: string, option: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${option} must be a whole number from ${min} to ${max}, not '${value}'.`);
  return n;
}

/** A TCP port, 0 (any free one) to 65535. */
export function portNumber(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${option} must be a port number (0–65535), not '${value}'.`);
  return n;
}

/** A number of seconds > 0, fractions allowed (`--timeout 300`), in milliseconds. */
export function secondsInMs(value: string, option: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) throw new Error(`${option} must be a positive number of seconds, not '${value}'.`);
  return seconds * 1000;
}

const DURATION = /^(\d+)\s*(s|m|h|d)$/i;
const UNIT_IN_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30m`, `12h`, `7d`, `45s` → milliseconds. */
export function durationInMs(value: string, option: string): number {
  const match = DURATION.exec(value.trim());
  if (!match) throw new Error(`${option} must be a duration like 30m, 12h or 7d, not '${value}'.`);
  return Number(match[1]) * UNIT_IN_MS[match[2].toLowerCase() as keyof typeof UNIT_IN_MS];
}

/** An ISO date/time, or a duration back from now (`24h`, `7d`). */
export function since(value: string, option = "--since", now = Date.now()): Date {
  if (DURATION.test(value.trim())) return new Date(now - durationInMs(value, option));
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new Error(`${option} must be an ISO date/time or a duration like 24h, not '${value}'.`);
  return new Date(parsed);
}

/** An ISO 8601 date/time only (`custody verify --since`, which selects by index time). */
export function isoTime(value: string, option: string): Date {
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new Error(`${option} must be an ISO 8601 time, not '${value}'.`);
  return new Date(parsed);
}

/** `queue`, `topic/subscription` or `topic/Subscriptions/subscription`, resolved against the topology. */
export function receivableEntity(name: string): ReceivableEntity {
  const all = allReceivableEntities();
  const parts = name.split("/");
  let found: ReceivableEntity | undefined;
  if (parts.length === 1) {
    found = all.find((e) => e.kind === "queue" && e.queueName === parts[0]);
  } else if (parts.length === 2 || (parts.length === 3 && parts[1].toLowerCase() === "subscriptions")) {
    const [topicName, subscriptionName] = [parts[0], parts[parts.length - 1]];
    found = all.find((e) => e.kind === "subscription" && e.topicName === topicName && e.subscriptionName === subscriptionName);
  }
  if (!found) throw new Error(`Unknown entity '${name}'. Known queues and subscriptions: ${all.map(entityName).join(", ")}.`);
  return found;
}
