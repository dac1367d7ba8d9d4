/**
 * The product's public contract: the evidence-ready, evidence-failed, evidence-updated and
 * evidence-disposed events
 * on the `evidence-ready` topic, as CloudEvents 1.0 in the AMQP binding's **binary** content mode.
 *
 * - The event's `data` is the message body (JSON, `content-type: application/json`, which the
 *   binding maps to `datacontenttype`). Its JSON Schemas (draft 2020-12) are the files in
 *   docs/events/ — the same files downstream teams read — loaded here, so the schema the
 *   product checks against can never drift from the published one. The TypeScript types of the
 *   data are derived from the same files (scripts/generate-event-schemas.js, checked by the
 *   contract documents test).
 * - Every other CloudEvents attribute is an application property prefixed `cloudEvents:`
 *   (`cloudEvents:id`, `cloudEvents:type`, …), `time` as an AMQP timestamp.
 * - Routing properties without prefix (`eventType`, `evidenceId`, `status`, `officerId`,
 *   `deviceId`, `unit`) are for subscription filters: Service Bus SQL needs no brackets for
 *   them and correlation filters can match them.
 *
 * Why binary and not structured (`application/cloudevents+json`): subscriptions filter on
 * application properties, which binary mode carries by definition (structured mode would carry
 * every attribute twice); the body stays exactly the `data` its schema describes, so a consumer
 * without a CloudEvents SDK parses one JSON document and validates it; and Service Bus tools
 * show the attributes as properties. The cost — a hop that drops application properties loses
 * the attributes — is covered by Custody's own redrive, which keeps them (docs/events.md).
 *
 * Versioning: the version is part of `type` (`….v1`). Additive changes (a new optional
 * property) keep the type; anything else is a new type (`….v2`) published alongside the old
 * one during a deprecation window, with the same `cloudEvents:id` (one occurrence) and its own
 * Service Bus message id (duplicate detection must not drop it).
 */
import Ajv2020 from "ajv/dist/2020";
import evidenceDisposedSchema from "../../docs/events/evidence-disposed.v1.schema.json";
import evidenceFailedSchema from "../../docs/events/evidence-failed.v1.schema.json";
import evidenceReadySchema from "../../docs/events/evidence-ready.v1.schema.json";
import evidenceUpdatedSchema from "../../docs/events/evidence-updated.v1.schema.json";
import type { FromSchema } from "json-schema-to-ts";
import { CustodyError } from "../errors";
import { EVIDENCE_DISPOSED_DATA_SCHEMA, EVIDENCE_FAILED_DATA_SCHEMA, EVIDENCE_READY_DATA_SCHEMA, EVIDENCE_UPDATED_DATA_SCHEMA } from "./evidence-event-schemas.generated";

/**
 * The events by their short names: the two outcome events (the record's `finalEvent.type`),
 * evidence-updated — an operator's re-run replaced renditions of a ready recording — and
 * evidence-disposed — its retention ended and everything of it was deleted.
 */
export type EvidenceEventName = "evidence-ready" | "evidence-failed" | "evidence-updated" | "evidence-disposed";

export const CLOUDEVENTS_SPEC_VERSION = "1.0";

/** CloudEvents `type` of each event: reverse-DNS, versioned. */
export const EVIDENCE_EVENT_TYPES = {
  "evidence-ready": "org.custody.evidence.ready.v1",
  "evidence-failed": "org.custody.evidence.failed.v1",
  "evidence-updated": "org.custody.evidence.updated.v1",
  "evidence-disposed": "org.custody.evidence.disposed.v1",
} as const satisfies Record<EvidenceEventName, string>;
export type EvidenceEventType = (typeof EVIDENCE_EVENT_TYPES)[EvidenceEventName];

/** CloudEvents `dataschema` of each type: the `$id` of its schema file in docs/events/. */
export const EVIDENCE_EVENT_DATASCHEMAS = {
  "org.custody.evidence.ready.v1": evidenceReadySchema.$id,
  "org.custody.evidence.failed.v1": evidenceFailedSchema.$id,
  "org.custody.evidence.updated.v1": evidenceUpdatedSchema.$id,
  "org.custody.evidence.disposed.v1": evidenceDisposedSchema.$id,
} as const satisfies Record<EvidenceEventType, string>;

/** The `datacontenttype` (the AMQP content-type in binary mode). */
export const EVIDENCE_EVENT_CONTENT_TYPE = "application/json";

