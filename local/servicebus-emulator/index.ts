/**
 * Custody's Service Bus emulator: an AMQP 1.0 server the unmodified `@azure/service-bus` SDK
 * talks to (`UseDevelopmentEmulator=true`), configured with Microsoft's emulator Config.json
 * format, plus the read-only ATOM management API on the same port for
 * `ServiceBusAdministrationClient` (entity counts). In-memory: messages do not survive a stop.
 */
import * as net from "node:net";
import { createManagementEndpoint, type ManagementEndpoint } from "./admin/endpoint";
import { routeByFirstByte } from "./admin/port-sharing";
import { loadEmulatorConfigFile, parseEmulatorConfig } from "./config/config-file";
import type { NamespaceSpec } from "./config/types";
import { compileSqlFilter, compileSqlRuleAction } from "./filters";
import { projectFile } from "../project-files";
import { AmqpServer } from "./protocol/amqp-server";
import { ServiceBusNamespace } from "./store/namespace";
import type { NamespaceView } from "./store/views";

/** The project's topology file: the default configuration. */
export const DEFAULT_CONFIG_FILE = projectFile("topology", "servicebus.json");

/** The service's limit for Standard namespaces. */
export const DEFAULT_MAX_MESSAGE_SIZE_IN_BYTES = 256 * 1024;

export interface ServiceBusEmulatorFaults {
  /** Store every message routed to a queue or subscription twice (at-least-once delivery made visible). */
  duplicateDeliveries?: boolean;
  /** Override every entity's LockDuration, e.g. 1000 to make lock expiry observable in tests. */
  lockDurationInMs?: number;
}

export interface StartServiceBusEmulatorOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1: the emulator has no authentication. */
  host?: string;
  /** Config.json path. Default: the project's topology file. Ignored when `config` is given. */
  configFile?: string;
  /** An already-parsed configuration (Config.json object), instead of a file. */
  config?: unknown;
  maxMessageSizeInBytes?: number;
  faults?: ServiceBusEmulatorFaults;
  /** Diagnostic lines (refused links, protocol errors). Default: discarded. */
  log?: (line: string) => void;
}

export interface ServiceBusEmulator {
  /** `Endpoint=sb://localhost:PORT;SharedAccessKeyName=…;SharedAccessKey=…;UseDevelopmentEmulator=true` */
  readonly connectionString: string;
  readonly port: number;
  /** PEM of the management endpoint's self-signed certificate (see admin/client.ts). */
  readonly certificatePem: string;
  /** Live view of entities and their message counts. */
  readonly namespace: NamespaceView;
  /** Fault injection: cut every client connection abruptly. Returns how many were cut. */
  dropConnections(): number;
  close(): Promise<void>;
}

export class EmulatorStartError extends Error {
  readonly code: "PortInUse" | "InvalidConfig" | "ListenFailed";
  constructor(code: EmulatorStartError["code"], message: string) {
    super(message);
    this.name = "EmulatorStartError";
    this.code = code;
  }
}

export async function startServiceBusEmulator(options: StartServiceBusEmulatorOptions = {}): Promise<ServiceBusEmulator> {
  const log = options.log ?? (() => undefined);
  const spec = await loadSpec(options);
  const namespace = new ServiceBusNamespace(spec, {
    duplicateDeliveries: options.faults?.duplicateDeliveries,
    lockDurationInMs: options.faults?.lockDurationInMs,
  });
  const amqp = new AmqpServer({
    namespace,
    maxMessageSizeInBytes: options.maxMessageSizeInBytes ?? DEFAULT_MAX_MESSAGE_SIZE_IN_BYTES,
    log,
  });
  let management: ManagementEndpoint;
  try {
    management = await createManagementEndpoint({ namespace, log });
  } catch (error) {
    namespace.close();
    throw error;
  }

  // A TLS socket wrapping an already-read stream does not own the TCP connection: when the
  // handshake fails (or the HTTPS side closes), close the connection underneath as well.
  management.server.on("tlsClientError", (_error, tlsSocket) => (tlsSocket as unknown as { _parent?: net.Socket })._parent?.destroy());
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    routeByFirstByte(socket, {
      tls: (s) => management.server.emit("connection", s),
      other: (s) => amqp.accept(s),
    });
  });
  const host = options.host ?? "127.0.0.1";
  const requestedPort = options.port ?? 0;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(requestedPort, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    namespace.close();
    await management.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new EmulatorStartError("PortInUse", `Port ${requestedPort} on ${host} is already in use: stop what holds it or choose another port with --port.`);
    }
    throw new EmulatorStartError("ListenFailed", `Cannot listen on ${host}:${requestedPort}: ${(error as Error).message}`);
  }
  server.on("error", (error) => log(`listener error: ${error.message}`));
  const port = (server.address() as net.AddressInfo).port;

  let closed = false;
  return {
    connectionString: `Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`,
    port,
    certificatePem: management.certificatePem,
    namespace,
    dropConnections: () => amqp.dropConnections(),
    async close() {
      if (closed) return;
      closed = true;
      amqp.close();
      await management.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      namespace.close();
    },
  };
}

async function loadSpec(options: StartServiceBusEmulatorOptions): Promise<NamespaceSpec> {
  // Filters and actions are compiled while loading, so a bad SQL expression fails the start
  // with the config field that holds it rather than the first message routed through it.
  const parseOptions = {
    validateSqlFilter: (expression: string) => void compileSqlFilter(expression),
    validateSqlAction: (expression: string) => void compileSqlRuleAction(expression),
  };
  try {
    if (options.config !== undefined) return parseEmulatorConfig(options.config, parseOptions);
    return await loadEmulatorConfigFile(options.configFile ?? DEFAULT_CONFIG_FILE, parseOptions);
  } catch (error) {
    throw new EmulatorStartError("InvalidConfig", (error as Error).message);
  }
}

export { createEmulatorAdministrationClient } from "./admin/client";
