import { parseArgs, type ParseArgsConfig } from "node:util";

/** Flags every bench entry point understands (`npm run bench -- --messages 2000 --json`). */
export interface BenchArgs {
  /** Print one JSON object on stdout instead of tables. */
  json: boolean;
  /** Messages per send → receive → complete run (Service Bus). */
  messages: number;
  /** Messages pre-loaded into the deep queue (Service Bus). */
  deep: number;
  /** How the Service Bus bench receives: `receiveMessages` in a loop, or `subscribe()`. */
  receiver: "batch" | "subscribe";
  /** Receive batch size (`receiveMessages` count; `maxConcurrentCalls` for subscribe; the bare rhea credit window). */
  batch: number;
  /** Repetitions of each measured run; tables show the median. */
  rounds: number;
}

export const DEFAULT_BENCH_ARGS: BenchArgs = { json: false, messages: 10_000, deep: 100_000, receiver: "batch", batch: 500, rounds: 5 };

export function parseBenchArgs(argv: string[]): BenchArgs {
  const values = parseFlags(
    {
      messages: { type: "string" },
      deep: { type: "string" },
      receiver: { type: "string" },
      batch: { type: "string" },
      rounds: { type: "string" },
    },
    argv,
  );
  const receiver = values.receiver ?? DEFAULT_BENCH_ARGS.receiver;
  if (receiver !== "batch" && receiver !== "subscribe") throw new Error(`--receiver must be "batch" or "subscribe", not "${receiver}"`);
  return {
    json: values.json ?? false,
    messages: count(values.messages, "--messages", DEFAULT_BENCH_ARGS.messages, 1),
    deep: count(values.deep, "--deep", DEFAULT_BENCH_ARGS.deep, 0),
    receiver,
    batch: count(values.batch, "--batch", DEFAULT_BENCH_ARGS.batch, 1),
    rounds: count(values.rounds, "--rounds", DEFAULT_BENCH_ARGS.rounds, 1),
  };
}

/**
 * Flags of a bench entry point, parsed strictly: an unknown flag or a positional argument is an
 * error (a mistyped flag must not silently run the default, possibly hours-long, bench).
 * `--json` (one JSON object instead of tables) is every entry point's.
 */
export function parseFlags<const O extends Flags>(options: O, argv: string[] = process.argv.slice(2)) {
  const withJson = { json: { type: "boolean" }, ...options } as const;
  return parseArgs({ args: argv, strict: true, allowPositionals: false, options: withJson }).values;
}

type Flags = NonNullable<ParseArgsConfig["options"]>;

/** A whole-number flag (`_` separators allowed): `fallback` when absent, else at least `min`. */
export function count<F extends number | undefined>(text: string | undefined, flag: string, fallback: F, min: number): number | F {
  if (text === undefined) return fallback;
  const value = Number(text.replace(/_/g, ""));
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${flag} must be an integer ≥ ${min}, not "${text}"`);
  return value;
}
