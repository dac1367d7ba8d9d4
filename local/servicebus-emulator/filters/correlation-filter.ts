/**
 * Correlation filters: a conjunction of equality tests on broker properties and application
 * properties, the cheap alternative to SQL filters. Every field the spec sets must equal the
 * message's value; a field the spec leaves undefined is not tested. An empty string is a value
 * like any other (it matches only an empty property).
 */

import type { CorrelationFilterSpec } from "../config/types";
import type { CompiledFilter, FilterableMessage } from "./filter-types";
import { FilterError } from "./filter-error";
import { ApplicationPropertyName } from "./application-properties";
import type { SystemPropertyName } from "./system-properties";

/** Spec field → the broker property it tests. */
const SYSTEM_FIELDS: ReadonlyArray<[Exclude<keyof CorrelationFilterSpec, "applicationProperties">, SystemPropertyName]> = [
  ["correlationId", "CorrelationId"],
  ["messageId", "MessageId"],
  ["to", "To"],
  ["replyTo", "ReplyTo"],
  ["subject", "Label"],
  ["sessionId", "SessionId"],
  ["replyToSessionId", "ReplyToSessionId"],
  ["contentType", "ContentType"],
];

type Check = (message: FilterableMessage) => boolean;

/**
 * Throws FilterError (code InvalidCorrelationFilter) for a spec that sets nothing: the service
 * rejects a correlation filter without any property to correlate on.
 */
export function compileCorrelationFilter(spec: CorrelationFilterSpec): CompiledFilter {
  const checks: Check[] = [];

  for (const [field, propertyName] of SYSTEM_FIELDS) {
    const expected = spec[field];
    if (expected === undefined) continue;
    // Ordinal string equality: a non-string broker value never equals the spec's string.
    checks.push((message) => message.systemProperties[propertyName] === expected);
  }

  for (const [name, expected] of Object.entries(spec.applicationProperties ?? {})) {
    // Same name resolution as SQL filters (exact spelling first, then case-insensitive).
    const property = new ApplicationPropertyName(name);
    checks.push((message) => {
      const key = property.findKey(message.applicationProperties);
      return key !== undefined && valuesEqual(message.applicationProperties[key], expected);
    });
  }

  if (checks.length === 0) {
    throw new FilterError(
      "InvalidCorrelationFilter",
      "Invalid correlation filter: it sets no property to match on; set at least one of " + `${SYSTEM_FIELDS.map(([field]) => field).join(", ")} or an application property`,
    );
  }

  return {
    matches(message: FilterableMessage): boolean {
      try {
        return checks.every((check) => check(message));
      } catch {
        return false; // see compileSqlFilter: matching never throws
      }
    },
  };
}

/**
 * Strings and booleans must be identical; numbers equal by value whatever their wire type
 * (int, long, double; a long may arrive as bigint). A string never equals a number.
 */
function valuesEqual(actual: unknown, expected: string | number | boolean): boolean {
  // Rules created through the SDK may carry other AMQP types, timestamps (Date) among them.
  const expectedValue: unknown = expected;
  if (expectedValue instanceof Date) return actual instanceof Date && actual.getTime() === expectedValue.getTime();
  if (typeof expected === "number") {
    if (typeof actual === "number") return actual === expected;
    if (typeof actual === "bigint") return Number(actual) === expected;
    return false;
  }
  return actual === expected;
}
