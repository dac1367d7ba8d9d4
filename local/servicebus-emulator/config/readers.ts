/**
 * Value readers: each takes the raw JSON value and its path, returns the typed value or throws
 * a ConfigError naming that path. Objects are read with their allowed keys: an unknown key is an
 * error, with a suggestion when it is close to an allowed one (did-you-mean.ts).
 */
import { fail } from "./config-error";
import { suggestion } from "./did-you-mean";
import { TIME_SPAN_MAX_MS, parseIsoDuration } from "./iso-duration";

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const DAY = 24 * 60 * MINUTE;
export const INT32_MAX = 2_147_483_647;

// ---------------------------------------------------------------------------------------------
// Value readers: each takes the raw JSON value and its path, returns the typed value or throws.
// ---------------------------------------------------------------------------------------------

export type Reader<V> = (value: unknown, field: string) => V;

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object") return "an object";
  // What JSON.parse gives beyond the cases above: a number or a boolean.
  const scalar = value as number | boolean;
  return `${typeof value} ${String(scalar)}`;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export const readBoolean: Reader<boolean> = (value, field) => (typeof value === "boolean" ? value : fail(field, `must be true or false, not ${describe(value)}`));

export function readString(value: unknown, field: string): string {
  return typeof value === "string" ? value : fail(field, `must be a string, not ${describe(value)}`);
}

function formatLimit(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY} day${ms === DAY ? "" : "s"}`;
  if (ms % MINUTE === 0) return `${ms / MINUTE} min`;
  return `${ms / SECOND} s`;
}

/** A duration property: ISO 8601 text, inclusive bounds (min 0 means "greater than zero"). */
export function durationReader(min: number, max: number): Reader<number> {
  return (value, field) => {
    const text = readString(value, field);
    let ms: number;
    try {
      ms = parseIsoDuration(text);
    } catch (error) {
      return fail(field, (error as Error).message);
    }
    if (min === 0 && ms <= 0) return fail(field, `${JSON.stringify(text)} must be greater than zero`);
    if (ms < min || ms > max) {
      const upper = max >= TIME_SPAN_MAX_MS ? "TimeSpan.MaxValue" : formatLimit(max);
      return fail(field, `${JSON.stringify(text)} is out of range: must be between ${formatLimit(min)} and ${upper}`);
    }
    return ms;
  };
}

export function integerReader(min: number, max: number): Reader<number> {
  return (value, field) =>
    typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
      ? value
      : fail(field, `must be an integer ≥ ${min}${max < INT32_MAX ? ` and ≤ ${max}` : ""}, not ${describe(value)}`);
}
/** Asserts `value` is an object with only `allowed` keys (names are case-sensitive, as in the schema). */
export function readObject(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isObject(value)) fail(field, `must be an object, not ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      fail(field ? `${field}.${key}` : key, `unknown property${suggestion(key, allowed)}; allowed here: ${allowed.length ? allowed.join(", ") : "none"}`);
    }
  }
  return value;
}

export function readArray(value: unknown, field: string): unknown[] {
  return Array.isArray(value) ? value : fail(field, `must be an array, not ${describe(value)}`);
}

/** An entity's optional `Properties` object: absent means all defaults (null is an error). */
export function propertiesOf(entity: Record<string, unknown>): unknown {
  return "Properties" in entity ? entity["Properties"] : {};
}

/** An optional array property: absent means empty. */
export function optionalArray(container: Record<string, unknown>, key: string, path: string): unknown[] {
  return key in container ? readArray(container[key], `${path}.${key}`) : [];
}
export function optionalText(value: unknown, field: string): string | undefined {
  const text = readString(value, field);
  return text === "" ? undefined : text;
}
