/**
 * The embedded stack `custody process` starts when none is running. local/stack.ts is loaded
 * only when one starts (`await import`), so commands that only talk to a running Custody never
 * load Azurite, the emulator or the function app.
 */
import { createLogger, silentLogger } from "../shared/logging";
import type { Environment } from "../shared/settings";

export interface EmbeddedStack {
  environment: Environment;
  serviceBusCertificatePem: string;
  stop(): Promise<void>;
}

export async function startEmbeddedStack(options: { dataDir: string; verbose?: boolean }): Promise<EmbeddedStack> {
  // Loaded here, not at the top: registering `custody process` must not load the stack.
  const { startStack } = await import("../local/stack.js");
  const stack = await startStack({
    dataDir: options.dataDir,
    // stderr: stdout carries the command's result (--json must stay parseable).
    log: options.verbose ? createLogger({ minLevel: "info", sink: (_level, line) => process.stderr.write(`${line}\n`) }) : silentLogger,
    blobPollIntervalInMs: 250,
  });
  return { environment: stack.environment, serviceBusCertificatePem: stack.serviceBus.certificatePem, stop: () => stack.stop() };
}
