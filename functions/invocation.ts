/**
 * What every function does around its stage: turn the trigger's metadata into a
 * StageContext (attempt, trace context, logger), and classify the outcome for the runtime
 * that settles the message — the Functions host in Azure, the dev host locally.
 *
 * Trigger metadata follows the Functions host's Service Bus binding data: `deliveryCount`
 * counts the first delivery as 1 (the host uses the .NET SDK), `messageId`,
 * `applicationProperties`, `enqueuedTimeUtc`. The dev host supplies the same names.
 *
 * Each invocation is one OpenTelemetry span (shared/telemetry/stage-span.ts) continuing the
 * message's trace context; it is a no-op unless telemetry was started (functions/index.ts).
 */
import { hostname } from "node:os";
import type { InvocationContext } from "@azure/functions";
import { Cron } from "croner";
import { CustodyError, isCustodyError, toCustodyError } from "../shared/errors";
import { retryBudgetSpent, retryDelayInMs, type RetryPolicy } from "../shared/evidence/retry-policy";
import type { Publisher } from "../shared/ports/publisher";
import { createLogger, type Logger } from "../shared/logging";
import type { Settings } from "../shared/settings";
import type { StageContext } from "../shared/stages/stage-context";
import { startStageSpan, type StageSpan } from "../shared/telemetry/stage-span";
import { entityPath, ROUTE_TO_SUBSCRIPTION_PROPERTY, type ReceivableEntity } from "../shared/topology";
import { childTraceparent } from "../shared/tracing";

/** What the runtime must do with the message after the handler returned. */
export type HandlerOutcome = { settle: "complete" } | { settle: "deadLetter"; reason: string; description: string };

export type CustodyHandler = (message: unknown, context: InvocationContext) => Promise<HandlerOutcome>;

export interface FunctionDefinition {
  /** Function name (Functions host) and actor name in the custody log. */
  name: string;
  /** The queue or subscription that triggers it (from the topology file). */
  entity: ReceivableEntity;
  handler: CustodyHandler;
}

/**
 * A timer-triggered function (`app.timer` in Azure). The schedule is NCRONTAB (six fields,
 * seconds first), resolved from the app settings when the app starts; the dev host, which has
 * no NCRONTAB, runs it every `localIntervalInMs(settings)` when that is above 0.
 */
export interface TimerFunctionDefinition {
  kind: "timer";
  /** Function name (Functions host) and actor name in the custody log. */
  name: string;
  schedule(env: Record<string, string | undefined>): string;
  localIntervalInMs(settings: Settings): number;
  handler(timer: unknown, context: InvocationContext): Promise<void>;
}

/**
 * A timer's NCRONTAB schedule from the app setting `setting` (default `fallback`), checked at
 * start so a typo fails it, naming the setting: exactly six fields (what the Functions host
 * takes; croner would also take five, seven or "@daily"), each value in range and the whole
 * able to fire — croner parses it as the host's NCRONTAB would.
 */
export function scheduleSetting(env: Record<string, string | undefined>, setting: string, fallback: string): string {
  const raw = env[setting]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const fields = raw.split(/\s+/);
  const expression = fields.join(" ");
  const problem = fields.length !== 6 ? `it has ${fields.length} field${fields.length === 1 ? "" : "s"}` : cronProblem(expression);
  if (problem !== undefined) {
    throw new CustodyError(
      "InvalidConfiguration",
      `Setting ${setting} must be an NCRONTAB expression with six fields (second minute hour day month day-of-week), e.g. "${fallback}", not "${raw}": ${problem}.`,
    );
  }
  return expression;
}

/** Why croner refuses a six-field expression, or undefined when it is a schedule that fires. */
function cronProblem(expression: string): string | undefined {
  let job: Cron;
  try {
    job = new Cron(expression, { paused: true });
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^CronPattern: /, "") : String(error);
  }
  return job.nextRun() === null ? "it never fires" : undefined;
}

/** The StageContext of one timer run: a new trace, one attempt (a timer run is not retried; the next run is the retry). */
export function timerContextFor(definition: Pick<TimerFunctionDefinition, "name">, context: InvocationContext): StageContext {
  const traceparent = childTraceparent(undefined);
  return {
    actor: `custody/${definition.name}@${hostname()}`,
    attempt: 1,
    maxAttempts: 1,
    traceparent,
    log: loggerFor(context).child({ function: definition.name, invocationId: context.invocationId, traceparent }),
  };
}

