/**
 * `custody subscribe SUBSCRIPTION [--filter SQL] [--keep-filter] [--max N] [--timeout S] [--json]`
 * — tails the evidence events one subscription of the evidence-ready topic receives: each is
 * received under a peek-lock, checked as a CloudEvent (attributes, data against its schema),
 * printed, and completed. For people watching a deployment, and for smoke tests
 * (`--max 1 --timeout 120 --json`). It CONSUMES what it prints: point it at a subscription
 * of its own, not at one a downstream system reads.
 *
 * `--filter SQL` narrows the subscription to the events that match (a Service Bus SQL filter
 * over the routing properties, e.g. `unit = 'camden' AND status = 'ready'`): its rules are
 * replaced by one rule, `(SQL) AND NOT EXISTS(custodyRedriveTo)`, keeping the `redrive` rule
 * (shared/contracts/event-filters.ts says why). On exit — Ctrl-C, `--max`, `--timeout` — the
 * rules the topology declares for it (or, for a subscription not in the topology, the rules it
 * had) are put back, unless `--keep-filter`. A run killed outright (SIGKILL) leaves the filter:
 * the next `custody subscribe` of that subscription, with or without `--filter`, repairs it.
 *
 * When the connection is lost (the broker restarted, the network dropped) it says so on stderr
 * and reconnects with backoff (1 s doubling to 30 s) until the namespace answers again; messages
 * it had locked are delivered again. Only an error no reconnect can fix (unknown subscription,
 * missing rights) ends it.
 *
 * An event that is not a valid evidence event is dead-lettered with the reason
 * (`InvalidEvent`), never printed as if it were one.
 *
 * Exit codes: 0; 1 when `--timeout` passed before `--max` events arrived; 2 for usage or
 * infrastructure errors (unknown subscription, a filter Service Bus refuses).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { openEventSubscription } from "../../shared/adapters/service-bus-event-subscription";
import { parseEvidenceEvent, type EvidenceEvent } from "../../shared/contracts/evidence-events";
import { planFilterReplacement, SUBSCRIBE_RULE_NAME } from "../../shared/contracts/event-filters";
import { isCustodyError, toCustodyError } from "../../shared/errors";
import type { EventSubscription, ReceivedMessage, SubscriptionRule } from "../../shared/ports/event-subscription";
import { declaredRules, ENTITIES } from "../../shared/topology";
import { EXIT_FAILED_RECORDING, EXIT_OK, EXIT_USAGE_OR_INFRASTRUCTURE } from "../exit-codes";
import { untilSignal } from "../signals";
import { parsedAs, positiveInteger, secondsInMs, targetCommand } from "../options";
import { resolveServiceBus } from "../stack-target";
import { writeErrorLine, writeJsonLine, writeLine } from "../output";
import { printable } from "../../shared/text/printable";

interface SubscribeOptions {
  filter?: string;
  keepFilter?: boolean;
  max?: number;
  /** Milliseconds (given in seconds). */
  timeout?: number;
  dataDir: string;
  json?: boolean;
}

/**
 * One line of `--json` output: the event in the CloudEvents JSON format, exactly — a line can be
 * handed to any CloudEvents tool. (The routing properties are not repeated: each is a field of
 * `data` or the `type`.)
 */
export type SubscribeJsonLine = EvidenceEvent;

const RECEIVE_BATCH = 16;
const RECEIVE_WAIT_IN_MS = 1000;

export function registerSubscribeCommand(program: Command): void {
  targetCommand(
    program,
    "subscribe <subscription>",
    "Tail the evidence events a subscription of the evidence-ready topic receives (consumes them: use a subscription of your own).",
    "print one JSON object per event, in the CloudEvents JSON format",
  )
    .option("--filter <sql>", "narrow the subscription to a SQL filter over the routing properties (restored on exit), e.g. \"unit = 'camden'\"")
    .option("--keep-filter", "leave the --filter in place on exit")
    .option("--max <n>", "exit after this many events", parsedAs(positiveInteger, "--max"))
    .option("--timeout <seconds>", "exit after this long (exit code 1 when --max events had not arrived)", parsedAs(secondsInMs, "--timeout"))
    .action(async (name: string, options: SubscribeOptions) => {
      process.exitCode = await subscribe(name, options);
    });
}

