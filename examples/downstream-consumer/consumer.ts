/**
 * An example downstream consumer of Custody's evidence events, written against docs/events.md
 * and the JSON Schemas in docs/events/ only — nothing here imports Custody's own code. Copy it
 * as a starting point for a case-management, redaction or disclosure system.
 *
 * What it shows:
 * - reading a CloudEvent in the AMQP binary content mode: attributes from the
 *   `cloudEvents:`-prefixed application properties, `data` from the body;
 * - validating `data` against the schema named by the event's type before acting on it;
 * - idempotency by event (`source` + `id`): Service Bus delivers at least once, so a consumer
 *   must expect a copy of an event it already handled; the ids handled are kept in a file;
 * - dead-lettering, with a reason, any message it cannot understand (an unknown type, a newer
 *   major version it was not written for, data that does not match) instead of retrying it
 *   forever or dropping it silently;
 * - narrowing its own subscription with a filter of its own at start (a rule it owns).
 *
 * Run from the repository's root: `npx tsc -p examples/downstream-consumer && node
 * dist/examples/downstream-consumer/consumer.js`; settings from the environment: EVIDENCE_EVENTS_CONNECTION (a connection string) or
 * EVIDENCE_EVENTS_NAMESPACE (`<ns>.servicebus.windows.net`, keyless with DefaultAzureCredential),
 * EVIDENCE_EVENTS_SUBSCRIPTION, EVIDENCE_EVENTS_FILTER (optional SQL), EVIDENCE_EVENTS_STATE
 * (the file of handled event ids), EVIDENCE_EVENTS_SCHEMAS (default ./docs/events).
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { DefaultAzureCredential } from "@azure/identity";
import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from "@azure/service-bus";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";

// ---------------------------------------------------------------------------------------------
// The contract, as docs/events.md describes it.

export const READY_V1 = "org.custody.evidence.ready.v1";
export const FAILED_V1 = "org.custody.evidence.failed.v1";
/** Follows READY_V1 when an operator re-made renditions (e.g. after an ffmpeg upgrade): swap them in. */
export const UPDATED_V1 = "org.custody.evidence.updated.v1";
/** The last event of a recording: its retention ended and Custody deleted it — delete your copies. */
export const DISPOSED_V1 = "org.custody.evidence.disposed.v1";
const TOPIC = "evidence-ready";

export interface Rendition {
  kind: "proxy" | "audio-proxy" | "poster" | "thumbnail" | "sprite" | "sprite-vtt";
  stage: string;
  name: string;
  container: string;
  path: string;
  contentType: string;
  size: number;
  sha256: string;
  url?: string;
}

export interface EvidenceData {
  evidenceId: string;
  status: "ready" | "failed" | "rejected" | "disposed";
  original: { storageAccount: string; container: string; name: string; versionId?: string; size: number; contentType?: string; sha256?: string; url: string };
  capture?: { officerId?: string; deviceId?: string; recordedAt?: string; unit?: string };
  renditions: Rendition[];
  /** Ready and failed events. */
  integrityFindings?: Array<{ code: string; message: string }>;
  failure?: { stage: string; code: string; reason: string };
  /** Updated events: the stage re-run, the renditions it replaced (still at their paths), who asked and why. */
  stage?: "transcode" | "thumbnail";
  replaced?: Array<Pick<Rendition, "kind" | "stage" | "name" | "container" | "path" | "size" | "sha256" | "url">>;
  reprocess?: { id: string; requestedBy: string; requestedAt: string; reason?: string };
  /** Disposed events: the decision (the renditions listed above were deleted with the original). */
  disposal?: { category: string; retainUntil: string; decidedBy: string; reason: string; deletedAt: string };
}

export interface EvidenceEvent {
  id: string;
  source: string;
  type: typeof READY_V1 | typeof FAILED_V1 | typeof UPDATED_V1 | typeof DISPOSED_V1;
  subject: string;
  time: string;
  data: EvidenceData;
}

/** Thrown for a message this consumer cannot understand: it is dead-lettered with `reason`. */
export class UnrecognisedEvent extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "UnrecognisedEvent";
  }
}

