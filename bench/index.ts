/**
 * Runs every benchmark section and prints their tables (or, with `--json`, one JSON object
 * keyed by section name). A section is a module exporting a `BenchSection` factory
 * (`{ name, run(): Promise<BenchResult> }`); add new ones (hashing, transcoding, …) to
 * `sections` below.
 *
 *   npm run bench
 *   npm run bench -- --messages 2000 --deep 20000 --json
 */
import { parseBenchArgs, type BenchArgs } from "./args";
import { hashBench } from "./hash";
import { mediaBench } from "./media";
import { pipelineBench } from "./pipeline";
import { serviceBusBench } from "./servicebus";
import { printResults, runMain } from "./support/standalone";
import type { BenchResult, BenchSection } from "./types";

function sections(args: BenchArgs): BenchSection[] {
  return [serviceBusBench({ messages: args.messages, deep: args.deep, receiver: args.receiver, batch: args.batch, rounds: args.rounds }), hashBench(), pipelineBench(), mediaBench()];
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const results: BenchResult[] = [];
  for (const section of sections(args)) {
    process.stderr.write(`running ${section.name}…\n`);
    results.push(await section.run());
  }
  printResults(results, args.json);
}

runMain(main);
