/**
 * Parsing message bodies at a boundary: JSON Schema validation (ajv, draft 2020-12), compiled
 * once per schema. An invalid body becomes `CustodyError("InvalidMessage")` whose message lists
 * every violation with its JSON pointer — the text an operator sees as the dead-letter reason.
 */
import Ajv2020 from "ajv/dist/2020";
import { CustodyError } from "../errors";
import {
  CREDENTIALS_REQUEST_SCHEMA,
  CREDENTIALS_RESULT_SCHEMA,
  EVIDENCE_RECEIVED_SCHEMA,
  FIXITY_RESULT_SCHEMA,
  JOIN_REQUEST_SCHEMA,
  RETENTION_COMMAND_SCHEMA,
  SEGMENT_PLAN_SCHEMA,
  SEGMENT_REQUEST_SCHEMA,
  SEGMENT_RESULT_SCHEMA,
  STAGE_RESULT_SCHEMA,
  type CredentialsRequestMessage,
  type CredentialsResultMessage,
  type EvidenceReceivedMessage,
  type FixityResultMessage,
  type JoinRequestMessage,
  type RetentionCommandMessage,
  type SegmentPlanMessage,
  type SegmentRequestMessage,
  type SegmentResultMessage,
  type StageResultMessage,
} from "./messages";

export interface MessageKinds {
  "evidence-received": EvidenceReceivedMessage;
  "stage-result": StageResultMessage;
  "fixity-result": FixityResultMessage;
  "segment-plan": SegmentPlanMessage;
  "segment-request": SegmentRequestMessage;
  "segment-result": SegmentResultMessage;
  "join-request": JoinRequestMessage;
  "retention-command": RetentionCommandMessage;
  "credentials-request": CredentialsRequestMessage;
  "credentials-result": CredentialsResultMessage;
}
export type MessageKind = keyof MessageKinds;

// strictRequired is off: the if/then blocks require properties declared at the top level, which strict mode cannot see.
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: false });
const validators = {
  "evidence-received": ajv.compile(EVIDENCE_RECEIVED_SCHEMA),
  "stage-result": ajv.compile(STAGE_RESULT_SCHEMA),
  "fixity-result": ajv.compile(FIXITY_RESULT_SCHEMA),
  "segment-plan": ajv.compile(SEGMENT_PLAN_SCHEMA),
  "segment-request": ajv.compile(SEGMENT_REQUEST_SCHEMA),
  "segment-result": ajv.compile(SEGMENT_RESULT_SCHEMA),
  "join-request": ajv.compile(JOIN_REQUEST_SCHEMA),
  "retention-command": ajv.compile(RETENTION_COMMAND_SCHEMA),
  "credentials-request": ajv.compile(CREDENTIALS_REQUEST_SCHEMA),
  "credentials-result": ajv.compile(CREDENTIALS_RESULT_SCHEMA),
};

/** Validates a received body (an object, a JSON string or a Buffer of JSON) as `kind`. */
export function parseMessage<K extends MessageKind>(kind: K, body: unknown): MessageKinds[K] {
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString("utf8");
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new CustodyError("InvalidMessage", `${kind}: body is not JSON (${(error as Error).message})`);
    }
  }
  const validate = validators[kind];
  if (!validate(value)) {
    const problems = (validate.errors ?? [])
      .slice(0, 10)
      .map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}${e.params && "allowedValues" in e.params ? ` (${JSON.stringify(e.params.allowedValues)})` : ""}`)
      .join("; ");
    throw new CustodyError("InvalidMessage", `${kind}: body does not match schema v1: ${problems}`);
  }
  return value as MessageKinds[K];
}

/** True when a value is a valid `kind` body (for tests and tools that only check). */
export function isValidMessage(kind: MessageKind, body: unknown): boolean {
  return validators[kind](body);
}

/**
 * The `kind` a body claims (an object, a JSON string or a Buffer of JSON), undefined when it
 * names none or is not JSON: lets one queue carry several kinds (stage-results carries
 * stage-result and fixity-result) while each is still validated by its own schema.
 */
export function claimedKind(body: unknown): string | undefined {
  let value = body;
  try {
    if (Buffer.isBuffer(value)) value = value.toString("utf8");
    if (typeof value === "string") value = JSON.parse(value);
  } catch {
    return undefined;
  }
  const kind = value !== null && typeof value === "object" ? (value as { kind?: unknown }).kind : undefined;
  return typeof kind === "string" ? kind : undefined;
}