/** The validators for the types this consumer was written for, from the published schemas. */
export function loadValidators(schemaDir: string): Record<string, ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: true, strictRequired: false });
  const load = (file: string) => ajv.compile(JSON.parse(readFileSync(path.join(schemaDir, file), "utf8")) as object);
  return {
    [READY_V1]: load("evidence-ready.v1.schema.json"),
    [FAILED_V1]: load("evidence-failed.v1.schema.json"),
    [UPDATED_V1]: load("evidence-updated.v1.schema.json"),
    [DISPOSED_V1]: load("evidence-disposed.v1.schema.json"),
  };
}

/** Reads a binary-mode CloudEvent from a received message; throws UnrecognisedEvent when it is not one this consumer knows. */
export function readEvent(message: Pick<ServiceBusReceivedMessage, "body" | "applicationProperties" | "contentType">, validators: Record<string, ValidateFunction>): EvidenceEvent {
  const properties = message.applicationProperties ?? {};
  const attribute = (name: string): string => {
    const value = properties[`cloudEvents:${name}`];
    // `time` is an AMQP timestamp: this SDK hands it over as epoch milliseconds (a Date with
    // `skipConvertingDate: true`); the binding also allows the RFC 3339 string.
    if (name === "time" && typeof value === "number") return new Date(value).toISOString();
    if (name === "time" && value instanceof Date) return value.toISOString();
    if (typeof value !== "string" || value === "") throw new UnrecognisedEvent(`missing CloudEvents attribute cloudEvents:${name}`);
    return value;
  };
  if (attribute("specversion") !== "1.0") throw new UnrecognisedEvent(`CloudEvents specversion ${attribute("specversion")} is not 1.0`);
  const type = attribute("type");
  const validate = validators[type];
  // A type we were not written for — including a future .v2 — is not guessed at.
  if (validate === undefined) throw new UnrecognisedEvent(`unknown event type ${type}`);
  let data: unknown = message.body;
  if (Buffer.isBuffer(data)) data = data.toString("utf8");
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      throw new UnrecognisedEvent("body is not JSON");
    }
  }
  if (!validate(data)) {
    const problems = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
    throw new UnrecognisedEvent(`data does not match the ${type} schema: ${problems.join("; ")}`);
  }
  return { id: attribute("id"), source: attribute("source"), type: type as EvidenceEvent["type"], subject: attribute("subject"), time: attribute("time"), data: data as EvidenceData };
}

// ---------------------------------------------------------------------------------------------
// Idempotency: the events already handled, one `source id` per line, appended after handling.

export class HandledEvents {
  private readonly handled = new Set<string>();

  constructor(private readonly file: string) {
    if (existsSync(file)) for (const line of readFileSync(file, "utf8").split("\n")) if (line !== "") this.handled.add(line);
  }

  has(event: EvidenceEvent): boolean {
    return this.handled.has(HandledEvents.key(event));
  }

  add(event: EvidenceEvent): void {
    const key = HandledEvents.key(event);
    if (this.handled.has(key)) return;
    // Written before the message is completed: a crash in between means a redelivery that
    // this file recognises, never an event handled twice.
    appendFileSync(this.file, `${key}\n`);
    this.handled.add(key);
  }

