/**
 * stack.json: how a running `custody start` tells other commands where it is. The stack writes
 * it on start and removes it on stop; operator commands (`custody dlq`, `audit`, `status` …)
 * read it to connect without loading the stack. Kept apart from stack.ts, which loads
 * everything (Azurite, the emulator, the function app), so reading it loads nothing.
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import * as path from "node:path";

export interface StackFile {
  pid: number;
  startedAt: string;
  endpoints: { blob: string; cosmos: string; serviceBus: string };
  /** The settings other processes connect with (the services directly, never through a fault proxy). */
  environment: Record<string, string>;
  /** The emulator's management certificate (public, regenerated at each start), for other processes' admin clients. */
  serviceBusCertificatePem?: string;
}

export function stackFileFor(dataDir: string): string {
  return path.join(dataDir, "stack.json");
}

export async function writeStackFile(file: string, contents: StackFile): Promise<void> {
  await writeFile(file, JSON.stringify(contents, null, 2));
}

/** The stack running in `dataDir`, if its process is alive (a stale file after a crash is ignored). */
export function readRunningStack(dataDir: string): StackFile | undefined {
  const file = stackFileFor(path.resolve(dataDir));
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as StackFile;
    process.kill(parsed.pid, 0); // throws when the process is gone (a stale file after a crash)
    return parsed;
  } catch {
    return undefined;
  }
}
