/**
 * The `<entity>/$management` request/response node: lock renewal, peek, scheduling,
 * settlement by lock token, deferred receive, sessions and rules — the operations the SDK's
 * ManagementClient sends. Each request is one AMQP message with `operation` in its
 * application properties and a map body; the reply carries `statusCode` (camelCase here,
 * unlike CBS) and, on failure, `statusDescription` and `error-condition`.
 */
import rhea = require("rhea");
import type { Message as AmqpMessage } from "rhea";
import type { CorrelationFilterSpec, RuleFilterSpec, RuleSpec } from "../config/types";
import { EmulatorError } from "../errors";
import type { ServiceBusNamespace } from "../store/namespace";
import {
  decodeMessage,
  encodeMessage,
  ensureMessageId,
  lockTokenToUuid,
  longArray,
  readLong,
  readLongArray,
  scheduledEnqueueTimeOf,
  toDeliveredMessage,
  uuidToLockToken,
  withoutBrokerAnnotations,
} from "./codec";

const { types } = rhea;

export interface ManagementReply {
  statusCode: number;
  body?: unknown;
}

type Handler = (namespace: ServiceBusNamespace, address: string, body: Record<string, unknown>, maxMessageSize: number) => ManagementReply;

const RULE_DESCRIPTOR = {
  ruleDescription: 0x0000013700000004,
  sqlFilter: 0x000001370000006,
  trueFilter: 0x000001370000007,
  falseFilter: 0x000001370000008,
  correlationFilter: 0x000001370000009,
  sqlRuleAction: 0x0000013700000006,
  emptyRuleAction: 0x0000013700000005,
};

