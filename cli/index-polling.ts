/**
 * Waiting, in a CLI command, for the index to record what the command asked for: one read per
 * recording per round, until every item is settled or time runs out (then each pending item is
 * `timed-out`). The commands say what "settled" means for their items.
 */
import type { EvidenceRecord } from "../shared/evidence/record";

export interface PolledItem {
  evidenceId: string;
  outcome?: string;
}

export interface PollIndexOptions<T extends PolledItem> {
  read: (evidenceId: string) => Promise<{ record: EvidenceRecord } | undefined>;
  /** Looks at the item's record (undefined: none yet) and sets `item.outcome` once it is settled. */
  settle: (item: T, record: EvidenceRecord | undefined) => void;
  timeoutInMs: number;
  intervalInMs: number;
}

export async function pollIndexUntilSettled<T extends PolledItem>(items: T[], options: PollIndexOptions<T>): Promise<void> {
  const deadline = Date.now() + options.timeoutInMs;
  let pending = items;
  while (pending.length > 0) {
    const records = new Map<string, EvidenceRecord | undefined>();
    for (const evidenceId of new Set(pending.map((i) => i.evidenceId))) records.set(evidenceId, (await options.read(evidenceId))?.record);
    for (const item of pending) options.settle(item, records.get(item.evidenceId));
    pending = pending.filter((i) => i.outcome === undefined);
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      for (const item of pending) item.outcome = "timed-out";
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalInMs));
  }
}
