/**
 * A fault scenario: what it does, what must hold, and how to run it. Each run starts its own
 * breakable stack (chaos/harness.ts) in its own folder and returns one table row.
 */
import type { ScenarioOutcome } from "./outcome";

export interface ScenarioContext {
  /** Folder for this scenario's stack data and host log. */
  workDir: string;
  /** The clip every upload sends (chaos/harness.ts generateClip). */
  clip: string;
  /** Seed for the scenario's random choices (kill moments): a run can be repeated. */
  seed: number;
  /** Progress lines (stderr), not part of the table. */
  log(line: string): void;
}

export interface Scenario {
  name: string;
  /** What the scenario does, one sentence (docs/reliability.md). */
  summary: string;
  /** What must hold, one sentence. */
  mustHold: string;
  run(context: ScenarioContext): Promise<ScenarioOutcome>;
}

/** A small deterministic generator (mulberry32): the same seed gives the same kill moments. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