const OPERATIONS: Record<string, Handler> = {
  "com.microsoft:renew-lock": (ns, address, body) => {
    const entity = ns.receivableEntity(address);
    const tokens = arrayField(body, "lock-tokens").map(uuidToLockToken);
    const expirations = tokens.map((token) => new Date(entity.renewLock(token)));
    return ok({ expirations });
  },

  "com.microsoft:peek-message": (ns, address, body) => {
    const entity = ns.receivableEntity(address);
    const from = readLong(body["from-sequence-number"], "from-sequence-number");
    const count = numberField(body, "message-count");
    const sessionId = optionalString(body, "session-id");
    const messages = entity.peek(from, count, sessionId);
    if (messages.length === 0) return { statusCode: 204 };
    return ok({ messages: messages.map((m) => ({ message: encodeMessage(toDeliveredMessage(m)) })) });
  },

  "com.microsoft:schedule-message": (ns, address, body, maxMessageSize) => {
    const items = arrayField(body, "messages");
    const sequenceNumbers: number[] = [];
    for (const item of items) {
      const raw = (item as Record<string, unknown>)?.message;
      if (!Buffer.isBuffer(raw)) throw new EmulatorError("ArgumentError", "Each scheduled message must carry 'message' as binary.");
      if (raw.length > maxMessageSize) throw sizeExceeded(raw.length, maxMessageSize);
      const amqp = ensureMessageId(withoutBrokerAnnotations(decodeMessage(raw)));
      const at = scheduledEnqueueTimeOf(amqp) ?? Date.now();
      const seq = ns.send(address, { amqp, size: raw.length }, Math.max(at, Date.now() + 1));
      // A duplicate dropped by duplicate detection still gets a handle: cancelling it is a no-op on the service too.
      sequenceNumbers.push(seq ?? 0);
    }
    return ok({ "sequence-numbers": longArray(sequenceNumbers) });
  },

  "com.microsoft:cancel-scheduled-message": (ns, address, body) => {
    ns.cancelScheduled(address, readLongArray(body["sequence-numbers"], "sequence-numbers"));
    return ok({});
  },

  "com.microsoft:update-disposition": (ns, address, body) => {
    const entity = ns.receivableEntity(address);
    const tokens = arrayField(body, "lock-tokens").map(uuidToLockToken);
    const status = stringField(body, "disposition-status");
    const properties = mapField(body, "properties-to-modify");
    for (const token of tokens) {
      switch (status) {
        case "completed":
          entity.complete(token);
          break;
        case "abandoned":
          entity.abandon(token, properties);
          break;
        case "defered":
        case "deferred":
          entity.defer(token, properties);
          break;
        case "suspended":
          entity.deadLetter(token, optionalString(body, "deadletter-reason"), optionalString(body, "deadletter-description"), properties);
          break;
        default:
          throw new EmulatorError("ArgumentError", `Unknown disposition-status '${status}'.`);
      }
    }
    return ok({});
  },

  "com.microsoft:receive-by-sequence-number": (ns, address, body) => {
    const entity = ns.receivableEntity(address);
    const sequenceNumbers = readLongArray(body["sequence-numbers"], "sequence-numbers");
    // receiver-settle-mode: 0 = receive-and-delete, 1 = peek-lock (the SDK's encoding).
    const mode = body["receiver-settle-mode"] === 0 ? "receiveAndDelete" : "peekLock";
    const received = entity.receiveDeferred(sequenceNumbers, mode, optionalString(body, "session-id"));
    return ok({
      messages: received.map(({ message, lockToken }) => {
        const item: Record<string, unknown> = { message: encodeMessage(toDeliveredMessage(message)) };
        if (lockToken) item["lock-token"] = lockTokenToUuid(lockToken);
        return item;
      }),
    });
  },

  "com.microsoft:renew-session-lock": (ns, address, body) => {
    const entity = ns.receivableEntity(address);
    return ok({ expiration: new Date(entity.renewSessionLock(stringField(body, "session-id"))) });
  },

  "com.microsoft:set-session-state": (ns, address, body) => {
    const entity = ns.receivableEntity(address);
    const state = body["session-state"];
    entity.setSessionState(stringField(body, "session-id"), state === null || state === undefined ? undefined : toBuffer(state));
    return ok({});
  },

  "com.microsoft:get-session-state": (ns, address, body) => {
    const entity = ns.receivableEntity(address);
    const state = entity.getSessionState(stringField(body, "session-id"));
    return ok({ "session-state": state ?? null });
  },

  "com.microsoft:get-message-sessions": (ns, address, body) => {
    const entity = ns.receivableEntity(address);
    const skip = typeof body.skip === "number" ? body.skip : 0;
    const top = typeof body.top === "number" ? body.top : Number.MAX_SAFE_INTEGER;
    const ids = entity.sessionIds().slice(skip, skip + top);
    if (ids.length === 0) return { statusCode: 204 };
    return ok({ skip, "sessions-ids": ids });
  },

  "com.microsoft:add-rule": (ns, address, body) => {
    const subscription = subscriptionAt(ns, address);
    const name = stringField(body, "rule-name");
    const description = mapField(body, "rule-description") ?? {};
    subscription.addRule(ruleFromDescription(name, description));
    return ok({});
  },

  "com.microsoft:remove-rule": (ns, address, body) => {
    subscriptionAt(ns, address).removeRule(stringField(body, "rule-name"));
    return ok({});
  },

  "com.microsoft:enumerate-rules": (ns, address, body) => {
    // The service lists rules by name, not by creation ($Default, correlationRule, sqlRule).
    const rules = [...subscriptionAt(ns, address).rules()].sort((a, b) => compareRuleNames(a.name, b.name));
    const skip = typeof body.skip === "number" ? body.skip : 0;
    const top = typeof body.top === "number" ? body.top : rules.length;
    const page = rules.slice(skip, skip + top);
    if (page.length === 0) return { statusCode: 204 };
    return ok({ rules: page.map((rule) => ({ "rule-description": describeRule(rule) })) });
  },
};

/** Runs one management request; errors become error replies, never exceptions. */
export function handleManagementRequest(
  namespace: ServiceBusNamespace,
  address: string,
  request: AmqpMessage,
  maxMessageSize: number,
): { application_properties: Record<string, unknown>; body: unknown } {
  const operation: unknown = request.application_properties?.operation;
  try {
    const handler = typeof operation === "string" ? OPERATIONS[operation] : undefined;
    if (!handler) {
      throw new EmulatorError("NotImplemented", `The management operation '${String(operation)}' is not supported by the emulator.`);
    }
    const body = request.body && typeof request.body === "object" && !Buffer.isBuffer(request.body) ? (request.body as Record<string, unknown>) : {};
    const reply = handler(namespace, address, body, maxMessageSize);
    return {
      application_properties: { statusCode: reply.statusCode, statusDescription: reply.statusCode === 204 ? "No Content" : "OK" },
      body: reply.body ?? {},
    };
  } catch (error) {
    const emulatorError = error instanceof EmulatorError ? error : new EmulatorError("ArgumentError", `The request could not be processed: ${(error as Error).message}`);
    return {
      application_properties: {
        statusCode: emulatorError.statusCode,
        statusDescription: emulatorError.message,
        "error-condition": emulatorError.condition,
      },
      body: {},
    };
  }
}

