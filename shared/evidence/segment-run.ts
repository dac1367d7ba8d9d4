/**
 * The segment-parallel transcode as the index sees it: the plan a media run claimed, each
 * segment's outcome, and the work orders the index owes (segment requests, the join). Pure: no
 * I/O, no clock. See docs/architecture.md "Long recordings".
 *
 * The index is the only one that hands out work: the media app claims a plan; the index records
 * it (the first plan of a run stands) and owes one segment request per segment; each segment's
 * result is merged like a stage's (succeeded > failed for good > pending; attempts a maximum; a
 * transient failure only moves the retry); once every segment succeeded the run owes one join
 * request. Owed orders are decided here and persisted before they are sent, then marked sent
 * (markEventPublished) — the same three steps as the final event, so a crash in between re-sends
 * them with the same message ids, which duplicate detection drops.
 *
 * A segment that fails for good fails the transcode stage, naming the segment and its time
 * range; the stage's result is then that failure (keyed by the segment result's id). A stage
 * retry (the plan run failed transiently, or the join did) re-plans the same plan in a new
 * round, and the run owes again whatever is not done in that round.
 */
import { createHash } from "node:crypto";
import { joinRequestMessageId, reprocessIdOf, segmentPlanMessageId, segmentRequestMessageId, segmentResultMessageId, segmentRunTag } from "../contracts/message-ids";
import type { OutgoingMessage } from "../contracts/envelopes";
import type { JoinRequestMessage, SegmentPlanBody, SegmentPlanMessage, SegmentPlanShape, SegmentRequestMessage, SegmentResultMessage, StageResultMessage } from "../contracts/messages";
import { CustodyError } from "../errors";
import { canonicalJson } from "./canonical-json";
import type { EvidenceRecord, SegmentState, TranscodeRun } from "./record";
import { appendLogEntry, applyStageResult, compareText, compareTime, joinRetry, pickMedia, resultBeats, retryDueAt, settle, withRetryBudget, type MergeContext } from "./record-merge";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry-policy";

/** The plan's id: SHA-256 of its canonical JSON. The index recomputes it, so a claim cannot name one plan and carry another. */
export function planIdOf(plan: SegmentPlanBody): string {
  return createHash("sha256").update(canonicalJson(plan), "utf8").digest("hex");
}

