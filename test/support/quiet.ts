/**
 * Waiting, in end-to-end tests, until the pipeline has nothing left to do — the condition a
 * "nothing else happened" check needs, instead of a fixed sleep. Read from the embedded
 * emulator's live view: every entity a function consumes holds no message (a message being
 * handled is locked, and still counted), and no topic holds a scheduled one (a retry round the
 * index scheduled). A handler publishes before it completes its own message, so an empty
 * pipeline means every consequence of what was sent has landed.
 */
import { FUNCTION_DEFINITIONS } from "../../functions/definitions";
import type { NamespaceView } from "../../local/servicebus-emulator/store/views";

export interface WaitForQuietOptions {
  /** How long the pipeline must stay empty (guards against the moment between two hops). */
  quietForInMs?: number;
  timeoutInMs?: number;
}

const POLL_INTERVAL_IN_MS = 50;

/** What the pipeline still holds: entity path → messages waiting, being handled or scheduled. */
export function pipelineBacklog(namespace: NamespaceView): Record<string, number> {
  const backlog: Record<string, number> = {};
  for (const { entity } of FUNCTION_DEFINITIONS) {
    const view = entity.kind === "queue" ? namespace.queue(entity.queueName) : namespace.subscription(entity.topicName, entity.subscriptionName);
    if (view === undefined) throw new Error(`the emulator has no entity for ${JSON.stringify(entity)}`);
    const counts = view.counts();
    const held = counts.activeMessageCount + counts.scheduledMessageCount;
    if (held > 0) backlog[entity.kind === "queue" ? entity.queueName : `${entity.topicName}/${entity.subscriptionName}`] = held;
  }
  for (const topic of namespace.topics()) if (topic.scheduledMessageCount() > 0) backlog[`${topic.name} (scheduled)`] = topic.scheduledMessageCount();
  return backlog;
}

/** Resolves once nothing is waiting, being handled or scheduled in the pipeline for `quietForInMs` on end. */
export async function waitForQuietPipeline(namespace: NamespaceView, options: WaitForQuietOptions = {}): Promise<void> {
  const quietForInMs = options.quietForInMs ?? 300;
  const deadline = Date.now() + (options.timeoutInMs ?? 60_000);
  let quietSince: number | undefined;
  for (;;) {
    const backlog = pipelineBacklog(namespace);
    const now = Date.now();
    if (Object.keys(backlog).length > 0) quietSince = undefined;
    else if (quietSince === undefined) quietSince = now;
    else if (now - quietSince >= quietForInMs) return;
    if (now > deadline) throw new Error(`the pipeline did not go quiet; still held: ${JSON.stringify(backlog)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_IN_MS));
  }
}
