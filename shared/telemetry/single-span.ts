/**
 * One span for an operation the Azure SDK would otherwise trace request by request. A rendition
 * upload goes up in 4 MiB blocks: with the Azure SDK and HTTP instrumentations on (the Azure
 * Monitor distro, shared/adapters/azure-monitor.ts), each Put Block is a span of its own and an
 * HTTP span under it — a 1 GB proxy is ~500 of them, ingested and billed, saying nothing the
 * one upload span does not. So the operation gets one span, carrying what matters (bytes,
 * blocks, outcome), and everything started inside it runs with tracing suppressed.
 *
 * Suppression is OpenTelemetry's own: the context key `suppressTracing()` of @opentelemetry/core
 * sets. `createContextKey` is `Symbol.for(description)`, so the key made here is that very key;
 * SDK tracers then hand out non-recording spans, and instrumentations skip their work.
 */
import { context as otelContext, createContextKey, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";

const SUPPRESS_TRACING = createContextKey("OpenTelemetry SDK Context Key SUPPRESS_TRACING");

/** Runs `body` with tracing suppressed: nothing started inside (SDK calls, HTTP requests) becomes a span. */
export function withoutTracing<T>(body: () => Promise<T>): Promise<T> {
  return otelContext.with(otelContext.active().setValue(SUPPRESS_TRACING, true), body);
}

/**
 * Runs `body` as one client span named `name` (a child of the active span, e.g. the stage's), with
 * everything inside it untraced. `body` may add attributes (bytes, blocks) as it learns them; an
 * error marks the span failed and is rethrown.
 */
export async function inSingleSpan<T>(name: string, attributes: Attributes, body: (span: Pick<Span, "setAttribute" | "setAttributes">) => Promise<T>): Promise<T> {
  const span = trace.getTracer("custody").startSpan(name, { kind: SpanKind.CLIENT, attributes });
  try {
    const result = await withoutTracing(() => body(span));
    span.setStatus({ code: SpanStatusCode.OK });
    return result;
  } catch (error) {
    // The error's name only: messages can carry blob names and URLs, which the stage's logs already have.
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : "error" });
    throw error;
  } finally {
    span.end();
  }
}