/** `source` when the deployment sets none (CUSTODY_EVENT_SOURCE). */
export const DEFAULT_EVENT_SOURCE = "/custody";

/** The binding's prefix for CloudEvents attributes in AMQP application properties. */
export const CLOUDEVENTS_PROPERTY_PREFIX = "cloudEvents:";

/** Application property names: the CloudEvents attributes, then the routing properties. */
export const EVENT_PROPERTIES = {
  specversion: "cloudEvents:specversion",
  id: "cloudEvents:id",
  source: "cloudEvents:source",
  type: "cloudEvents:type",
  subject: "cloudEvents:subject",
  time: "cloudEvents:time",
  dataschema: "cloudEvents:dataschema",
  eventType: "eventType",
  evidenceId: "evidenceId",
  status: "status",
  officerId: "officerId",
  deviceId: "deviceId",
  unit: "unit",
} as const;

/**
 * The events' data, as Custody produces it: derived from the published schemas (closed, in the
 * generated module), so a property exists in the types exactly when docs/events/ names it.
 */
export type EvidenceReadyData = FromSchema<typeof EVIDENCE_READY_DATA_SCHEMA>;
export type EvidenceFailedData = FromSchema<typeof EVIDENCE_FAILED_DATA_SCHEMA>;
/** An operator's re-run replaced renditions of a ready recording (new paths: a re-run never overwrites what downstream was told). */
export type EvidenceUpdatedData = FromSchema<typeof EVIDENCE_UPDATED_DATA_SCHEMA>;
/** A recording's retention ended: its original and every rendition were deleted (downstream deletes its copies). */
export type EvidenceDisposedData = FromSchema<typeof EVIDENCE_DISPOSED_DATA_SCHEMA>;
/** The original as the events describe it (evidence-ready and evidence-updated also require its `sha256`). */
export type EventOriginal = EvidenceFailedData["original"];
export type EventCapture = NonNullable<EvidenceFailedData["capture"]>;
export type EventMediaSummary = NonNullable<EvidenceFailedData["media"]>;
export type EventRendition = EvidenceFailedData["renditions"][number];
export type EventIntegrityFinding = EvidenceFailedData["integrityFindings"][number];
export type EventFailure = EvidenceFailedData["failure"];

/** A rendition an evidence-updated event says was replaced: where it is (still), its size and digest. */
export type EventReplacedRendition = EvidenceUpdatedData["replaced"][number];

export interface EventDataByType {
  "org.custody.evidence.ready.v1": EvidenceReadyData;
  "org.custody.evidence.failed.v1": EvidenceFailedData;
  "org.custody.evidence.updated.v1": EvidenceUpdatedData;
  "org.custody.evidence.disposed.v1": EvidenceDisposedData;
}

/** The CloudEvents context attributes of one event (binary mode: its `cloudEvents:` properties and content type). */
export interface EvidenceEventAttributes<T extends EvidenceEventType = EvidenceEventType> {
  specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  id: string;
  source: string;
  type: T;
  subject: string;
  time: string;
  dataschema: string;
  datacontenttype: string;
}

/** A received event: attributes plus validated data, discriminated by `type`. */
export type EvidenceEvent = {
  [T in EvidenceEventType]: EvidenceEventAttributes<T> & { data: EventDataByType[T] };
}[EvidenceEventType];

// strictRequired is off: the ready schema narrows `$ref`'d objects with `required` beside an allOf.
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
/**
 * What consumers validate against: the published schemas, which admit properties they do not
 * name — additive changes keep the version, so a consumer written against v1 must still accept
 * a v1 event that gained an optional property.
 */
const validators = {
  "org.custody.evidence.ready.v1": ajv.compile(evidenceReadySchema),
  "org.custody.evidence.failed.v1": ajv.compile(evidenceFailedSchema),
  "org.custody.evidence.updated.v1": ajv.compile(evidenceUpdatedSchema),
  "org.custody.evidence.disposed.v1": ajv.compile(evidenceDisposedSchema),
} as const;
/**
 * What Custody checks its own events against: the same schemas closed (`additionalProperties:
 * false` on every object that names its properties), so a property the producer adds without
 * adding it to the published schema fails the tests instead of shipping undocumented.
 */
