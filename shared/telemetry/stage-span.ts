/**
 * One OpenTelemetry span per stage invocation, continuing the W3C trace context the incoming
 * message carries (`traceparent` / `Diagnostic-Id` application property, set by
 * ServiceBusPublisher). The span's own context becomes the stage's `traceparent`, which the
 * stage puts on every message it sends — so ingest → hash/transcode/thumbnail/index → index-results
 * → evidence-ready is one trace per recording in Application Insights.
 *
 * When telemetry is off (no tracer provider registered: shared/adapters/azure-monitor.ts did
 * not start) the span does not record, and the stage gets what it always got: a child
 * `traceparent` with the incoming trace id and a fresh span id (shared/tracing.ts).
 */
import { context as otelContext, SpanKind, SpanStatusCode, trace, TraceFlags, type Span, type SpanContext } from "@opentelemetry/api";
import { childTraceparent, isTraceparent } from "../tracing";

/** Attribute names on stage spans (queryable in Application Insights as customDimensions). */
export const EVIDENCE_ID_ATTRIBUTE = "custody.evidence_id";
export const STAGE_ATTRIBUTE = "custody.stage";

export interface StartStageSpanOptions {
  /** The function (stage) name: the span name. */
  name: string;
  /** The incoming message's traceparent, if any (anything else is ignored: a new trace starts). */
  incomingTraceparent?: unknown;
  evidenceId?: unknown;
  messageId?: unknown;
  attempt?: number;
  /** `queue` or `topic/Subscriptions/sub`: the messaging destination the span consumed from. */
  entityPath?: string;
}

export interface StageSpan {
  /** The context to propagate: the span's own when recording, else a child of the incoming one. */
  readonly traceparent: string;
  setEvidenceId(evidenceId: string): void;
  /** Runs `body` with this span active, so SDK calls inside (blob reads, sends) become its children. */
  run<T>(body: () => Promise<T>): Promise<T>;
  /** Ends the span; `error` marks it failed, `deadLettered` records why the message was refused. */
  end(outcome?: { error?: unknown; deadLettered?: string }): void;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function startStageSpan(options: StartStageSpanOptions): StageSpan {
  const tracer = trace.getTracer("custody");
  const parent = remoteParent(options.incomingTraceparent);
  const parentContext = parent ? trace.setSpanContext(otelContext.active(), parent) : otelContext.active();
  const attributes: Record<string, string | number> = { [STAGE_ATTRIBUTE]: options.name, "messaging.system": "servicebus" };
  if (typeof options.evidenceId === "string") attributes[EVIDENCE_ID_ATTRIBUTE] = options.evidenceId;
  if (typeof options.messageId === "string") attributes["messaging.message.id"] = options.messageId;
  if (options.attempt !== undefined) attributes["custody.attempt"] = options.attempt;
  if (options.entityPath !== undefined) attributes["messaging.destination.name"] = options.entityPath;
  const span: Span = tracer.startSpan(options.name, { kind: SpanKind.CONSUMER, attributes }, parentContext);
  const traceparent = span.isRecording() ? formatTraceparent(span.spanContext()) : childTraceparent(options.incomingTraceparent);
  let ended = false;
  return {
    traceparent,
    setEvidenceId: (evidenceId) => span.setAttribute(EVIDENCE_ID_ATTRIBUTE, evidenceId),
    run: (body) => otelContext.with(trace.setSpan(parentContext, span), body),
    end(outcome = {}) {
      if (ended) return;
      ended = true;
      if (outcome.error !== undefined) {
        // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a thrown value that is not an Error is recorded as its text
        const thrown = outcome.error instanceof Error ? outcome.error : String(outcome.error);
        span.recordException(thrown);
        span.setStatus({ code: SpanStatusCode.ERROR, message: thrown instanceof Error ? thrown.message : thrown });
      } else if (outcome.deadLettered !== undefined) {
        span.setAttribute("custody.dead_letter_reason", outcome.deadLettered);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `dead-lettered: ${outcome.deadLettered}` });
      } else {
        span.setStatus({ code: SpanStatusCode.OK });
      }
      span.end();
    },
  };
}

function remoteParent(value: unknown): SpanContext | undefined {
  const parts = isTraceparent(value) ? TRACEPARENT.exec(value) : null;
  if (parts === null) return undefined;
  const [, traceId, spanId, flags] = parts;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
}

function formatTraceparent(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}
