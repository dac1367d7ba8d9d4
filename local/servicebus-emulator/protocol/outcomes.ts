/**
 * Delivery outcomes as rhea builds them. rhea's typings omit its outcome constructors, so
 * they are typed here once instead of cast at every settlement.
 */
import rhea = require("rhea");

interface Described {
  described(): unknown;
}

const outcomes = rhea.message as unknown as {
  accepted(): Described;
  rejected(fields: { error: { condition: string; description: string } }): Described;
};

/** The settled disposition the service sends for every successful settlement or transfer. */
export function acceptedOutcome(): unknown {
  return outcomes.accepted().described();
}

/** A refusal carrying an AMQP error; the SDK turns the condition into its error code. */
export function rejectedOutcome(error: { condition: string; description: string }): unknown {
  return outcomes.rejected({ error }).described();
}