const producerAjv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
const producerValidators = {
  "org.custody.evidence.ready.v1": producerAjv.compile(EVIDENCE_READY_DATA_SCHEMA),
  "org.custody.evidence.failed.v1": producerAjv.compile(EVIDENCE_FAILED_DATA_SCHEMA),
  "org.custody.evidence.updated.v1": producerAjv.compile(EVIDENCE_UPDATED_DATA_SCHEMA),
  "org.custody.evidence.disposed.v1": producerAjv.compile(EVIDENCE_DISPOSED_DATA_SCHEMA),
} as const;

export function isEvidenceEventType(value: unknown): value is EvidenceEventType {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(validators, value);
}

/**
 * The schema violations of `data` for `type` (JSON pointer + message), empty when valid.
 * `closed`: check as the producer (no property the schema does not name) — Custody's own tests.
 */
export function eventDataProblems(type: EvidenceEventType, data: unknown, options: { closed?: boolean } = {}): string[] {
  const validate = (options.closed ? producerValidators : validators)[type];
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}${e.params && "allowedValues" in e.params ? ` (${JSON.stringify(e.params.allowedValues)})` : ""}`);
}

/** What a received Service Bus message looks like to this parser (the SDK's message fits). */
export interface ReceivedEventMessage {
  body: unknown;
  contentType?: string;
  applicationProperties?: Record<string, unknown>;
}

/**
 * Reads a received message as an evidence event (binary mode), checking every required
 * attribute and the data against its schema. Anything else — an unknown type, a missing
 * attribute, data that does not match — is CustodyError("InvalidMessage") listing the
 * problems: the text to dead-letter it with.
 */
export function parseEvidenceEvent(message: ReceivedEventMessage, options: { closed?: boolean } = {}): EvidenceEvent {
  const properties = message.applicationProperties ?? {};
  const problems: string[] = [];
  const attribute = (name: keyof typeof EVENT_PROPERTIES): string | undefined => {
    const value = properties[EVENT_PROPERTIES[name]];
    if (typeof value === "string" && value.length > 0) return value;
    problems.push(`application property ${EVENT_PROPERTIES[name]} is ${value === undefined ? "missing" : "not a non-empty string"}`);
    return undefined;
  };
  const specversion = attribute("specversion");
  if (specversion !== undefined && specversion !== CLOUDEVENTS_SPEC_VERSION) problems.push(`cloudEvents:specversion is '${specversion}', expected '1.0'`);
  const id = attribute("id");
  const source = attribute("source");
  const type = attribute("type");
  const subject = attribute("subject");
  const dataschema = attribute("dataschema");
  const time = eventTime(properties[EVENT_PROPERTIES.time], problems);
  if (type !== undefined && !isEvidenceEventType(type)) problems.push(`cloudEvents:type '${type}' is not an evidence event type this reader knows (${Object.keys(validators).join(", ")})`);
  const contentType = message.contentType ?? "";
  if (!/^application\/json\s*(;|$)/i.test(contentType)) problems.push(`content type is '${contentType}', expected application/json (binary content mode)`);

  let data = message.body;
  if (Buffer.isBuffer(data)) data = data.toString("utf8");
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch (error) {
      problems.push(`body is not JSON (${(error as Error).message})`);
    }
  }
  if (problems.length === 0 && isEvidenceEventType(type)) {
    for (const problem of eventDataProblems(type, data, options)) problems.push(`data${problem}`);
    const evidenceId = (data as { evidenceId?: unknown } | null)?.evidenceId;
    if (problems.length === 0 && subject !== evidenceId) problems.push(`cloudEvents:subject '${subject}' is not the data's evidenceId '${String(evidenceId)}'`);
  }
  // A missing attribute is always a problem too; the checks below only tell the compiler.
  if (problems.length > 0 || id === undefined || source === undefined || subject === undefined || time === undefined || dataschema === undefined) {
    throw new CustodyError("InvalidMessage", `not a valid evidence event: ${problems.slice(0, 10).join("; ")}`);
  }
  return { specversion: CLOUDEVENTS_SPEC_VERSION, id, source, type, subject, time, dataschema, datacontenttype: contentType, data } as EvidenceEvent;
}

/**
 * `cloudEvents:time`: an AMQP timestamp or its canonical RFC 3339 string — the binding allows
 * both. The JavaScript SDK hands an AMQP timestamp over as epoch milliseconds (a number)
 * unless the receiver asks for `skipConvertingDate`, so a number is read as that.
 */
function eventTime(value: unknown, problems: string[]): string | undefined {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return new Date(value).toISOString();
  if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return value;
  problems.push(`application property cloudEvents:time is ${value === undefined ? "missing" : "not a timestamp"}`);
  return undefined;
}