interface ServiceBusTriggerMetadata {
  deliveryCount?: number;
  messageId?: string;
  correlationId?: string;
  subject?: string;
  label?: string;
  contentType?: string;
  applicationProperties?: Record<string, unknown>;
  userProperties?: Record<string, unknown>;
}

/** The span of each stage invocation, kept beside its context so StageContext stays telemetry-free. */
const spans = new WeakMap<StageContext, StageSpan>();

export function stageContextFor(definition: Pick<FunctionDefinition, "name" | "entity">, context: InvocationContext): StageContext {
  const metadata = (context.triggerMetadata ?? {}) as ServiceBusTriggerMetadata;
  const properties = metadata.applicationProperties ?? metadata.userProperties ?? {};
  const attempt = Math.max(1, metadata.deliveryCount ?? 1);
  const span = startStageSpan({
    name: definition.name,
    incomingTraceparent: properties.traceparent ?? properties["Diagnostic-Id"],
    evidenceId: properties.evidenceId,
    messageId: metadata.messageId,
    attempt,
    entityPath: entityPath(definition.entity),
  });
  const traceparent = span.traceparent;
  const log = loggerFor(context).child({
    function: definition.name,
    messageId: metadata.messageId,
    evidenceId: properties.evidenceId,
    traceparent,
    attempt,
  });
  const stageContext: StageContext = {
    actor: `custody/${definition.name}@${hostname()}`,
    attempt,
    maxAttempts: definition.entity.maxDeliveryCount,
    traceparent,
    log,
  };
  if (metadata.messageId !== undefined) stageContext.messageId = metadata.messageId;
  spans.set(stageContext, span);
  return stageContext;
}

/** Records the evidence id on the invocation's span once the stage knows it (ingest derives it). */
export function annotateEvidenceId(context: StageContext, evidenceId: string): void {
  spans.get(context)?.setEvidenceId(evidenceId);
}

/**
 * Wraps a function body: an invalid message (CustodyError InvalidMessage) is dead-lettered
 * with its reason rather than retried; anything else thrown propagates, so the runtime
 * abandons the message and Service Bus redelivers it.
 */
export async function settleInvalidMessages(context: StageContext, body: () => Promise<void>): Promise<HandlerOutcome> {
  const span = spans.get(context);
  try {
    await (span ? span.run(body) : body());
    span?.end();
    return { settle: "complete" };
  } catch (error) {
    if (isCustodyError(error) && error.code === "InvalidMessage") {
      context.log.error("invalid message: dead-lettering it", { error: error.message });
      span?.end({ deadLettered: error.code });
      return { settle: "deadLetter", reason: error.code, description: error.message.slice(0, 1024) };
    }
    if (isCustodyError(error) && !error.retryable) {
      // Deterministic failures are reported by the stages themselves; one escaping here is a
      // misclassified case — dead-letter it with the reason rather than retry it pointlessly.
      context.log.error("non-retryable failure: dead-lettering the message", { code: error.code, error: error.message });
      span?.end({ deadLettered: error.code });
      return { settle: "deadLetter", reason: error.code, description: error.message.slice(0, 1024) };
    }
    span?.end({ error });
    throw error instanceof Error ? error : new CustodyError("Internal", String(error));
  }
}

function loggerFor(context: InvocationContext): Logger {
  // Through context.log the host attributes lines to the invocation (Application Insights).
  return createLogger({
    sink: (level, line) => {
      if (level === "error") context.error(line);
      else if (level === "warn") context.warn(line);
      else if (level === "debug") context.debug(line);
      else context.log(line);
    },
  });
}

/** Application properties a re-scheduled copy carries (see settleWithRetries). */
export const RESCHEDULE_ROUND_PROPERTY = "custodyRescheduleRound";
export const RESCHEDULE_FIRST_FAILED_AT_PROPERTY = "custodyRescheduleFirstFailedAt";

export interface RescheduleDeps {
  publisher: Publisher;
  policy: RetryPolicy;
  /** Clock (tests). */
  now?: () => Date;
}

