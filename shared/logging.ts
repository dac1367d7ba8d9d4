/**
 * Structured logs: one JSON object per line with `evidenceId`, `traceparent`, `stage` and
 * `messageId` wherever known, so every stage's lines for one recording can be joined (in
 * Application Insights through the Functions host, locally on stdout).
 */
import { printableJsonText } from "./text/printable";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export type LogSink = (level: LogLevel, line: string) => void;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface CreateLoggerOptions {
  sink?: LogSink;
  minLevel?: LogLevel;
  fields?: LogFields;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const sink: LogSink = options.sink ?? ((level, line) => (level === "error" || level === "warn" ? process.stderr : process.stdout).write(`${line}\n`));
  const minLevel = LEVELS[options.minLevel ?? "info"];
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVELS[level] < minLevel) return;
    // Values come from outside (blob names, message ids): bidi and other invisible characters are
    // escaped too, so a log viewer or terminal shows them instead of acting on them.
    sink(level, printableJsonText(JSON.stringify({ time: new Date().toISOString(), level, message, ...base, ...(fields ? serializable(fields) : {}) })));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ sink, minLevel: options.minLevel, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createLogger({ sink: () => undefined });

function serializable(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message, code: (value as { code?: unknown }).code } : value;
  }
  return out;
}