async function subscribe(name: string, options: SubscribeOptions): Promise<number> {
  const { max, timeout: timeoutInMs } = options;
  if (options.keepFilter && options.filter === undefined) throw new Error("--keep-filter needs --filter.");
  const subscriptionName = subscriptionOf(name);
  const topicName = ENTITIES.evidenceReadyTopic;
  const { auth, description } = resolveServiceBus(options.dataDir);
  const open = () => openEventSubscription(auth, topicName, subscriptionName);
  let subscription = open();

  const stop = new AbortController();
  void untilSignal().then(() => stop.abort());
  const timer = timeoutInMs === undefined ? undefined : setTimeout(() => stop.abort(), timeoutInMs);

  let restore: ((current: EventSubscription) => Promise<void>) | undefined;
  let received = 0;
  try {
    restore = await prepareRules(subscription, options.filter, declaredRules(topicName, subscriptionName));
    writeErrorLine(`custody subscribe: listening on ${topicName}/${subscriptionName} (${description})${options.filter ? ` with filter ${options.filter}` : ""}; Ctrl-C to stop`);
    while (!stop.signal.aborted && (max === undefined || received < max)) {
      try {
        const messages = await subscription.receive(max === undefined ? RECEIVE_BATCH : Math.min(RECEIVE_BATCH, max - received), RECEIVE_WAIT_IN_MS, stop.signal);
        for (const message of messages) {
          if (await handle(subscription, message, options.json === true)) received++;
        }
      } catch (error) {
        if (stop.signal.aborted) break;
        if (!isConnectionLoss(error)) throw error;
        // The broker restarted or the network dropped (the SDK's own retries are spent): a tail
        // that exits here silently stops watching. Reconnect with backoff until it answers again.
        // Messages locked before the loss are delivered again (at least once).
        const reconnected = await reconnect(subscription, open, error, stop.signal, async (fresh) => {
          if (options.filter !== undefined && !(await fresh.listRules()).some((rule) => rule.name === SUBSCRIBE_RULE_NAME)) {
            // A namespace that lost its rules (an emulator restart) gets the filter again.
            restore = await prepareRules(fresh, options.filter, declaredRules(topicName, subscriptionName));
          }
        });
        if (reconnected === undefined) break;
        subscription = reconnected;
        process.stderr.write(`custody subscribe: reconnected to ${topicName}/${subscriptionName}\n`);
      }
    }
  } catch (error) {
    writeErrorLine(`custody subscribe: ${isCustodyError(error) ? error.message : (error as Error).message}`);
    return EXIT_USAGE_OR_INFRASTRUCTURE;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    try {
      if (restore !== undefined && !options.keepFilter) await restore(subscription);
    } catch (error) {
      writeErrorLine(`custody subscribe: could not restore the subscription's rules (run custody subscribe ${subscriptionName} again to repair them): ${(error as Error).message}`);
    } finally {
      await subscription.close();
    }
  }
  writeErrorLine(`custody subscribe: ${received} event(s)`);
  return max !== undefined && received < max ? EXIT_FAILED_RECORDING : EXIT_OK;
}

const RECONNECT_FIRST_DELAY_IN_MS = 1000;
const RECONNECT_MAX_DELAY_IN_MS = 30_000;

/** Errors no reconnect can fix: a subscription that does not exist, missing rights, a refused filter. */
function isConnectionLoss(error: unknown): boolean {
  const failure = toCustodyError(error);
  return failure.code !== "InvalidConfiguration" && failure.code !== "AccessDenied" && !(error instanceof TypeError || error instanceof RangeError);
}

/**
 * Opens the subscription again, with exponential backoff, until it answers (its rules can be
 * listed) or `signal` aborts (undefined). `ready` runs on the fresh subscription before it is used.
 */
async function reconnect(
  lost: EventSubscription,
  open: () => EventSubscription,
  cause: unknown,
  signal: AbortSignal,
  ready: (fresh: EventSubscription) => Promise<void>,
): Promise<EventSubscription | undefined> {
  await lost.close().catch(() => undefined);
  let reason = toCustodyError(cause).message;
  process.stderr.write(`custody subscribe: connection lost: ${reason}\n`);
  for (let delay = RECONNECT_FIRST_DELAY_IN_MS; !signal.aborted; delay = Math.min(RECONNECT_MAX_DELAY_IN_MS, delay * 2)) {
    process.stderr.write(`custody subscribe: reconnecting in ${Math.round(delay / 1000)} s\n`);
    // Ends early, without error, when the run is stopped.
    await sleep(delay, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) break;
    const fresh = open();
    try {
      await ready(fresh);
      await fresh.listRules();
      return fresh;
    } catch (error) {
      await fresh.close().catch(() => undefined);
      if (!isConnectionLoss(error)) throw error;
      const next = toCustodyError(error).message;
      if (next !== reason) process.stderr.write(`custody subscribe: still unreachable: ${next}\n`);
      reason = next;
    }
  }
  return undefined;
}