/**
 * Like settleInvalidMessages, for the functions that own their input's retries (ingest and
 * the index, whose own writes fail when storage or Cosmos DB is unreachable or throttled): a
 * transient failure sends a copy of the message to the same entity, scheduled after an
 * exponential backoff with jitter and carrying its round and the first failure's time, then
 * completes the original — instead of abandoning it, which Service Bus redelivers at once and
 * which would use up MaxDeliveryCount in seconds. A subscription's copy goes to its topic
 * with the redrive rule's property, so only that subscription receives it. When the retry
 * budget (a time) is spent, or the copy cannot be sent (the broker itself is unreachable),
 * the error propagates: the message is abandoned, and MaxDeliveryCount dead-letters it.
 */
export async function settleWithRetries(
  definition: Pick<FunctionDefinition, "name" | "entity">,
  invocation: InvocationContext,
  context: StageContext,
  message: unknown,
  retry: () => Promise<RescheduleDeps>,
  body: () => Promise<void>,
): Promise<HandlerOutcome> {
  try {
    return await settleInvalidMessages(context, body);
  } catch (error) {
    const failure = toCustodyError(error);
    if (!failure.retryable) throw failure;
    const deps = await retry().catch(() => undefined);
    if (deps === undefined) throw failure;
    const rescheduled = await reschedule(definition, invocation, context, message, failure, deps);
    if (!rescheduled) throw failure;
    return { settle: "complete" };
  }
}

async function reschedule(
  definition: Pick<FunctionDefinition, "name" | "entity">,
  invocation: InvocationContext,
  context: StageContext,
  message: unknown,
  failure: CustodyError,
  deps: RescheduleDeps,
): Promise<boolean> {
  const metadata = (invocation.triggerMetadata ?? {}) as ServiceBusTriggerMetadata;
  const properties = { ...(metadata.applicationProperties ?? metadata.userProperties ?? {}) };
  const now = (deps.now ?? (() => new Date()))();
  const previousRound = Number(properties[RESCHEDULE_ROUND_PROPERTY] ?? 0);
  const round = (Number.isInteger(previousRound) && previousRound >= 0 ? previousRound : 0) + 1;
  const firstText = properties[RESCHEDULE_FIRST_FAILED_AT_PROPERTY];
  const firstFailedAt = typeof firstText === "string" && Number.isFinite(Date.parse(firstText)) ? firstText : now.toISOString();
  if (retryBudgetSpent(deps.policy, firstFailedAt, now.getTime())) {
    context.log.error("retry budget spent: the message is abandoned and will be dead-lettered", { code: failure.code, error: failure.message, firstFailedAt, round });
    return false;
  }
  const baseId = (metadata.messageId ?? `${definition.name}:${invocation.invocationId}`).replace(/:reschedule-\d+$/, "");
  const messageId = `${baseId}:reschedule-${round}`;
  const dueAt = new Date(now.getTime() + retryDelayInMs(deps.policy, round, messageId));
  // The publisher sets these from the message itself.
  for (const name of ["evidenceId", "traceparent", "Diagnostic-Id"]) delete properties[name];
  const applicationProperties: Record<string, string | number | boolean | Date> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean" || value instanceof Date) applicationProperties[name] = value;
  }
  applicationProperties[RESCHEDULE_ROUND_PROPERTY] = round;
  applicationProperties[RESCHEDULE_FIRST_FAILED_AT_PROPERTY] = firstFailedAt;
  const entity = definition.entity;
  if (entity.kind === "subscription") applicationProperties[ROUTE_TO_SUBSCRIPTION_PROPERTY] = entity.subscriptionName;
  const evidenceId = metadata.correlationId ?? (typeof properties.evidenceId === "string" ? properties.evidenceId : undefined);
  try {
    await deps.publisher.publish(entity.kind === "queue" ? entity.queueName : entity.topicName, {
      messageId,
      body: message,
      subject: metadata.subject ?? metadata.label ?? definition.name,
      correlationId: evidenceId ?? "",
      contentType: metadata.contentType ?? "application/json",
      applicationProperties,
      traceparent: context.traceparent,
      scheduledEnqueueTime: dueAt,
    });
  } catch (sendError) {
    context.log.warn("could not re-schedule the message (abandoning it instead)", { code: failure.code, error: toCustodyError(sendError).message });
    return false;
  }
  context.log.warn("transient failure: message re-scheduled", { code: failure.code, error: failure.message, round, dueAt: dueAt.toISOString(), firstFailedAt, copyMessageId: messageId });
  return true;
}
