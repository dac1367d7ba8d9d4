/**
 * The `custody` command. Each command lives in cli/commands/; this file wires them into one
 * program and maps outcomes to exit codes: 0 ok, 1 some recording failed, 2 usage or
 * infrastructure error.
 */
import { Command, CommanderError } from "commander";
import { registerDlqCommands } from "./commands/dlq";
import { registerAuditCommand } from "./commands/audit";
import { registerEmulatorCommands } from "./commands/emulator";
import { registerEvidenceCommands } from "./commands/evidence";
import { registerExportCommand } from "./commands/export";
import { registerReconcileCommand } from "./commands/reconcile";
import { registerReprocessCommand } from "./commands/reprocess";
import { registerRetentionCommands } from "./commands/retention";
import { registerStackCommands } from "./commands/stack";
import { registerSubscribeCommand } from "./commands/subscribe";
import { registerVerifyCommand } from "./commands/verify";
import { EXIT_OK, EXIT_USAGE_OR_INFRASTRUCTURE } from "./exit-codes";
import { writeErrorLine } from "./output";

export function buildProgram(): Command {
  const program = new Command("custody").description("Court-ready evidence from body-worn video: pipeline, local stack and operations.").exitOverride().showHelpAfterError();
  registerStackCommands(program);
  registerEvidenceCommands(program);
  registerVerifyCommand(program);
  registerExportCommand(program);
  registerEmulatorCommands(program);
  registerDlqCommands(program);
  registerAuditCommand(program);
  registerReconcileCommand(program);
  registerReprocessCommand(program);
  registerRetentionCommands(program);
  registerSubscribeCommand(program);
  return program;
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version requests exit 0; anything else commander rejects is a usage error.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE_OR_INFRASTRUCTURE;
    }
    writeErrorLine(`custody: ${(error as Error).message}`);
    return EXIT_USAGE_OR_INFRASTRUCTURE;
  }
}