function compareRuleNames(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function ok(body: unknown): ManagementReply {
  return { statusCode: 200, body };
}

function sizeExceeded(size: number, max: number): EmulatorError {
  return new EmulatorError("MessageSizeExceeded", `The received message (size ${size} bytes) exceeds the limit (${max} bytes) currently allowed on the link.`);
}

function subscriptionAt(ns: ServiceBusNamespace, address: string) {
  const resolved = ns.resolve(address);
  if (resolved.kind !== "subscription" || resolved.address.subQueue) {
    throw new EmulatorError("InvalidOperation", `Rules exist only on subscriptions; '${address}' is not one.`);
  }
  return resolved.subscription;
}

function arrayField(body: Record<string, unknown>, name: string): unknown[] {
  const value = body[name];
  if (!Array.isArray(value) || value.length === 0) throw new EmulatorError("ArgumentError", `'${name}' must be a non-empty array.`);
  return value;
}

function numberField(body: Record<string, unknown>, name: string): number {
  const value = body[name];
  if (typeof value !== "number" || !Number.isFinite(value) || value < 1) throw new EmulatorError("ArgumentError", `'${name}' must be a positive number.`);
  return value;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== "string" || value.length === 0) throw new EmulatorError("ArgumentError", `'${name}' must be a non-empty string.`);
  return value;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  return typeof value === "string" ? value : undefined;
}

function mapField(body: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const value = body[name];
  return value && typeof value === "object" && !Array.isArray(value) && !Buffer.isBuffer(value) ? (value as Record<string, unknown>) : undefined;
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === "string") return Buffer.from(value, "utf8");
  throw new EmulatorError("ArgumentError", "'session-state' must be binary.");
}

function ruleFromDescription(name: string, description: Record<string, unknown>): RuleSpec {
  let filter: RuleFilterSpec;
  const sql = mapField(description, "sql-filter");
  const correlation = mapField(description, "correlation-filter");
  if (sql) {
    filter = { kind: "sql", sqlExpression: stringField(sql, "expression") };
  } else if (correlation) {
    const spec: CorrelationFilterSpec = {};
    const text = (key: string): string | undefined => optionalString(correlation, key);
    spec.correlationId = text("correlation-id");
    spec.messageId = text("message-id");
    spec.to = text("to");
    spec.replyTo = text("reply-to");
    spec.subject = text("label");
    spec.sessionId = text("session-id");
    spec.replyToSessionId = text("reply-to-session-id");
    spec.contentType = text("content-type");
    const properties = mapField(correlation, "properties");
    if (properties) spec.applicationProperties = properties as CorrelationFilterSpec["applicationProperties"];
    for (const key of Object.keys(spec) as Array<keyof CorrelationFilterSpec>) if (spec[key] === undefined) delete spec[key];
    filter = { kind: "correlation", correlation: spec };
  } else {
    throw new EmulatorError("ArgumentError", "A rule description needs a 'sql-filter' or a 'correlation-filter'.");
  }
  const action = mapField(description, "sql-rule-action");
  return { name, filter, actionSqlExpression: action ? optionalString(action, "expression") : undefined };
}

/** The AMQP described types `enumerate-rules` returns (see the Service Bus AMQP request/response reference). */
function describeRule(rule: RuleSpec): unknown {
  const described = (code: number, fields: unknown[]): unknown => types.described(types.wrap_ulong(code), types.wrap_list(fields));
  let filter: unknown;
  switch (rule.filter.kind) {
    case "true":
      filter = described(RULE_DESCRIPTOR.trueFilter, [types.wrap_string("1=1")]);
      break;
    case "false":
      filter = described(RULE_DESCRIPTOR.falseFilter, [types.wrap_string("1=0")]);
      break;
    case "sql":
      filter = described(RULE_DESCRIPTOR.sqlFilter, [types.wrap_string(rule.filter.sqlExpression)]);
      break;
    case "correlation": {
      const c = rule.filter.correlation;
      const str = (value: string | undefined): unknown => (value === undefined ? null : types.wrap_string(value));
      filter = described(RULE_DESCRIPTOR.correlationFilter, [
        str(c.correlationId),
        str(c.messageId),
        str(c.to),
        str(c.replyTo),
        str(c.subject),
        str(c.sessionId),
        str(c.replyToSessionId),
        str(c.contentType),
        types.wrap_map(c.applicationProperties ?? {}),
      ]);
      break;
    }
  }
  const action = rule.actionSqlExpression ? described(RULE_DESCRIPTOR.sqlRuleAction, [types.wrap_string(rule.actionSqlExpression)]) : described(RULE_DESCRIPTOR.emptyRuleAction, []);
  return described(RULE_DESCRIPTOR.ruleDescription, [filter, action, types.wrap_string(rule.name)]);
}
