/**
 * Exports the app's traces (and the Azure SDK calls inside them) to Application Insights
 * through OpenTelemetry — only when `APPLICATIONINSIGHTS_CONNECTION_STRING` is set, as Bicep
 * sets it in Azure. Without it nothing is loaded or started: the local stack, the CLI and the
 * tests run exactly as before, and the OpenTelemetry API stays a no-op.
 *
 * Authentication: the Application Insights resource has local (instrumentation-key) auth
 * disabled, so the exporter must present an Entra ID token. The Functions convention
 * `APPLICATIONINSIGHTS_AUTHENTICATION_STRING=ClientId=<guid>;Authorization=AAD` names the
 * user-assigned identity to use; without a ClientId the system-assigned identity is used.
 * Neither setting is a secret (the connection string's key cannot ingest on its own), but the
 * connection string is never logged anyway.
 */
import type { TokenCredential } from "@azure/identity";
import type { AzureMonitorOpenTelemetryOptions } from "@azure/monitor-opentelemetry";
import { CustodyError } from "../errors";

export const CONNECTION_STRING_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING";
export const AUTHENTICATION_STRING_SETTING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
/** Percentage (1–100) of traces exported; 100 when absent. Bicep sets it from `telemetrySamplingPercentage`. */
export const SAMPLING_PERCENTAGE_SETTING = "CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE";

export type UseAzureMonitor = (options: AzureMonitorOpenTelemetryOptions) => void;

export interface StartTelemetryOptions {
  /** The distro's entry point; injected by tests so nothing is exported over the network. */
  useAzureMonitor?: UseAzureMonitor;
  /** Builds the exporter's credential from the ClientId (tests inspect it); a ManagedIdentityCredential by default. */
  createCredential?: (clientId: string | undefined) => TokenCredential;
}

export type TelemetryState = { enabled: false } | { enabled: true; authentication: "entra-id"; clientId?: string; samplingRatio: number };

let started: TelemetryState | undefined;

/**
 * Starts the Azure Monitor OpenTelemetry distro once per process when the connection string is
 * set; returns what was done. A malformed authentication string fails the start naming the
 * setting (a silently unauthenticated exporter would drop every trace: local auth is off).
 */
export function startTelemetry(env: Record<string, string | undefined> = process.env, options: StartTelemetryOptions = {}): TelemetryState {
  if (started !== undefined) return started;
  const connectionString = env[CONNECTION_STRING_SETTING]?.trim();
  if (!connectionString) {
    started = { enabled: false };
    return started;
  }
  const clientId = clientIdOf(env[AUTHENTICATION_STRING_SETTING]);
  const samplingRatio = samplingRatioOf(env[SAMPLING_PERCENTAGE_SETTING]);
  const credential = (options.createCredential ?? defaultCredential)(clientId);
  // Loaded only here: the distro pulls in the whole OpenTelemetry Node SDK, which nothing else needs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, as said above
  const useAzureMonitor = options.useAzureMonitor ?? (require("@azure/monitor-opentelemetry") as { useAzureMonitor: UseAzureMonitor }).useAzureMonitor;
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString, credential },
    // A fixed share of whole traces, never a per-second rate: the distro's ratio sampler decides
    // by trace id, so a recording is traced end to end or not at all — a trace with holes is no
    // use for "where did this one stop?". 100 % by default; lower it when the volume costs more
    // than the traces are worth (docs/deploy.md "Observability"; logs are not sampled here).
    samplingRatio,
    tracesPerSecond: 0,
    instrumentationOptions: { azureSdk: { enabled: true }, http: { enabled: true } },
  });
  started = { enabled: true, authentication: "entra-id", clientId, samplingRatio };
  return started;
}

/** Forgets the process-wide start (tests only: the distro itself cannot be restarted). */
export function resetTelemetryForTests(): void {
  started = undefined;
}

function samplingRatioOf(percentage: string | undefined): number {
  if (percentage === undefined || percentage.trim() === "") return 1;
  const value = Number(percentage.trim());
  if (!/^\d+(\.\d+)?$/.test(percentage.trim()) || value <= 0 || value > 100) {
    throw new CustodyError("InvalidConfiguration", `Setting ${SAMPLING_PERCENTAGE_SETTING} must be a percentage above 0 and at most 100 (got "${percentage}").`);
  }
  return value / 100;
}

function clientIdOf(authentication: string | undefined): string | undefined {
  if (authentication === undefined || authentication.trim() === "") return undefined;
  const parts = new Map(
    authentication
      .split(";")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const at = part.indexOf("=");
        return [part.slice(0, at < 0 ? part.length : at).toLowerCase(), at < 0 ? "" : part.slice(at + 1)] as const;
      }),
  );
  if (parts.get("authorization")?.toUpperCase() !== "AAD") {
    throw new CustodyError("InvalidConfiguration", `Setting ${AUTHENTICATION_STRING_SETTING} must be "ClientId=<guid>;Authorization=AAD" (or "Authorization=AAD" for a system-assigned identity).`);
  }
  const clientId = parts.get("clientid");
  if (clientId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(clientId)) {
    throw new CustodyError("InvalidConfiguration", `Setting ${AUTHENTICATION_STRING_SETTING} has a ClientId that is not a GUID.`);
  }
  return clientId;
}

function defaultCredential(clientId: string | undefined): TokenCredential {
  // Required here rather than imported: this module loads before everything else in the app
  // (functions/telemetry-bootstrap.ts), and the SDK's HTTP stack should load after telemetry starts.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, as said above
  const { ManagedIdentityCredential } = require("@azure/identity") as typeof import("@azure/identity");
  return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
}