/** `hh:mm:ss.mmm` of a time in microseconds (how a failure names a segment's range). */
export function clockTime(microseconds: number): string {
  const ms = Math.round(microseconds / 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = Math.floor((ms % 60_000) / 1000);
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}.${String(ms % 1000).padStart(3, "0")}`;
}

/** Segment `index` of `count` and its time range, as operators read it. */
export function describeSegment(segment: { index: number; startInMicroseconds: number; endInMicroseconds?: number }, count: number): string {
  return `segment ${segment.index + 1} of ${count} (${clockTime(segment.startInMicroseconds)}–${segment.endInMicroseconds === undefined ? "end" : clockTime(segment.endInMicroseconds)})`;
}

/**
 * Records a plan claim (see the module comment). Checked first by claim-checks.ts
 * checkSegmentPlan. A claim already applied changes nothing; a new claim for a run already
 * planned with the same plan starts a new generation: what the run has not done is owed again.
 */
export function applySegmentPlan(record: EvidenceRecord, message: SegmentPlanMessage, context: MergeContext): EvidenceRecord {
  const key = segmentPlanMessageId(message);
  const tag = segmentRunTag(message.planId, message.reprocess?.id);
  if (record.transcodeRuns?.some((run) => run.planKeys.includes(key))) return record;
  const next = structuredClone(record);
  const round = message.retry?.round ?? 0;
  const runs = (next.transcodeRuns ??= []);
  const run = runs.find((candidate) => candidate.tag === tag);
  const base = { key, at: message.finishedAt, recordedAt: context.nowIso, actor: message.actor, stage: "transcode" as const };
  const who = message.reprocess === undefined ? "" : ` (reprocess ${message.reprocess.id})`;
  if (run === undefined) {
    const other = runs.find((candidate) => candidate.reprocess?.id === message.reprocess?.id);
    if (other !== undefined) {
      // Another plan for a run already planned (settings changed between rounds): the first stands, its segments are under way.
      other.planKeys.push(key);
      appendLogEntry(next, { ...base, action: "plan-ignored", detail: `plan ${message.planId.slice(0, 12)}${who} ignored: the run follows plan ${other.planId.slice(0, 12)}` });
      return settle(record, next, context.nowIso);
    }
    const created: TranscodeRun = {
      tag,
      planId: message.planId,
      plan: structuredClone(message.plan),
      streams: structuredClone(message.streams),
      planKeys: [key],
      round,
      generation: 1,
      segments: message.plan.segments.map((segment) => ({ index: segment.index, status: "pending", attempts: 0 })),
      orders: { key: ordersKey(message.evidenceId, tag, 1), round },
    };
    if (message.reprocess !== undefined) created.reprocess = { ...message.reprocess };
    if (message.retry !== undefined) created.retry = { ...message.retry };
    runs.push(created);
    const { plan } = message;
    appendLogEntry(next, {
      ...base,
      action: "segments-planned",
      detail: `${plan.segments.length} segment${plan.segments.length === 1 ? "" : "s"} of ${plan.targetSeconds} s${plan.durationInSeconds === undefined ? "" : ` over ${plan.durationInSeconds} s`}, plan ${message.planId.slice(0, 12)}${who}`,
    });
  } else {
    const open = run.segments.filter((segment) => segment.status === "pending").length;
    // Every segment done and the proxy already made from them (or a segment failed for good): nothing to send again, nothing to record.
    if (open === 0 && (!run.segments.every((segment) => segment.status === "succeeded") || proxyMadeBy(next, run))) return record;
    run.planKeys.push(key);
    run.generation += 1;
    if (round > run.round) {
      run.round = round;
      if (message.retry !== undefined) run.retry = { ...message.retry };
    }
    if (open > 0) run.orders = { key: ordersKey(message.evidenceId, tag, run.generation), round: run.round };
    decideJoin(next, run);
    appendLogEntry(next, {
      ...base,
      action: "segments-replanned",
      detail: `the same plan again${who} (round ${round}, generation ${run.generation}): ${open === 0 ? "every segment done" : `${open} segment${open === 1 ? "" : "s"} requested again`}`,
    });
  }
  next.media = pickMedia(next.media, message.media);
  return settle(record, next, context.nowIso);
}

/**
 * Records a segment's result (checked first by claim-checks.ts checkSegmentResult: its run
 * exists). A final failure also fails the transcode stage, naming the segment.
 */
export function applySegmentResult(record: EvidenceRecord, reported: SegmentResultMessage, context: MergeContext): EvidenceRecord {
  const policy = context.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const result = withRetryBudget(reported, policy);
  const key = segmentResultMessageId(reported);
  const next = structuredClone(record);
  const run = next.transcodeRuns?.find((candidate) => candidate.tag === segmentRunTag(result.planId, result.reprocess?.id));
  const segment = run?.segments[result.segment.index];
  if (run === undefined || segment === undefined) throw new CustodyError("Internal", `${result.evidenceId}: a segment result for a plan the record does not hold`, { retryable: false });
  segment.attempts = Math.max(segment.attempts, result.attempt);
  if (result.outcome === "failed") {
    const error = result.error ?? { code: "Unknown", message: "the segment failed without an error description", retryable: !result.final };
    const candidate = { ...error, at: result.finishedAt, attempt: result.attempt };
    if (
      segment.lastError === undefined ||
      (compareTime(candidate.at, segment.lastError.at) || candidate.attempt - segment.lastError.attempt || compareText(candidate.message, segment.lastError.message)) > 0
    ) {
      segment.lastError = candidate;
    }
    if (!result.final) joinRetry(segment, result, nextSegmentRetryAt(result, policy));
  }
  let failedForGood = false;
  if (result.outcome === "succeeded" || result.final) {
    const status = result.outcome === "succeeded" ? "succeeded" : "failed";
    if (resultBeats(SEGMENT_PRECEDENCE, { status, finishedAt: result.finishedAt, key }, segment)) {
      segment.status = status;
      segment.resultKey = key;
      segment.finishedAt = result.finishedAt;
      if (result.outcome === "succeeded") {
        segment.files = structuredClone(result.files ?? []);
        setOptional(segment, "frames", result.frames);
        setOptional(segment, "audioPreRollInSeconds", result.audioPreRollInSeconds);
        setOptional(segment, "lengthInSeconds", result.lengthInSeconds);
        if (result.provenance !== undefined) segment.tools = { ...result.provenance.tools };
        delete segment.retry;
      } else {
        failedForGood = true;
      }
    }
  }
  if (decideJoin(next, run)) {
    const frames = run.segments.reduce((sum, s) => sum + (s.frames ?? 0), 0);
    const bytes = run.segments.reduce((sum, s) => sum + (s.files ?? []).reduce((n, f) => n + f.size, 0), 0);
    appendLogEntry(next, {
      key: `${result.evidenceId}:segments-encoded:${run.tag}`,
      at: latestFinish(run),
      recordedAt: context.nowIso,
      actor: context.actor,
      action: "segments-encoded",
      stage: "transcode",
      detail: `all ${run.segments.length} segments encoded${frames > 0 ? ` (${frames} frames` : " ("}${frames > 0 ? ", " : ""}${bytes} bytes); join requested`,
    });
  }
  let out = settle(record, next, context.nowIso);
  if (failedForGood) out = applyStageResult(out, stageFailureOf(result, run), context, key);
  return out;
}

/** The segment requests a run owes for its current round: one per segment not yet done. */
export function segmentOrders(record: EvidenceRecord, run: TranscodeRun): Array<OutgoingMessage & { body: SegmentRequestMessage }> {
  const original = requireOriginal(record);
  return run.segments.filter((segment) => segment.status === "pending").map((segment) => segmentOrder(record.evidenceId, original, run, segment.index, run.generation, 0));
}

/** The request that retries a segment after its transient failure `failure` (round + 1, when the backoff says). */
export function segmentRetryOrder(record: EvidenceRecord, failure: SegmentResultMessage, policy: RetryPolicy): OutgoingMessage & { body: SegmentRequestMessage } {
  const run = record.transcodeRuns?.find((candidate) => candidate.tag === segmentRunTag(failure.planId, failure.reprocess?.id));
  if (run === undefined) throw new CustodyError("Internal", `${failure.evidenceId}: no run for the failed segment's plan`, { retryable: false });
  const round = (failure.retry?.round ?? 0) + 1;
  const order = segmentOrder(record.evidenceId, requireOriginal(record), run, failure.segment.index, run.generation, round);
  order.body.retry = { round, firstFailedAt: failure.retry?.firstFailedAt ?? failure.finishedAt };
  order.scheduledEnqueueTime = new Date(nextSegmentRetryAt(failure, policy));
  return order;
}

