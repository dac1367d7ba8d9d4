/**
 * Entity addresses as clients write them on links and in CBS audiences:
 *   queue | topic                              q1
 *   subscription                               t1/Subscriptions/s1
 *   dead-letter queue                          q1/$DeadLetterQueue, t1/Subscriptions/s1/$DeadLetterQueue
 *   transfer dead-letter queue                 q1/$Transfer/$DeadLetterQueue
 *   management node                            <any of the above>/$management
 * optionally prefixed with `sb://host[:port]/` or `amqp[s]://host[:port]/`. Suffixes are
 * case-insensitive, as on the service.
 */
export interface EntityAddress {
  /** Queue or topic name. */
  entity: string;
  subscription?: string;
  subQueue?: "deadLetter" | "transferDeadLetter";
  management: boolean;
}

export function parseEntityAddress(address: string): EntityAddress | undefined {
  let path = address.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*\/?/i.exec(path);
  if (scheme) path = path.slice(scheme[0].length);
  path = path.replace(/^\/+|\/+$/g, "");
  if (!path) return undefined;

  const parts = path.split("/");
  let management = false;
  if (parts.length > 1 && parts[parts.length - 1].toLowerCase() === "$management") {
    management = true;
    parts.pop();
  }
  let subQueue: EntityAddress["subQueue"];
  if (parts.length > 1 && parts[parts.length - 1].toLowerCase() === "$deadletterqueue") {
    parts.pop();
    subQueue = "deadLetter";
    if (parts.length > 1 && parts[parts.length - 1].toLowerCase() === "$transfer") {
      parts.pop();
      subQueue = "transferDeadLetter";
    }
  }
  let subscription: string | undefined;
  if (parts.length >= 3 && parts[parts.length - 2].toLowerCase() === "subscriptions") {
    subscription = parts.pop();
    parts.pop();
  }
  const entity = parts.join("/");
  if (!entity || entity.startsWith("$") || subscription === "") return undefined;
  return { entity, subscription, subQueue, management };
}

export function formatEntityAddress(address: Omit<EntityAddress, "management">): string {
  let path = address.subscription ? `${address.entity}/Subscriptions/${address.subscription}` : address.entity;
  if (address.subQueue === "deadLetter") path += "/$DeadLetterQueue";
  if (address.subQueue === "transferDeadLetter") path += "/$Transfer/$DeadLetterQueue";
  return path;
}
