/**
 * `custody start` — the embedded stack in the foreground (what `npm start` runs).
 * `custody dev-host` — only the functions, against whatever the settings in the environment
 * name (the emulators of a running stack, or Azure); `--role core|media` runs one app's.
 * The stack and the function app are loaded when one of these runs (`await import`), not when
 * the commands are registered: every other command starts without them.
 */
import * as path from "node:path";
import type { Command } from "commander";
import { createServiceBusClient } from "../../shared/adapters/service-bus-client";
import { createLogger } from "../../shared/logging";
import { loadSettings } from "../../shared/settings";
import { untilSignal } from "../signals";
import { writeJsonLine, writeLine } from "../output";
import { DEFAULT_DATA_DIR, parsedAs, portNumber } from "../options";

interface StartOptions {
  dataDir: string;
  blobPort: number;
  cosmosPort: number;
  servicebusPort: number;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function registerStackCommands(program: Command): void {
  program
    .command("start")
    .description("Run the embedded stack (Azurite, Cosmos stand-in, Service Bus emulator, functions, blob events) until Ctrl-C.")
    .option("--data-dir <dir>", "folder for Azurite's data and the stack's state", DEFAULT_DATA_DIR)
    .option("--blob-port <n>", "Azurite blob port", parsedAs(portNumber, "--blob-port"), 10000)
    .option("--cosmos-port <n>", "Cosmos stand-in port", parsedAs(portNumber, "--cosmos-port"), 8081)
    .option("--servicebus-port <n>", "Service Bus emulator port", parsedAs(portNumber, "--servicebus-port"), 5672)
    .option("--json", "print the endpoints and settings as JSON")
    .option("--quiet", "log warnings and errors only")
    .option("--verbose", "also write Azurite's debug log to <data-dir>/azurite-debug.log (every request, SAS signatures included; grows fast)")
    .action(async (options: StartOptions) => {
      const { startStack } = await import("../../local/stack.js");
      const log = createLogger({ minLevel: options.quiet ? "warn" : "info" });
      const stack = await startStack({
        dataDir: path.resolve(options.dataDir),
        ports: { blob: options.blobPort, cosmos: options.cosmosPort, serviceBus: options.servicebusPort },
        log,
        ...(options.verbose ? { azuriteDebugLog: true } : {}),
      });
      if (options.json) {
        writeJsonLine({ ready: true, endpoints: stack.endpoints, settings: stack.environment, ...(stack.azuriteDebugLogFile === undefined ? {} : { azuriteDebugLog: stack.azuriteDebugLogFile }) });
      } else {
        writeLine(
          [
            "Custody embedded stack is running. Ctrl-C stops it.",
            `  Blob (Azurite):        ${stack.endpoints.blob}`,
            `  Cosmos DB stand-in:    ${stack.endpoints.cosmos}`,
            `  Service Bus emulator:  ${stack.endpoints.serviceBus}`,
            ...(stack.azuriteDebugLogFile === undefined ? [] : [`  Azurite debug log:     ${stack.azuriteDebugLogFile} (every request, SAS signatures included: delete it when done)`]),
            "Settings for other processes (local emulators only; these are their well-known development keys):",
            ...Object.entries(stack.environment).map(([key, value]) => `  ${key}=${value}`),
            `Upload with: custody upload <file> --officer <id> --device <id>`,
          ].join("\n"),
        );
      }
      await untilSignal();
      writeLine("Stopping…");
      await stack.stop();
    });

  program
    .command("dev-host")
    .description("Run the app's functions locally against the services named in the environment settings.")
    .option("--role <role>", "run only one app's functions: core or media (default: the app setting CUSTODY_APP_ROLE, else both)")
    .action(async (options: { role?: string }) => {
      const [{ appRoles, parseAppRole, rolesNeedEvidenceIndex }, { definitionsForRoles }, { createServices, useServices }, { startDevHost }, { readHostJson }, { startTimers }] = await Promise.all([
        import("../../functions/app-roles.js"),
        import("../../functions/definitions.js"),
        import("../../functions/services.js"),
        import("../../local/dev-host/dev-host.js"),
        import("../../local/dev-host/host-json.js"),
        import("../../local/dev-host/timers.js"),
      ]);
      const log = createLogger();
      const roles = options.role === undefined ? appRoles() : [parseAppRole(options.role, "--role")];
      // The media role runs without the index: no EvidenceIndex setting is needed or read.
      const settings = loadSettings(process.env, { evidenceIndex: rolesNeedEvidenceIndex(roles) });
      const services = await createServices(settings);
      useServices(services);
      const client = createServiceBusClient(settings.serviceBus);
      const { functions, timers } = definitionsForRoles(roles);
      log.info("dev host starting", { roles });
      const host = startDevHost({ client, definitions: functions, hostSettings: readHostJson(), log });
      const timerRunner = startTimers(timers, settings, log);
      await untilSignal();
      await timerRunner.stop();
      await host.stop();
      await client.close();
      await services.close();
    });
}
