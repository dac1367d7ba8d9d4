/**
 * Reading dead-lettered messages the way operators select them: which recording a message is
 * about, and whether its dead-letter reason matches a pattern. Used by `custody dlq peek`,
 * redrive and purge (shared/operations/redrive.ts).
 */
import { EVIDENCE_ID_PATTERN } from "../evidence/evidence-id";
import type { DeadLetteredMessage } from "../ports/queue-operations";

/** The evidence id a dead-lettered message names: its `evidenceId` property, else its correlation id. */
export function evidenceIdOf(message: DeadLetteredMessage): string | undefined {
  const property = message.applicationProperties.evidenceId;
  if (typeof property === "string" && EVIDENCE_ID_PATTERN.test(property)) return property;
  if (message.correlationId && EVIDENCE_ID_PATTERN.test(message.correlationId)) return message.correlationId;
  return undefined;
}

/** Case-insensitive: a glob (`*`, `?`) matched against the reason, the description or `reason: description`; else a substring of them. */
export function reasonMatcher(pattern: string | undefined): (m: DeadLetteredMessage) => boolean {
  if (pattern === undefined) return () => true;
  const texts = (m: DeadLetteredMessage) => {
    const reason = m.deadLetterReason ?? "";
    const description = m.deadLetterErrorDescription ?? "";
    return [reason, description, `${reason}: ${description}`, `${reason} ${description}`];
  };
  if (/[*?]/.test(pattern)) {
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".");
    const regex = new RegExp(`^${source}$`, "is");
    return (m) => texts(m).some((t) => regex.test(t));
  }
  const needle = pattern.toLowerCase();
  return (m) => texts(m).some((t) => t.toLowerCase().includes(needle));
}