  private static key(event: EvidenceEvent): string {
    return `${event.source} ${event.id}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The consumer.

export interface ConsumerOptions {
  /** A connection string, or a namespace (`<ns>.servicebus.windows.net`) for DefaultAzureCredential. */
  connectionString?: string;
  fullyQualifiedNamespace?: string;
  subscription: string;
  /** Optional SQL filter over the routing properties (e.g. `unit = 'camden'`), set as this consumer's rule. */
  filter?: string;
  /** File of handled event ids. */
  stateFile: string;
  /** Folder holding the event schemas (docs/events in Custody's repository). */
  schemaDir: string;
  /** What to do with each new event. Throwing makes Service Bus redeliver the event later. */
  onEvent: (event: EvidenceEvent) => Promise<void> | void;
  /** Called for every message dead-lettered. */
  onDeadLettered?: (messageId: string | undefined, reason: string) => void;
}

export interface RunningConsumer {
  stop(): Promise<void>;
}

const FILTER_RULE = "consumer-filter";

export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const client = options.connectionString ? new ServiceBusClient(options.connectionString) : new ServiceBusClient(options.fullyQualifiedNamespace ?? "", new DefaultAzureCredential());
  const validators = loadValidators(options.schemaDir);
  const handled = new HandledEvents(options.stateFile);
  if (options.filter !== undefined) await setFilter(client, options.subscription, options.filter);

  const receiver = client.createReceiver(TOPIC, options.subscription, { receiveMode: "peekLock" });
  const subscription = receiver.subscribe(
    {
      processMessage: (message) => handle(receiver, message, validators, handled, options),
      processError: async () => {
        // The SDK reconnects by itself; a real consumer would log args.error here.
      },
    },
    { autoCompleteMessages: false, maxConcurrentCalls: 1 },
  );
  return {
    async stop() {
      await subscription.close();
      await receiver.close();
      await client.close();
    },
  };
}

async function handle(receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage, validators: Record<string, ValidateFunction>, handled: HandledEvents, options: ConsumerOptions): Promise<void> {
  let event: EvidenceEvent;
  try {
    event = readEvent(message, validators);
  } catch (error) {
    if (!(error instanceof UnrecognisedEvent)) throw error;
    await receiver.deadLetterMessage(message, { deadLetterReason: "UnrecognisedEvent", deadLetterErrorDescription: error.reason });
    options.onDeadLettered?.(message.messageId === undefined ? undefined : String(message.messageId), error.reason);
    return;
  }
  if (!handled.has(event)) {
    await options.onEvent(event);
    handled.add(event);
  }
  await receiver.completeMessage(message);
}

/**
 * Narrows this consumer's own subscription to `sql`: one rule `(sql) AND NOT EXISTS(custodyRedriveTo)`
 * replaces its other rules, and the `redrive` rule is kept (docs/events.md, "Filtering").
 * Service Bus copies a message when ANY rule matches, so a narrower filter means removing the
 * wider rules, not adding one. Idempotent: a restart with the same filter changes nothing.
 */
async function setFilter(client: ServiceBusClient, subscription: string, sql: string): Promise<void> {
  const rules = client.createRuleManager(TOPIC, subscription);
  const expression = `(${sql}) AND NOT EXISTS(custodyRedriveTo)`;
  const existing: Array<{ name: string; sql?: string }> = [];
  for await (const rule of rules.listRules()) existing.push({ name: rule.name, sql: (rule.filter as { sqlExpression?: string }).sqlExpression });
  const mine = existing.find((rule) => rule.name === FILTER_RULE);
  if (mine?.sql !== expression) {
    if (mine !== undefined) await rules.deleteRule(FILTER_RULE);
    await rules.createRule(FILTER_RULE, { sqlExpression: expression });
  }
  for (const rule of existing) if (rule.name !== FILTER_RULE && rule.name !== "redrive") await rules.deleteRule(rule.name);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const env = process.env;
  const consumer = await startConsumer({
    connectionString: env.EVIDENCE_EVENTS_CONNECTION,
    fullyQualifiedNamespace: env.EVIDENCE_EVENTS_NAMESPACE,
    subscription: env.EVIDENCE_EVENTS_SUBSCRIPTION ?? "all-events",
    filter: env.EVIDENCE_EVENTS_FILTER,
    stateFile: env.EVIDENCE_EVENTS_STATE ?? "handled-events.txt",
    schemaDir: env.EVIDENCE_EVENTS_SCHEMAS ?? path.resolve("docs", "events"),
    onEvent(event) {
      const d = event.data;
      const replacedProxy = d.replaced?.find((r) => r.kind === "proxy");
      const detail =
        event.type === DISPOSED_V1
          ? `DISPOSED (${d.disposal?.category}, retention ended ${d.disposal?.retainUntil}): delete the original sha256 ${d.original.sha256 ?? "-"} and ${d.renditions.length} rendition(s)`
          : event.type === UPDATED_V1
            ? `${d.stage} re-run (${d.reprocess?.reason ?? "no reason given"}); ${d.renditions.length} new renditions${replacedProxy ? `; proxy ${replacedProxy.sha256} replaced by ${d.renditions.find((r) => r.kind === "proxy")?.sha256 ?? "-"}` : ""}`
            : d.status === "ready"
              ? `${d.renditions.length} renditions; proxy ${d.renditions.find((r) => r.kind === "proxy")?.url ?? "-"}`
              : `${d.failure?.stage}/${d.failure?.code}: ${d.failure?.reason}`;
      console.log(`${event.time} ${event.type} ${d.evidenceId} officer ${d.capture?.officerId ?? "-"}: ${detail}`);
    },
    onDeadLettered: (id, reason) => console.error(`dead-lettered ${id ?? "(no id)"}: ${reason}`),
  });
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await consumer.stop();
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
