/**
 * Service Bus entity names: the naming rules, reading an entity's `Name`, and their
 * case-insensitive uniqueness within one scope.
 */
import { fail } from "./config-error";
import { optionalArray, readString } from "./readers";

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
    fail(field, `${JSON.stringify(name)} is not a valid ${what} name: use ${rule.characters}, ` + `starting and ending with a letter or digit (at most ${rule.maxLength} characters)`);
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

/** Detects case-insensitive duplicates within one scope (a namespace, a topic, a subscription). */
export class NameScope {
  private readonly seen = new Map<string, { field: string; what: string; name: string }>();
  constructor(private readonly sharedNote: string) {}

  add(name: string, field: string, what: string): void {
    const key = name.toLowerCase();
    const previous = this.seen.get(key);
    if (previous) {
      fail(field, `${what} name ${JSON.stringify(name)} is already used by the ${previous.what} ${JSON.stringify(previous.name)} ` + `at ${previous.field} (${this.sharedNote})`);
    }
    this.seen.set(key, { field, what, name });
  }

  canonical(name: string): { name: string; what: string } | undefined {
    return this.seen.get(name.toLowerCase());
  }
}

/**
 * Reads each element of `container`'s optional array `key` (at `<path>.<key>[i]`) with `read`,
 * each name unique within `scope`.
 */
export function readNamedList<T extends { name: string }>(
  container: Record<string, unknown>,
  key: string,
  path: string,
  scope: NameScope,
  what: string,
  read: (value: unknown, elementPath: string) => T,
): T[] {
  return optionalArray(container, key, path).map((value, index) => {
    const elementPath = `${path}.${key}[${index}]`;
    const element = read(value, elementPath);
    scope.add(element.name, `${elementPath}.Name`, what);
    return element;
  });
}
