/** What a bench entry point does around its sections: print the results, report a failure. */
import { environment, formatResult, type BenchResult } from "../types";

/** Tables under a line naming the machine, or (`json`) one JSON object keyed by section name. */
export function printResults(results: BenchResult[], json: boolean): void {
  const env = environment();
  if (json) {
    const output: Record<string, unknown> = { environment: env };
    for (const result of results) output[result.name] = result.data;
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return;
  }
  process.stdout.write(`node ${String(env.node)} on ${String(env.platform)}, ${String(env.cpus)} × ${String(env.cpuModel)}\n\n`);
  process.stdout.write(`${results.map(formatResult).join("\n\n")}\n`);
}

/** Runs an entry point's `main`, printing a failure's stack and setting a non-zero exit code. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
