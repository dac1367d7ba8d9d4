/**
 * The ids of the copies operator tools send (shared/contracts/message-ids.ts). Duplicate
 * detection drops a repeated id silently, so every operation's copy must have an id no other
 * operation, target or dead-letter can give it — and the same id for the same copy within one
 * operation.
 */
import { randomUUID } from "node:crypto";
import {
  MAX_MESSAGE_ID_LENGTH,
  operationCopyBase,
  operationCopyMessageId,
  operationLabelOf,
  OPERATION_PROPERTY,
  reannouncedEvidenceReceivedMessageId,
  reprocessMessageId,
} from "../../shared/contracts/message-ids";

const BASE = "ev-0123456789abcdef0123456789abcdef:received";

test("distinct per operation, per target and per dead-letter; the same within one operation", () => {
  const one = { kind: "redrive" as const, id: randomUUID() };
  const two = { kind: "redrive" as const, id: randomUUID() };
  const ids = [
    operationCopyMessageId(BASE, one, "transcode", "7"),
    operationCopyMessageId(BASE, one, "thumbnail", "7"),
    operationCopyMessageId(BASE, one, "transcode", "8"),
    operationCopyMessageId(BASE, two, "transcode", "7"),
    operationCopyMessageId(BASE, { kind: "reconcile", id: one.id }, "transcode", "7"),
  ];
  expect(new Set(ids).size).toBe(ids.length);
  expect(operationCopyMessageId(BASE, one, "transcode", "7")).toBe(ids[0]);
  expect(ids[0]).toBe(`${BASE}:redrive-${one.id}:transcode:7`);
});

test("a copy of a copy is derived from the original id, not stacked", () => {
  const first = operationCopyMessageId(BASE, { kind: "redrive", id: randomUUID() }, "hash", "3");
  expect(operationCopyBase(first)).toBe(BASE);
  expect(operationCopyBase(`${BASE}:redrive:2`)).toBe(BASE);
  expect(operationCopyBase(BASE)).toBe(BASE);
});

test("never longer than Service Bus allows, and still distinct when the original id is long", () => {
  const long = "x".repeat(120);
  const operation = { kind: "redrive" as const, id: randomUUID() };
  const a = operationCopyMessageId(long, operation, "all-events", "9223372036854775807");
  const b = operationCopyMessageId(`${"x".repeat(119)}y`, operation, "all-events", "9223372036854775807");
  expect(a.length).toBeLessThanOrEqual(MAX_MESSAGE_ID_LENGTH);
  expect(b.length).toBeLessThanOrEqual(MAX_MESSAGE_ID_LENGTH);
  expect(a).not.toBe(b);
  expect(a.endsWith(`:redrive-${operation.id}:all-events:9223372036854775807`)).toBe(true);
  // A reprocess message of a long recording id redriven from a stage's subscription fits too.
  const reprocess = reprocessMessageId("ev-0123456789abcdef0123456789abcdef", randomUUID(), "thumbnail");
  expect(operationCopyMessageId(reprocess, operation, "thumbnail", "123456").length).toBeLessThanOrEqual(MAX_MESSAGE_ID_LENGTH);
});

test("ingest takes only a well-formed operation label into the evidence-received id", () => {
  const id = randomUUID();
  expect(operationLabelOf({ [OPERATION_PROPERTY]: `reconcile-${id}` })).toBe(`reconcile-${id}`);
  expect(operationLabelOf({ [OPERATION_PROPERTY]: "reconcile-../../x" })).toBeUndefined();
  expect(operationLabelOf({})).toBeUndefined();
  expect(reannouncedEvidenceReceivedMessageId("ev-0123456789abcdef0123456789abcdef", `reconcile-${id}`)).toBe(`ev-0123456789abcdef0123456789abcdef:received:reconcile-${id}`);
});

test("a reprocess request's messages name the request and the stage", () => {
  const request = randomUUID();
  expect(reprocessMessageId("ev-0123456789abcdef0123456789abcdef", request, "transcode")).toBe(`ev-0123456789abcdef0123456789abcdef:received:reprocess-${request}:transcode`);
  expect(reprocessMessageId("ev-0123456789abcdef0123456789abcdef", request, "thumbnail")).not.toBe(reprocessMessageId("ev-0123456789abcdef0123456789abcdef", request, "transcode"));
});
