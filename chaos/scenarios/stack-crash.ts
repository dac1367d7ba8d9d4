/**
 * The whole local stack crashes in the middle of a burst: the functions host is SIGKILLed, then
 * the Service Bus emulator and the Cosmos stand-in go down with it — every message in flight,
 * the topic's duplicate-detection history and the whole index are gone; only Blob Storage
 * (originals, renditions, the custody ledger) survives, as it would in Azure. The stack is
 * started again on the same data, and the operator follows the runbook (docs/operations.md,
 * "The whole stack went down"): `custody reconcile --stuck-after 0s`.
 *
 * What must hold: every recording ends ready with the fingerprint taken before the crash, and
 * downstream receives no event twice — the ledger says which events were already published, so
 * nothing is announced again even though the broker no longer remembers the ids it saw.
 *
 * The one window this cannot close (an event Service Bus accepted in the instant before the
 * killed host appended it to the ledger) would show here as a duplicate; in Azure the topic's
 * duplicate detection, which survives a host or index loss, drops that copy.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { projectFile } from "../../local/project-files";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { readAll, startChaosStack, until, waitForFinal, isFinal, type TappedEvent, type Upload } from "../harness";
import { measure, standardChecks, type ScenarioOutcome } from "../outcome";
import type { Scenario } from "../scenario";

const EVENTS_QUIET_IN_MS = 3000;

export interface StackCrashScenarioOptions {
  uploads: number;
  /** Crash once this many recordings are final (mid-burst). Default a third. */
  crashAfterFinal?: number;
  /** Longest wait, after the restart, for every recording to be final. */
  settleInMs?: number;
}

export function stackCrashScenario(options: StackCrashScenarioOptions): Scenario {
  const name = `stack-crash-${options.uploads}`;
  const crashAfter = options.crashAfterFinal ?? Math.max(1, Math.floor(options.uploads / 3));
  const settleInMs = options.settleInMs ?? 10 * 60_000;
  return {
    name,
    summary: `${options.uploads} uploads; once ${crashAfter} are final, the host is SIGKILLed and the emulator and the index go down with it (messages, duplicate-detection history and records lost; Blob Storage kept); restarted on the same data, then \`custody reconcile --stuck-after 0s\`.`,
    mustHold: `${options.uploads} ready with the fingerprints taken before the crash, no event the ledger recorded as published received again (an event caught between Service Bus accepting it and the ledger recording it is received twice: at least once), 0 duplicate records.`,
    run: async (context) => {
      const workDir = path.join(context.workDir, name);
      const notes: string[] = [];
      const before: TappedEvent[] = [];
      let uploads: Upload[] = [];
      const fingerprints = new Map<string, string>();
      const publishedAtCrash = new Set<string>();

      const first = await startChaosStack({ workDir });
      try {
        first.host.start();
        uploads = await first.upload(context.clip, options.uploads, name, 16);
        await until(
          async () => {
            const records = await readAll(first.index).catch(() => new Map<string, EvidenceRecord>());
            return uploads.filter((u) => isFinal(records.get(u.evidenceId))).length >= crashAfter;
          },
          settleInMs,
          200,
        );
        await first.host.kill();
        // What downstream received before the crash (the host is dead: nothing new is published).
        await first.events.quiet(1000);
        before.push(...first.events.all);
        // One listing of the index as the crash left it: the fingerprints to compare, and how many were final.
        const atCrash = await readAll(first.index);
        for (const upload of uploads) {
          const sha256 = atCrash.get(upload.evidenceId)?.hash?.sha256;
          if (sha256 !== undefined) fingerprints.set(upload.evidenceId, sha256);
        }
        const final = uploads.filter((u) => isFinal(atCrash.get(u.evidenceId))).length;
        notes.push(`crashed with ${final} of ${uploads.length} final, ${before.length} events received`);
        // What the ledger said was published when the host died: a rebuild must never send those again.
        for (const upload of uploads) {
          for (const entry of await first.ledger.read(upload.evidenceId)) if (entry.kind === "published") publishedAtCrash.add(entry.messageId);
        }
      } finally {
        await first.stop();
      }

      const second = await startChaosStack({ workDir });
      try {
        second.host.start();
        const restartedAt = Date.now();
        // The runbook's step, as an operator runs it: the CLI against the running stack.
        const reconcile = await promisify(execFile)(process.execPath, [projectFile("bin", "custody.js"), "reconcile", "--stuck-after", "0s", "--json", "--data-dir", path.join(workDir, "data")], {
          maxBuffer: 16 * 1024 * 1024,
        });
        const result = JSON.parse(reconcile.stdout) as { count: number; rebuilt: Array<{ written: boolean }> };
        notes.push(`reconcile: ${result.rebuilt.filter((r) => r.written).length} rebuilt from the ledger, ${result.count} re-announced`);
        const records = await waitForFinal(second.index, uploads, { timeoutInMs: settleInMs });
        await second.events.quiet(EVENTS_QUIET_IN_MS);
        const events = [...before, ...second.events.all];
        const figures = measure({ scenario: name, uploads, records, events, deadLettered: second.deadLettered(), since: { at: restartedAt, label: "restart" } });
        const changed = uploads.filter((u) => fingerprints.has(u.evidenceId) && records.get(u.evidenceId)?.hash?.sha256 !== fingerprints.get(u.evidenceId)).length;
        const counts = new Map<string, number>();
        for (const event of events) counts.set(event.messageId, (counts.get(event.messageId) ?? 0) + 1);
        const repeated = [...counts].filter(([, count]) => count > 1).map(([id]) => id);
        // An event Service Bus accepted moments before the crash, whose "published" entry the
        // ledger had not yet received, is owed again by the rebuilt record and sent again: with
        // the broker's duplicate-detection history lost too, subscribers see it twice (at least
        // once; they keep the first by its CloudEvents id). Any other repeat is a rebuild
        // re-announcing what the ledger knew was published — the failure this scenario catches.
        const inWindow = repeated.filter((id) => !publishedAtCrash.has(id));
        const reannounced = repeated.length - inWindow.length;
        if (inWindow.length > 0) notes.push(`${inWindow.length} event(s) sent in the window between Service Bus accepting them and the ledger recording it, received again: ${inWindow.join(", ")}`);
        const duplicatesOutsideWindow = figures.duplicateEvents - inWindow.reduce((sum, id) => sum + (counts.get(id) ?? 1) - 1, 0);
        return {
          ...figures,
          checks: [
            ...standardChecks({ ...figures, duplicateEvents: duplicatesOutsideWindow }, { allReady: true }),
            { what: "no fingerprint changed by the recovery", held: changed === 0, detail: `${changed} recordings with another SHA-256 than before the crash` },
            {
              what: "no event the ledger recorded as published is received again",
              held: reannounced === 0,
              detail: `${reannounced} event ids the ledger held as published received again (${inWindow.length} more sent in the publish → ledger window)`,
            },
          ],
          notes,
        } satisfies ScenarioOutcome;
      } finally {
        await second.stop();
      }
    },
  };
}
