/** The CLI's option parsers (cli/options.ts): what each accepts, and the error an operator reads otherwise. */
import { durationInMs, integerInRange, isoTime, portNumber, positiveInteger, positiveNumber, receivableEntity, secondsInMs, since } from "../../cli/options";
import { ENTITIES } from "../../shared/topology";

test("durations: a whole number and one of s, m, h, d", () => {
  expect(durationInMs("45s", "--x")).toBe(45_000);
  expect(durationInMs(" 30m ", "--x")).toBe(1_800_000);
  expect(durationInMs("12H", "--x")).toBe(43_200_000);
  expect(durationInMs("7d", "--x")).toBe(604_800_000);
  for (const bad of ["", "7", "1.5h", "-1h", "7w"]) expect(() => durationInMs(bad, "--older-than")).toThrow(`--older-than must be a duration like 30m, 12h or 7d, not '${bad}'.`);
});

test("--since: an ISO time, or a duration back from now", () => {
  const now = Date.parse("2026-01-10T00:00:00Z");
  expect(since("24h", "--since", now).toISOString()).toBe("2026-01-09T00:00:00.000Z");
  expect(since("2026-01-01T12:00:00Z", "--since", now).toISOString()).toBe("2026-01-01T12:00:00.000Z");
  expect(() => since("yesterday")).toThrow("--since must be an ISO date/time or a duration like 24h, not 'yesterday'.");
  expect(() => isoTime("24h", "--since")).toThrow("--since must be an ISO 8601 time, not '24h'.");
});

test("numbers: whole and positive, positive, in a range, a port, seconds", () => {
  expect(positiveInteger("3", "--max")).toBe(3);
  for (const bad of ["0", "-1", "1.5", "1e3", " 2", "x"]) expect(() => positiveInteger(bad, "--max")).toThrow(`--max must be a positive whole number, not '${bad}'.`);
  expect(positiveNumber("0.5", "--rate")).toBe(0.5);
  expect(() => positiveNumber("0", "--rate")).toThrow("--rate must be a positive number, not '0'.");
  expect(integerInRange("64", "--concurrency", 1, 64)).toBe(64);
  expect(() => integerInRange("65", "--concurrency", 1, 64)).toThrow("--concurrency must be a whole number from 1 to 64, not '65'.");
  expect(portNumber("0", "--port")).toBe(0);
  expect(() => portNumber("65536", "--port")).toThrow("--port must be a port number (0–65535), not '65536'.");
  expect(secondsInMs("1.5", "--timeout")).toBe(1500);
  for (const bad of ["", "0", "x"]) expect(() => secondsInMs(bad, "--timeout")).toThrow(`--timeout must be a positive number of seconds, not '${bad}'.`);
});

test("entities: a queue, topic/subscription or topic/Subscriptions/subscription of the topology", () => {
  expect(receivableEntity("blob-created")).toEqual(ENTITIES.blobCreated);
  expect(receivableEntity("evidence-received/hash")).toEqual(ENTITIES.hashSubscription);
  expect(receivableEntity("evidence-received/Subscriptions/hash")).toEqual(ENTITIES.hashSubscription);
  expect(() => receivableEntity("evidence-received/nope")).toThrow("Unknown entity 'evidence-received/nope'. Known queues and subscriptions: blob-created,");
});