/** The join request a run owes (decided by decideJoin): every segment, in order, as its winning result reported it. */
export function joinOrder(record: EvidenceRecord, run: TranscodeRun): OutgoingMessage & { body: JoinRequestMessage } {
  if (run.join === undefined) throw new CustodyError("Internal", `${record.evidenceId}: run ${run.tag} owes no join`, { retryable: false });
  const segmentTools: Array<NonNullable<SegmentState["tools"]>> = [];
  for (const segment of run.segments) {
    const tools = segment.tools;
    if (tools !== undefined && !segmentTools.some((t) => t.ffmpeg === tools.ffmpeg && t.ffprobe === tools.ffprobe) && segmentTools.length < 16) segmentTools.push({ ...tools });
  }
  const body: JoinRequestMessage = {
    schemaVersion: 1,
    kind: "join-request",
    evidenceId: record.evidenceId,
    original: { ...requireOriginal(record) },
    planId: run.planId,
    plan: planShape(run.plan),
    streams: structuredClone(run.streams),
    segments: run.segments.map((segment) => {
      const range = run.plan.segments[segment.index];
      const out: JoinRequestMessage["segments"][number] = { index: segment.index, startInMicroseconds: range.startInMicroseconds, files: structuredClone(segment.files ?? []) };
      const tools = segment.tools === undefined ? -1 : segmentTools.findIndex((t) => t.ffmpeg === segment.tools?.ffmpeg && t.ffprobe === segment.tools.ffprobe);
      if (tools >= 0) out.toolsIndex = tools;
      setOptional(out, "endInMicroseconds", range.endInMicroseconds);
      setOptional(out, "frames", segment.frames);
      setOptional(out, "audioPreRollInSeconds", segment.audioPreRollInSeconds);
      setOptional(out, "lengthInSeconds", segment.lengthInSeconds);
      return out;
    }),
  };
  if (segmentTools.length > 0) body.segmentTools = segmentTools;
  if (run.reprocess !== undefined) body.reprocess = { ...run.reprocess };
  if (run.round > 0 && run.retry !== undefined) body.retry = { ...run.retry };
  return { messageId: run.join.messageId, body, contentType: "application/json", subject: "join-request", correlationId: record.evidenceId, applicationProperties: { evidenceId: record.evidenceId } };
}

/** Runs whose segment requests for their round are decided but not confirmed sent. */
export function runsOwingOrders(record: EvidenceRecord): TranscodeRun[] {
  return (record.transcodeRuns ?? []).filter((run) => run.orders !== undefined && run.orders.publishedAt === undefined);
}

/** Runs whose join request is decided but not confirmed sent. */
export function runsOwingJoin(record: EvidenceRecord): TranscodeRun[] {
  return (record.transcodeRuns ?? []).filter((run) => run.join !== undefined && run.join.publishedAt === undefined);
}