/**
 * Sets the filter, or — without one — repairs a subscription that a killed run left filtered.
 * Returns what undoes the filter (undefined when there is nothing to undo).
 */
async function prepareRules(
  subscription: EventSubscription,
  filter: string | undefined,
  declared: SubscriptionRule[] | undefined,
): Promise<((current: EventSubscription) => Promise<void>) | undefined> {
  const current = await subscription.listRules();
  const putBack = async (rules: readonly SubscriptionRule[], on: EventSubscription = subscription): Promise<void> => {
    const present = new Set((await on.listRules()).map((rule) => rule.name));
    for (const rule of rules) if (!present.has(rule.name)) await on.addRule(rule);
    if (present.has(SUBSCRIBE_RULE_NAME)) await on.removeRule(SUBSCRIBE_RULE_NAME);
  };
  if (filter === undefined) {
    if (current.some((rule) => rule.name === SUBSCRIBE_RULE_NAME)) {
      writeErrorLine(`custody subscribe: removing the filter a previous run left on ${subscription.subscriptionName}`);
      await putBack(declared ?? current.filter((rule) => rule.name !== SUBSCRIBE_RULE_NAME));
    }
    return undefined;
  }
  const plan = planFilterReplacement(current, filter, declared);
  for (const name of plan.stale) await subscription.removeRule(name);
  await subscription.addRule(plan.add);
  for (const name of plan.remove) await subscription.removeRule(name);
  // On the subscription in use at exit: after a reconnect that is another object.
  return (on) => putBack(plan.restore, on);
}

/** Prints and completes a valid event (true); dead-letters anything else with the reason (false). */
async function handle(subscription: EventSubscription, message: ReceivedMessage, json: boolean): Promise<boolean> {
  let event: EvidenceEvent;
  try {
    event = parseEvidenceEvent(message);
  } catch (error) {
    const reason = (error as Error).message;
    writeErrorLine(`custody subscribe: dead-lettered message ${printable(message.messageId ?? "(no id)")}: ${printable(reason)}`);
    await subscription.deadLetter(message, "InvalidEvent", reason);
    return false;
  }
  const line: SubscribeJsonLine = event;
  if (json) writeJsonLine(line);
  else writeLine(textLine(event));
  await subscription.complete(message);
  return true;
}

function textLine(event: EvidenceEvent): string {
  const data = event.data;
  const who = [
    `officer ${printable(data.capture?.officerId ?? "-")}`,
    `device ${printable(data.capture?.deviceId ?? "-")}`,
    ...(data.capture?.unit ? [`unit ${printable(data.capture.unit)}`] : []),
  ].join("  ");
  if (event.type === "org.custody.evidence.updated.v1") {
    const update = event.data;
    const change = `${update.stage} re-run ${printable(update.reprocess.id)}: ${update.renditions.length} rendition(s) replace ${update.replaced.length}`;
    return `${event.time}  ${event.type}  ${data.evidenceId}  ${data.status.padEnd(8)}  ${who}  ${change}`;
  }
  if (event.type === "org.custody.evidence.disposed.v1") {
    const disposal = event.data.disposal;
    const what = `${printable(disposal.category)}, retention ended ${disposal.retainUntil}: original and ${event.data.renditions.length} rendition(s) deleted — delete your copies`;
    return `${event.time}  ${event.type}  ${data.evidenceId}  ${data.status.padEnd(8)}  ${who}  ${what}`;
  }
  const outcome = event.data.status === "ready" ? `${event.data.renditions.length} rendition(s)` : `${event.data.failure.stage}/${event.data.failure.code}: ${printable(event.data.failure.reason)}`;
  const findings = event.data.integrityFindings.length > 0 ? `  INTEGRITY: ${event.data.integrityFindings.map((f) => f.code).join(", ")}` : "";
  return `${event.time}  ${event.type}  ${data.evidenceId}  ${data.status.padEnd(8)}  ${who}  ${outcome}${findings}`;
}

/** `name` or `evidence-ready/name` (or `evidence-ready/Subscriptions/name`). */
function subscriptionOf(name: string): string {
  const parts = name.split("/");
  if (parts.length === 1 && parts[0] !== "") return parts[0];
  const topic = ENTITIES.evidenceReadyTopic;
  if (parts[0] === topic && (parts.length === 2 || (parts.length === 3 && parts[1].toLowerCase() === "subscriptions")) && parts[parts.length - 1] !== "") return parts[parts.length - 1];
  throw new Error(`'${name}' is not a subscription of the ${topic} topic: give its name, e.g. all-events.`);
}
