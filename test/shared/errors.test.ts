/**
 * Classification of what stages meet: retry only what retrying can fix.
 */
import { CustodyError, toCustodyError } from "../../shared/errors";
import { stageResultMessageId } from "../../shared/contracts/message-ids";

test.each([
  ["throttling (429)", { statusCode: 429 }, "Transient", true],
  ["a 503", { statusCode: 503 }, "Transient", true],
  ["a vanished blob (404)", { statusCode: 404 }, "OriginalNotFound", false],
  ["a changed blob (412)", { statusCode: 412 }, "OriginalChanged", false],
  ["a permissions error (403), retried until the last delivery", { statusCode: 403 }, "AccessDenied", true],
  ["a missing Service Bus entity", { code: "MessagingEntityNotFound", retryable: false }, "InvalidConfiguration", false],
  ["an oversized message", { code: "MessageSizeExceeded", retryable: false }, "Internal", false],
  ["Service Bus quota exceeded (retryable even though the SDK says no)", { code: "QuotaExceeded", retryable: false }, "Internal", true],
  ["a lost connection", { code: "ECONNRESET" }, "Transient", true],
  ["a Service Bus timeout", { code: "ServiceTimeout", retryable: true }, "Transient", true],
])("%s", (_label, error, code, retryable) => {
  const classified = toCustodyError(Object.assign(new Error("boom"), error));
  expect([classified.code, classified.retryable]).toEqual([code, retryable]);
});

test("a CustodyError passes through unchanged", () => {
  const original = new CustodyError("InvalidMessage", "bad");
  expect(toCustodyError(original)).toBe(original);
});

test("a final failure's message id differs from a non-final attempt with the same number (redrive restarts counting)", () => {
  const base = { evidenceId: "ev-00000000000000000000000000000001", stage: "hash" as const, attempt: 1, outcome: "failed" as const };
  expect(stageResultMessageId({ ...base, final: true })).not.toBe(stageResultMessageId({ ...base, final: false }));
  expect(stageResultMessageId({ ...base, outcome: "succeeded", final: true })).toBe("ev-00000000000000000000000000000001:hash:1:succeeded");
});

test("a bug (a plain TypeError, RangeError, …) is final: it would fail the same way for the whole retry budget", () => {
  const bug = toCustodyError(new TypeError("Cannot read properties of undefined (reading 'sha256')"));
  expect([bug.code, bug.retryable]).toEqual(["Internal", false]);
  expect(toCustodyError(new RangeError("Invalid array length")).retryable).toBe(false);
  // fetch reports a network failure as a TypeError with the network error as its cause: transient.
  const network = Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
  expect(toCustodyError(network).retryable).toBe(true);
  // An unclassified Error stays retryable (it may be a transient cause nobody recognised yet).
  expect(toCustodyError(new Error("something odd")).retryable).toBe(true);
});
