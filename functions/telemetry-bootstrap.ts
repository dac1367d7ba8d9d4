/**
 * Imported first by functions/index.ts, for its side effect: starts OpenTelemetry export to
 * Application Insights before any Azure SDK or `http` module is loaded, so their
 * instrumentation can hook them — and only when APPLICATIONINSIGHTS_CONNECTION_STRING is set
 * (shared/adapters/azure-monitor.ts). The dev host and the CLI never import this file.
 */
import { startTelemetry } from "../shared/adapters/azure-monitor";

startTelemetry(process.env);
