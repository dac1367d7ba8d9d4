/**
 * Disposal, the timer's half: finds the recordings whose retention has ended (shared/evidence/
 * retention.ts) and sends each a `dispose` retention command; the index — the only writer, the
 * one that deletes — checks it again and carries it out (index-stage.ts). Also what `custody
 * disposal report` shows: what is due, what is held or waits for review, what comes next.
 *
 * A recording left `deleting` (a restart in the middle of a disposal) is sent a new dispose
 * (a new command id, so duplicate detection does not drop it) that resumes it.
 */
import { retentionCommandMessageId } from "../contracts/message-ids";
import type { RetentionCommandMessage } from "../contracts/messages";
import type { EvidenceRecord } from "../evidence/record";
import { disposalRefusal, retentionOf } from "../evidence/retention";
import type { AuditLog } from "../ports/audit-log";
import type { EvidenceIndex } from "../ports/evidence-index";
import type { Publisher } from "../ports/publisher";
import type { StageContext } from "./stage-context";

export interface DisposalCandidate {
  evidenceId: string;
  category: string;
  retainUntil: string;
  /** due: a dispose is (or would be) sent; resume: one was decided and is not finished; held / review: kept. */
  status: "due" | "resume" | "held" | "review" | "kept";
  holds: string[];
  sha256?: string;
}

/** Recordings not yet disposed of whose retention ends at or before `until`, oldest end first, and what happens to each at `now`. */
export async function disposalCandidates(index: EvidenceIndex, now: Date, until: Date = now): Promise<DisposalCandidate[]> {
  const out: DisposalCandidate[] = [];
  for await (const record of index.list({ retainedUntilAtOrBefore: until.toISOString() })) out.push(candidateOf(record, now));
  return out;
}

function candidateOf(record: EvidenceRecord, now: Date): DisposalCandidate {
  const state = retentionOf(record);
  const base = {
    evidenceId: record.evidenceId,
    category: state.category,
    retainUntil: state.retainUntil,
    holds: state.holds.map((h) => h.caseReference),
    ...(record.hash === undefined ? {} : { sha256: record.hash.sha256 }),
  };
  if (record.disposal?.state === "deleting") return { ...base, status: "resume" };
  const why = disposalRefusal(state, now.getTime());
  if (why === undefined) return { ...base, status: "due" };
  return { ...base, status: state.holds.length > 0 ? "held" : state.disposal === "review" && Date.parse(state.retainUntil) <= now.getTime() ? "review" : "kept" };
}

export interface DisposalRunDeps {
  index: EvidenceIndex;
  publisher: Publisher;
  /** The retention-commands queue. */
  queue: string;
  /** Where the run's audit record goes (one per run that requested anything, like an operator's). */
  audit: AuditLog;
  now?: () => Date;
}

export interface DisposalRun {
  sent: DisposalCandidate[];
  /** The run's audit record (`audit/<name>`), when it requested anything. */
  audit?: string;
  /** Due but left for the next run (more than maxPerRun). */
  deferred: number;
  /** Past their retention but kept: held, or waiting for a review. */
  kept: DisposalCandidate[];
}

/** One timer run: a dispose command for each due (or unfinished) disposal, at most `maxPerRun`. */
export async function sendDueDisposals(deps: DisposalRunDeps, context: StageContext, options: { maxPerRun: number }): Promise<DisposalRun> {
  const now = (deps.now ?? (() => new Date()))();
  const candidates = await disposalCandidates(deps.index, now);
  const due = candidates.filter((c) => c.status === "due" || c.status === "resume");
  const run: DisposalRun = { sent: [], deferred: Math.max(0, due.length - options.maxPerRun), kept: candidates.filter((c) => c.status === "held" || c.status === "review") };
  const messageIds: string[] = [];
  try {
    await sendEach(due.slice(0, options.maxPerRun), run, messageIds, deps, context, now);
  } catch (error) {
    run.audit = await auditRun(run, messageIds, deps, context, now, error);
    throw error;
  }
  if (run.sent.length > 0) run.audit = await auditRun(run, messageIds, deps, context, now);
  return run;
}

/** The run as the audit log keeps it: who (the timer's identity), what it asked to dispose of, and where it stopped on an error. */
async function auditRun(run: DisposalRun, messageIds: string[], deps: DisposalRunDeps, context: StageContext, now: Date, error?: unknown): Promise<string> {
  return deps.audit.write({
    id: `disposal-${now.toISOString().replace(/[:.]/g, "-")}`,
    action: "disposal",
    who: context.actor,
    at: (deps.now ?? (() => new Date()))().toISOString(),
    entity: deps.queue,
    filter: { reason: "retention ended, category disposes automatically, no hold" },
    count: run.sent.length,
    messageIds,
    evidenceIds: run.sent.map((c) => c.evidenceId),
    ...(error === undefined ? {} : { error: `stopped after ${run.sent.length}: ${(error as Error).message}` }),
  });
}

async function sendEach(due: DisposalCandidate[], run: DisposalRun, messageIds: string[], deps: DisposalRunDeps, context: StageContext, now: Date): Promise<void> {
  for (const candidate of due) {
    const command: RetentionCommandMessage = {
      schemaVersion: 1,
      kind: "retention-command",
      // The first dispose per retention end; a resume gets its own id each run.
      commandId: candidate.status === "due" ? `dispose:${candidate.retainUntil}` : `dispose-resume:${now.toISOString()}`,
      evidenceId: candidate.evidenceId,
      action: "dispose",
      reason: `retention ended ${candidate.retainUntil} (${candidate.category}); no hold`,
      requestedBy: context.actor,
      requestedAt: now.toISOString(),
      source: "system",
    };
    await deps.publisher.publish(deps.queue, {
      messageId: retentionCommandMessageId(command),
      body: command,
      subject: "retention-command",
      correlationId: candidate.evidenceId,
      applicationProperties: { evidenceId: candidate.evidenceId, action: "dispose" },
      traceparent: context.traceparent,
    });
    context.log.warn("disposal requested", { evidenceId: candidate.evidenceId, category: candidate.category, retainUntil: candidate.retainUntil, resume: candidate.status === "resume" });
    run.sent.push(candidate);
    messageIds.push(retentionCommandMessageId(command));
  }
}
