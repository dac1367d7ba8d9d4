/**
 * References between entities (ForwardTo, ForwardDeadLetteredMessagesTo) and the names they
 * resolve against: read while the namespace is read, resolved once every queue and topic is
 * known.
 */
import { fail } from "./config-error";
import { checkName, QUEUE_OR_TOPIC_NAME, type NameScope } from "./names";
import { readString, type Reader } from "./readers";
import type { ReceivableEntitySettings } from "./types";

/**
 * ForwardTo / ForwardDeadLetteredMessagesTo: an entity name, checked for existence after the
 * whole namespace has been read. Empty string means "not set" (Microsoft's sample configs
 * write `"ForwardTo": ""`).
 */
export const readEntityReference: Reader<string | undefined> = (value, field) => {
  const text = readString(value, field);
  if (text === "") return undefined;
  checkName(text, field, QUEUE_OR_TOPIC_NAME, "entity");
  return text;
};

/** A ForwardTo-style reference, resolved once every queue and topic is known. */
export interface PendingReference {
  field: string;
  owner: string;
  settings: ReceivableEntitySettings;
  target: "forwardTo" | "forwardDeadLetteredMessagesTo";
}

export function collectReferences(settings: ReceivableEntitySettings, propertiesField: string, owner: string, pending: PendingReference[]): void {
  for (const target of ["forwardTo", "forwardDeadLetteredMessagesTo"] as const) {
    if (settings[target] === undefined) continue;
    const key = target === "forwardTo" ? "ForwardTo" : "ForwardDeadLetteredMessagesTo";
    pending.push({ field: `${propertiesField}.${key}`, owner, settings, target });
  }
}

/** Resolves ForwardTo targets to the configured entity (its spelling), or fails. */
export function resolveReferences(pending: readonly PendingReference[], entities: NameScope): void {
  for (const reference of pending) {
    const wanted = reference.settings[reference.target]!;
    const found = entities.canonical(wanted);
    if (!found) {
      fail(reference.field, `${JSON.stringify(wanted)} is not a queue or topic in this configuration`);
    }
    if (found.name === reference.owner) {
      fail(reference.field, `${JSON.stringify(wanted)} is the ${found.what} itself; an entity cannot forward to itself`);
    }
    reference.settings[reference.target] = found.name;
  }
}
