/**
 * The published contract documents — the JSON Schemas of the events' data and of the retention
 * command, and the AsyncAPI 3 document of the evidence-ready topic and the retention-commands
 * queue (docs/events/) — are valid, agree with each other, with the code's constants and with the
 * topology file; and every subscription of the topology keeps the redrive invariant the
 * dead-letter redrive relies on.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fromFile, Parser } from "@asyncapi/parser";
import Ajv2020 from "ajv/dist/2020";
import topologyFile from "../../topology/servicebus.json";
import { EVIDENCE_EVENT_DATASCHEMAS, EVIDENCE_EVENT_TYPES, eventDataProblems, isEvidenceEventType, parseEvidenceEvent } from "../../shared/contracts/evidence-events";
import { retentionCommandMessageId } from "../../shared/contracts/message-ids";
import { RETENTION_COMMAND_SCHEMA } from "../../shared/contracts/messages";
import { parseMessage } from "../../shared/contracts/validate";
import { ENTITIES } from "../../shared/topology";

const DOCS = path.join(__dirname, "..", "..", "docs", "events");
const SCHEMA_FILES = { "org.custody.evidence.ready.v1": "evidence-ready.v1.schema.json", "org.custody.evidence.failed.v1": "evidence-failed.v1.schema.json" } as const;

interface FileRule {
  Name: string;
  Properties: { FilterType: string; SqlFilter?: { SqlExpression: string } };
}
interface FileSubscription {
  Name: string;
  Rules: FileRule[];
}
const namespace = (topologyFile as unknown as { UserConfig: { Namespaces: Array<{ Queues: Array<{ Name: string }>; Topics: Array<{ Name: string; Subscriptions: FileSubscription[] }> }> } }).UserConfig
  .Namespaces[0];
const topics = namespace.Topics;

interface CommandSchemaGenerator {
  publishedCommandSchemaSource(schema: unknown): string;
  RETENTION_COMMAND_SCHEMA_FILE: string;
}
const commandSchemaGenerator = require("../../scripts/generate-event-schemas") as CommandSchemaGenerator;
const publishedRetentionCommandSchema = () => JSON.parse(readFileSync(commandSchemaGenerator.RETENTION_COMMAND_SCHEMA_FILE, "utf8")) as { $schema: string; $id: string };

describe("JSON Schemas of the events' data", () => {
  test.each(Object.entries(SCHEMA_FILES))("%s: draft 2020-12, compiles strictly, and its $id is the events' dataschema", (type, file) => {
    const schema = JSON.parse(readFileSync(path.join(DOCS, file), "utf8")) as { $schema: string; $id: string; title: string };
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(EVIDENCE_EVENT_DATASCHEMAS[type as keyof typeof EVIDENCE_EVENT_DATASCHEMAS]).toBe(schema.$id);
    expect(schema.title).toContain(type);
    expect(() => new Ajv2020({ strict: true, strictRequired: false }).compile(schema)).not.toThrow();
  });

  test("the generated TypeScript form the event types derive from is what the published schemas give (run scripts/generate-event-schemas.js after editing them)", () => {
    const generator = require("../../scripts/generate-event-schemas") as { generatedModuleSource(): string; MODULE_FILE: string };
    expect(readFileSync(generator.MODULE_FILE, "utf8") === generator.generatedModuleSource()).toBe(true);
  });

  test("no property of the data can carry a URL with a query string (no SAS in events)", () => {
    const ready = JSON.parse(readFileSync(path.join(DOCS, SCHEMA_FILES["org.custody.evidence.ready.v1"]), "utf8")) as { $defs: { original: { properties: { url: { pattern: string } } } } };
    const pattern = new RegExp(ready.$defs.original.properties.url.pattern);
    expect(pattern.test("https://acct.blob.core.windows.net/originals/a.mp4")).toBe(true);
    expect(pattern.test("https://acct.blob.core.windows.net/originals/a.mp4?sv=2024&sig=x")).toBe(false);
  });
});

describe("JSON Schema of the retention command Custody receives", () => {
  test("the published file is what the code's schema gives (run scripts/generate-event-schemas.js after changing RETENTION_COMMAND_SCHEMA)", () => {
    expect(readFileSync(commandSchemaGenerator.RETENTION_COMMAND_SCHEMA_FILE, "utf8")).toBe(commandSchemaGenerator.publishedCommandSchemaSource(RETENTION_COMMAND_SCHEMA));
  });

  test("draft 2020-12, compiles strictly, and its $id is the code's", () => {
    const schema = publishedRetentionCommandSchema();
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toBe(RETENTION_COMMAND_SCHEMA.$id);
    expect(() => new Ajv2020({ strict: true, strictRequired: false }).compile(schema)).not.toThrow();
  });
});

describe("AsyncAPI 3 document of the evidence-ready topic and the retention queues", () => {
  const load = async () => {
    const parser = new Parser();
    const { document, diagnostics } = await fromFile(parser, path.join(DOCS, "asyncapi.yaml")).parse();
    return { document, diagnostics };
  };

  test("parses with the AsyncAPI parser without errors or warnings", async () => {
    const { document, diagnostics } = await load();
    // Severity 0 = error, 1 = warning; 2–3 are information and hints (e.g. "3.1.0 exists").
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-comparison -- spectral-core types severity with its own copy of @stoplight/types' enum; the number is the contract
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.path.join("/")}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe("3.0.0");
  }, 30_000);

  test("describes the topic the code publishes to, its messages and their schemas", async () => {
    const { document } = await load();
    const channels = document!.channels().all();
    expect(channels.map((c) => c.address())).toEqual([ENTITIES.evidenceReadyTopic, ENTITIES.retentionCommands.queueName, ENTITIES.retentionReleases.queueName]);
    const messages = document!.channels().get("evidenceReady")!.messages().all();
    expect(messages.map((m) => m.name()).sort()).toEqual(Object.values(EVIDENCE_EVENT_TYPES).sort());
    for (const message of messages) {
      const type = message.name()!;
      if (!isEvidenceEventType(type)) throw new Error(`unknown message ${type}`);
      expect(message.contentType()).toBe("application/json");
      expect(message.payload()!.json<{ $id?: string }>().$id).toBe(EVIDENCE_EVENT_DATASCHEMAS[type]);
    }
  }, 30_000);

  test("its examples are real events: headers and payload pass the same check a consumer makes", async () => {
    const { document } = await load();
    let checked = 0;
    for (const message of document!.channels().get("evidenceReady")!.messages().all()) {
      const type = message.name()!;
      if (!isEvidenceEventType(type)) throw new Error(`unknown message ${type}`);
      for (const example of message.examples().all()) {
        const payload = example.payload();
        expect(eventDataProblems(type, payload)).toEqual([]);
        const event = parseEvidenceEvent({ body: JSON.stringify(payload), contentType: "application/json", applicationProperties: example.headers() as Record<string, unknown> });
        expect(event.type).toBe(type);
        checked++;
      }
    }
    expect(checked).toBe(5);
  }, 30_000);

  test("lists exactly the topology's subscriptions of the topic, with the same rules", async () => {
    const { document } = await load();
    const documented = document!.json<{ channels: Record<string, { address: string; "x-custody-subscriptions": Array<{ name: string; rules: Record<string, string> }> }> }>().channels.evidenceReady[
      "x-custody-subscriptions"
    ];
    const topic = topics.find((t) => t.Name === ENTITIES.evidenceReadyTopic)!;
    const declared = topic.Subscriptions.map((s) => ({ name: s.Name, rules: Object.fromEntries(s.Rules.map((r) => [r.Name, r.Properties.SqlFilter?.SqlExpression])) }));
    expect(documented.map((s) => ({ name: s.name, rules: s.rules }))).toEqual(declared);
    const receivers = document!
      .channels()
      .get("evidenceReady")!
      .operations()
      .all()
      .filter((o) => o.action() === "receive");
    expect(receivers.map((o) => o.json<{ "x-custody-subscription": string }>()["x-custody-subscription"]).sort()).toEqual(declared.map((s) => s.name).sort());
  }, 30_000);

  test("describes the queue Custody receives retention commands on: the topology's queue, the code's schema, one receive operation", async () => {
    const { document } = await load();
    const channel = document!.channels().get("retentionCommands")!;
    expect(channel.address()).toBe(ENTITIES.retentionCommands.queueName);
    expect(channel.json<{ "x-custody-entity": string }>()["x-custody-entity"]).toBe("queue");
    expect(namespace.Queues.map((q) => q.Name)).toContain(channel.address());
    const messages = channel.messages().all();
    expect(messages.map((m) => m.name())).toEqual([RETENTION_COMMAND_SCHEMA.properties.kind.const]);
    expect(messages[0].contentType()).toBe("application/json");
    expect(messages[0].payload()!.json<{ $id?: string }>().$id).toBe(RETENTION_COMMAND_SCHEMA.$id);
    const operations = channel.operations().all();
    expect(operations.map((o) => [o.action(), o.json<{ title: string }>().title])).toEqual([["receive", "Custody receives retention commands"]]);
    // Releases by their own queue (only records officers may send there), with the same command.
    const releases = document!.channels().get("retentionReleases")!;
    expect(releases.address()).toBe(ENTITIES.retentionReleases.queueName);
    expect(namespace.Queues.map((q) => q.Name)).toContain(releases.address());
    expect(
      releases
        .messages()
        .all()
        .map((m) => m.payload()!.json<{ $id?: string }>().$id),
    ).toEqual([RETENTION_COMMAND_SCHEMA.$id]);
    expect(
      releases
        .operations()
        .all()
        .map((o) => [o.action(), o.json<{ title: string }>().title]),
    ).toEqual([["receive", "Custody receives releases of legal holds"]]);
  }, 30_000);

  test("its retention command examples are commands the index accepts, and its message id rule is the code's", async () => {
    const { document } = await load();
    const message = document!.channels().get("retentionCommands")!.messages().all()[0];
    const published = new Ajv2020({ strict: true, strictRequired: false }).compile(publishedRetentionCommandSchema());
    const template = message.json<{ "x-custody-message-id": string }>()["x-custody-message-id"];
    let checked = 0;
    for (const example of message.examples().all()) {
      const payload = example.payload();
      const command = parseMessage("retention-command", JSON.stringify(payload));
      expect(published(payload)).toBe(true);
      expect(template.replace(/\{(\w+)\}/g, (_, name: "evidenceId" | "commandId") => command[name])).toBe(retentionCommandMessageId(command));
      checked++;
    }
    expect(checked).toBe(2);
  }, 30_000);
});

describe("topology: every subscription keeps the redrive invariant", () => {
  const subscriptions = topics.flatMap((t) => t.Subscriptions.map((s) => [`${t.Name}/${s.Name}`, s] as const));
  test.each(subscriptions)("%s", (_name, subscription) => {
    const redrive = subscription.Rules.find((r) => r.Name === "redrive");
    expect(redrive?.Properties.SqlFilter?.SqlExpression).toBe(`custodyRedriveTo = '${subscription.Name}'`);
    const normal = subscription.Rules.filter((r) => r.Name !== "redrive");
    expect(normal.length).toBeGreaterThan(0);
    // A redriven message (custodyRedriveTo set) reaches only the subscription it names.
    for (const rule of normal) expect(rule.Properties.SqlFilter?.SqlExpression).toMatch(/(^|AND )NOT EXISTS\(custodyRedriveTo\)$/);
  });
});
