/**
 * `custody emulator servicebus [--port N] [--config FILE]`: runs the Service Bus emulator in
 * the foreground. Prints one line with the connection string when ready (scripts wait for
 * it), then runs until SIGINT/SIGTERM.
 */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { untilSignal } from "../signals";
import { parsedAs, portNumber } from "../options";
import { writeErrorLine, writeJsonLine, writeLine } from "../output";

export interface EmulatorCommandOptions {
  port: number;
  host: string;
  config?: string;
  json?: boolean;
  verbose?: boolean;
  certOut?: string;
}

export function registerEmulatorCommands(program: Command): void {
  const emulator = program.command("emulator").description("Local stand-ins for Azure services.");
  emulator
    .command("servicebus")
    .description("Run the Service Bus emulator (AMQP + management API on one port) until interrupted.")
    .option("--port <n>", "TCP port (0 picks a free one)", parsedAs(portNumber, "--port"), 5672)
    .option("--host <address>", "interface to listen on", "127.0.0.1")
    .option("--config <file>", "Config.json in Microsoft's emulator format (default: the project's topology/servicebus.json)")
    .option("--json", "print the ready line as JSON")
    .option("--verbose", "log refused links and protocol errors to stderr")
    .option("--cert-out <file>", "write the management endpoint's self-signed certificate (PEM) here, for clients to trust (e.g. NODE_EXTRA_CA_CERTS)")
    .action(runServiceBusEmulator);
}

async function runServiceBusEmulator(options: EmulatorCommandOptions): Promise<void> {
  // Loaded only when the emulator runs: registering the command loads nothing of it.
  const { startServiceBusEmulator } = await import("../../local/servicebus-emulator/index.js");
  const emulator = await startServiceBusEmulator({
    port: options.port,
    host: options.host,
    configFile: options.config,
    log: options.verbose ? (line) => writeErrorLine(`servicebus-emulator: ${line}`) : undefined,
  });
  if (options.certOut) await writeFile(options.certOut, emulator.certificatePem, { mode: 0o644 });
  const queues = emulator.namespace.queues().length;
  const topics = emulator.namespace.topics().length;
  if (options.json) {
    writeJsonLine({ ready: true, connectionString: emulator.connectionString, port: emulator.port, queues, topics });
  } else {
    writeLine(`Service Bus emulator ready (${queues} queues, ${topics} topics): ${emulator.connectionString}`);
  }
  await untilSignal();
  await emulator.close();
}
