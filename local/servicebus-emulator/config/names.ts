/**
 * Service Bus entity names: the naming rules, and reading an entity's `Name`.
 */
import { fail } from "./config-error";
import { readString } from "./readers";

/** The rule the service gives a subscription created without one. */
export const DEFAULT_RULE_NAME = "$Default";

export interface NameRule {
  pattern: RegExp;
  maxLength: number;
  characters: string;
}

// Service Bus naming rules (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftservicebus
// and the emulator schema's pattern): start and end with a letter or digit.
export const QUEUE_OR_TOPIC_NAME: NameRule = {
  pattern: /^[A-Za-z0-9](?:[A-Za-z0-9._\-/]*[A-Za-z0-9])?$/,
  maxLength: 260,
  characters: "letters, digits, periods, hyphens, underscores and slashes",
};
export const SUBSCRIPTION_OR_RULE_NAME: NameRule = {
  pattern: /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/,
  maxLength: 50,
  characters: "letters, digits, periods, hyphens and underscores",
};
export const NAMESPACE_NAME: NameRule = {
  pattern: /^[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/,
  maxLength: 50,
  characters: "letters, digits and hyphens, starting with a letter",
};

export function checkName(name: string, field: string, rule: NameRule, what: string): void {
  if (name.length === 0) fail(field, `the ${what} name is empty`);
  if (name.length > rule.maxLength) {
    fail(field, `${JSON.stringify(name)} is too long for a ${what} name (${name.length} characters, at most ${rule.maxLength})`);
  }
  if (!rule.pattern.test(name)) {
    fail(
      field,
      `${JSON.stringify(name)} is not a valid ${what} name: use ${rule.characters}, ` +
        `starting and ending with a letter or digit (at most ${rule.maxLength} characters)`,
    );
  }
}

export function readName(entity: Record<string, unknown>, path: string, rule: NameRule, what: string): string {
  const field = `${path}.Name`;
  if (!("Name" in entity)) fail(field, `every ${what} needs a Name`);
  const name = readString(entity["Name"], field);
  // The service creates `$Default` itself; a config may spell it out to give it another filter.
  if (what === "rule" && name.toLowerCase() === DEFAULT_RULE_NAME.toLowerCase()) return DEFAULT_RULE_NAME;
  checkName(name, field, rule, what);
  return name;
}