/** When the retry after a segment's transient failure is due (jitter keyed by recording, run, segment and round). */
export function nextSegmentRetryAt(failure: Pick<SegmentResultMessage, "evidenceId" | "planId" | "segment" | "finishedAt" | "retry" | "reprocess">, policy: RetryPolicy): string {
  return retryDueAt(failure, policy, (round) => `${failure.evidenceId}:${segmentRunTag(failure.planId, failure.reprocess?.id)}:${failure.segment.index}:${round}`);
}

/** Whether a transient segment failure is past the retry budget (then it is final, and nothing is scheduled). */

// ---------------------------------------------------------------------------------------------

function ordersKey(evidenceId: string, tag: string, generation: number): string {
  return `${evidenceId}:segment-orders:${tag}:g${generation}`;
}

/**
 * Decides the join once every segment succeeded, for the run's generation (a new generation —
 * after a failed or lost join — owes a new one), unless the transcode stage already succeeded
 * from this run. True when it decided one now.
 */
function decideJoin(record: EvidenceRecord, run: TranscodeRun): boolean {
  if (!run.segments.every((segment) => segment.status === "succeeded")) return false;
  if (run.join !== undefined && run.join.generation >= run.generation) return false;
  if (proxyMadeBy(record, run)) return false;
  run.join = { messageId: joinRequestMessageId(record.evidenceId, run.planId, run.reprocess?.id, run.generation), round: run.round, generation: run.generation };
  return true;
}

/** Whether the transcode stage succeeded from this run (its join's result: the pipeline's, or the same reprocess request's). */
function proxyMadeBy(record: EvidenceRecord, run: TranscodeRun): boolean {
  const stage = record.stages.transcode;
  return stage?.status === "succeeded" && stage.resultKey !== undefined && reprocessIdOf(stage.resultKey) === run.reprocess?.id;
}

const SEGMENT_PRECEDENCE: Record<SegmentState["status"], number> = { pending: 0, failed: 1, succeeded: 2 };

/** The transcode stage's failure a segment's final failure makes: code and message name the segment and its range. */
function stageFailureOf(result: SegmentResultMessage, run: TranscodeRun): StageResultMessage {
  const error = result.error ?? { code: "Unknown", message: "no error description", retryable: false };
  const failure: StageResultMessage = {
    schemaVersion: 1,
    kind: "stage-result",
    evidenceId: result.evidenceId,
    stage: "transcode",
    attempt: result.attempt,
    outcome: "failed",
    final: true,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    actor: result.actor,
    error: { code: error.code, message: `${describeSegment(result.segment, run.segments.length)} failed for good: ${error.message}`.slice(0, 4000), retryable: false },
  };
  if (result.reprocess !== undefined) failure.reprocess = { ...result.reprocess };
  return failure;
}

function segmentOrder(
  evidenceId: string,
  original: NonNullable<EvidenceRecord["original"]>,
  run: TranscodeRun,
  index: number,
  generation: number,
  segmentRound: number,
): OutgoingMessage & { body: SegmentRequestMessage } {
  const range = run.plan.segments[index];
  const body: SegmentRequestMessage = {
    schemaVersion: 1,
    kind: "segment-request",
    evidenceId,
    original: { ...original },
    planId: run.planId,
    plan: planShape(run.plan),
    streams: structuredClone(run.streams),
    segmentCount: run.segments.length,
    segment: { ...range },
  };
  if (run.reprocess !== undefined) body.reprocess = { ...run.reprocess };
  return {
    messageId: segmentRequestMessageId(evidenceId, run.planId, run.reprocess?.id, index, generation, segmentRound),
    body,
    contentType: "application/json",
    subject: "segment-request",
    correlationId: evidenceId,
    applicationProperties: { evidenceId, segment: index },
  };
}

function planShape(plan: SegmentPlanBody): SegmentPlanShape {
  const { segments: _segments, ...shape } = plan;
  return structuredClone(shape);
}

function requireOriginal(record: EvidenceRecord): NonNullable<EvidenceRecord["original"]> {
  // The plan comes from a media run that read the original the record names: by then evidence-received is applied, or the order waits.
  if (record.original === undefined) throw new CustodyError("Transient", `${record.evidenceId}: the record does not name its original yet; the orders are sent when it does`);
  return record.original;
}

function latestFinish(run: TranscodeRun): string {
  return run.segments.reduce((max, segment) => (segment.finishedAt !== undefined && compareTime(segment.finishedAt, max) > 0 ? segment.finishedAt : max), "");
}

function setOptional<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) delete target[key];
  else target[key] = value;
}
