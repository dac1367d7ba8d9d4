/**
 * The JSON Canonicalization Scheme (RFC 8785): the one text of a JSON value that a signature
 * over a manifest covers, reproducible by any verifier with an RFC 8785 library. Object
 * members sorted by their names' UTF-16 code units, numbers as ECMAScript prints them, strings
 * with the minimal JSON escapes, no whitespace.
 *
 * Stricter than JSON.stringify where RFC 8785 (I-JSON, RFC 7493) is: a number that is not
 * finite, a string with a lone surrogate, or a value JSON has no form for (undefined in an
 * array, a function, a bigint, a Date or other class instance) is refused rather than silently
 * turned into something else. An object member whose value is `undefined` is left out, as
 * JSON.stringify does, so optional fields can be written as `field: value ?? undefined`.
 *
 * It differs from shared/evidence/canonical-json.ts (JSON.stringify with sorted keys) in one
 * output too: JSON.stringify writes integer-like member names ("2", "10") first in numeric
 * order whatever order they were inserted in, so `{"10":…,"2":…}` comes out as `{"2":…,"10":…}`
 * there and `{"10":…,"2":…}` here, as RFC 8785 orders them.
 */
import { CustodyError } from "../errors";

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function jcs(value: unknown): string {
  return serialize(value, "$");
}

/** The canonical text as UTF-8 bytes: what is hashed and signed. */
export function jcsBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(jcs(value));
}

function serialize(value: unknown, at: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw refuse(at, `the number ${String(value)} has no JSON form`);
      // ECMAScript's Number-to-string is RFC 8785's number format (§3.2.2.3); -0 prints as 0.
      return JSON.stringify(value);
    case "string":
      return quote(value, at);
    case "object":
      if (Array.isArray(value)) return `[${value.map((item: unknown, i) => (item === undefined ? missing(`${at}[${i}]`) : serialize(item, `${at}[${i}]`))).join(",")}]`;
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) throw refuse(at, "only plain objects, arrays, strings, numbers, booleans and null are JSON");
      return serializeObject(value as Record<string, unknown>, at);
    default:
      throw refuse(at, `a ${typeof value} has no JSON form`);
  }
}

function serializeObject(object: Record<string, unknown>, at: string): string {
  // Array.prototype.sort without a comparator compares strings by UTF-16 code units: RFC 8785 §3.2.3.
  const names = Object.keys(object)
    .filter((name) => object[name] !== undefined)
    .sort();
  return `{${names.map((name) => `${quote(name, at)}:${serialize(object[name], `${at}.${name}`)}`).join(",")}}`;
}

function quote(text: string, at: string): string {
  if (LONE_SURROGATE.test(text)) throw refuse(at, "a string with a lone surrogate is not I-JSON");
  // JSON.stringify (ES2019+) escapes exactly what RFC 8785 §3.2.2.2 escapes, in the same forms.
  return JSON.stringify(text);
}

function missing(at: string): never {
  throw refuse(at, "undefined in an array has no JSON form");
}

function refuse(at: string, why: string): CustodyError {
  // A bug in what was built, never in what was received: final.
  return new CustodyError("Internal", `Cannot canonicalise ${at}: ${why} (RFC 8785).`, { retryable: false });
}
