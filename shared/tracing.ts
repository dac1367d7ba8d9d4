/**
 * W3C trace context (`traceparent`) carried on every message as an application property, so
 * one recording's work across stages shares a trace id. A stage continues the incoming
 * trace with a new span id; a message without one starts a new trace.
 */
import { randomBytes } from "node:crypto";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function isTraceparent(value: unknown): value is string {
  return typeof value === "string" && TRACEPARENT.test(value) && !/^00-0{32}-/.test(value) && !/-0{16}-/.test(value);
}

/** A child of `parent` (same trace id, new span id), or a new root when `parent` is missing or invalid. */
export function childTraceparent(parent?: unknown): string {
  const spanId = randomBytes(8).toString("hex");
  const parts = isTraceparent(parent) ? TRACEPARENT.exec(parent) : null;
  if (parts !== null) {
    const [, traceId, , flags] = parts;
    return `00-${traceId}-${spanId}-${flags}`;
  }
  return `00-${randomBytes(16).toString("hex")}-${spanId}-01`;
}

export function traceIdOf(traceparent: string): string | undefined {
  return TRACEPARENT.exec(traceparent)?.[1];
}
