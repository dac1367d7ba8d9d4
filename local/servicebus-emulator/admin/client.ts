/**
 * Building an administration client for the emulator: the one place that knows the
 * management endpoint presents a per-start self-signed certificate that must be trusted.
 */
import { ServiceBusAdministrationClient } from "@azure/service-bus";

/**
 * An unmodified `ServiceBusAdministrationClient` that trusts the emulator's certificate.
 *
 * @param connectionString the emulator's, e.g.
 *   `Endpoint=sb://localhost:5672;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true`
 *   (the admin client calls `https://localhost:5672/…`, the same port as AMQP).
 * @param certificatePem `ManagementEndpoint.certificatePem`.
 *
 * The SDK's pipeline options carry `tlsOptions` to the https.Agent its Node HTTP client
 * creates (@azure/core-rest-pipeline tlsPolicy), so `ca` trusts the emulator for this client
 * only, not process-wide (unlike NODE_EXTRA_CA_CERTS or NODE_TLS_REJECT_UNAUTHORIZED=0).
 * Note: if HTTPS_PROXY is set, NO_PROXY must list `localhost`, or the SDK proxies the call.
 */
export function createEmulatorAdministrationClient(connectionString: string, certificatePem: string): ServiceBusAdministrationClient {
  return new ServiceBusAdministrationClient(connectionString, { tlsOptions: { ca: certificatePem } });
}
