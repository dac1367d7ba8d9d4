/**
 * Deterministic Service Bus message ids. The same input always yields the same id, so the
 * entities' duplicate detection drops re-sends after a crash or a redelivery, while the
 * handlers' idempotency covers whatever falls outside the detection window.
 */
import { createHash } from "node:crypto";
import type { PipelineStage, StageResultMessage } from "./messages";

/** Service Bus refuses longer message ids. */
export const MAX_MESSAGE_ID_LENGTH = 128;

export function evidenceReceivedMessageId(evidenceId: string): string {
  return `${evidenceId}:received`;
}

/**
 * Each attempt's report is distinct (attempt number and outcome are part of it). A final
 * failure is marked as such: a redriven message starts counting attempts at 1 again, and its
 * final failure must not share an id with the first run's non-final attempt of that number.
 */
export function stageResultMessageId(result: Pick<StageResultMessage, "evidenceId" | "stage" | "attempt" | "outcome" | "final" | "reprocess" | "retry">): string {
  const suffix = result.outcome === "failed" && result.final ? ":final" : "";
  // A reprocess run counts its attempts from 1 again: without the request id its result would
  // be taken for the first run's (dropped by duplicate detection and by the custody log key).
  const run = result.reprocess === undefined ? "" : `:reprocess-${result.reprocess.id}`;
  // Likewise each retry round: a redelivery within one round and the next round may report the same attempt number.
  const round = result.retry === undefined ? "" : `:retry-${result.retry.round}`;
  return `${result.evidenceId}:${result.stage}${run}${round}:${result.attempt}:${result.outcome}${suffix}`;
}

/** The evidence-received message the index sends to one stage's subscription for retry round `round` (see EvidenceReceivedMessage.retry). */
export function stageRetryMessageId(evidenceId: string, stage: PipelineStage, round: number, reprocessId?: string): string {
  return `${evidenceId}:received${reprocessId === undefined ? "" : `:reprocess-${reprocessId}`}:retry-${round}:${stage}`;
}

/** The reprocess request a stage-result message id belongs to (see stageResultMessageId); undefined for a pipeline run. */
export function reprocessIdOf(stageResultId: string): string | undefined {
  return /:reprocess-([A-Za-z0-9-]+):/.exec(stageResultId)?.[1];
}

/**
 * The evidence-updated event a `custody reprocess` run's result owes downstream (one per
 * request and stage: a redelivered result is dropped by the topic's duplicate detection).
 */
export function evidenceUpdatedMessageId(evidenceId: string, requestId: string, stage: PipelineStage): string {
  return `${evidenceId}:updated:reprocess-${requestId}:${stage}`;
}

/** The evidence-received message a `custody reprocess` run sends to one stage's subscription. */
export function reprocessMessageId(evidenceId: string, requestId: string, stage: PipelineStage): string {
  return `${evidenceId}:received:reprocess-${requestId}:${stage}`;
}

/**
 * The segment-parallel transcode's messages (contracts/messages.ts). `run` is the transcode
 * run they belong to — `pipeline`, or `reprocess-<id>` — and `plan` the first 12 hex digits of
 * the plan id, so a re-planned run (other settings) never shares ids with the first plan.
 */
export function segmentRunTag(planId: string, reprocessId: string | undefined): string {
  return `${reprocessId === undefined ? "pipeline" : `rp-${reprocessId}`}:${planId.slice(0, 12)}`;
}

/** Ids past Service Bus's limit (a long reprocess id) keep their start and end around a digest of the whole. */
function bounded(id: string): string {
  if (id.length <= MAX_MESSAGE_ID_LENGTH) return id;
  const digest = createHash("sha256").update(id, "utf8").digest("hex").slice(0, 24);
  return `${id.slice(0, 48)}~${digest}~${id.slice(-(MAX_MESSAGE_ID_LENGTH - 50 - digest.length))}`;
}

/** The plan claim answering one evidence-received message (its `trigger`), per delivery attempt. */
export function segmentPlanMessageId(message: { evidenceId: string; planId: string; attempt: number; reprocess?: { id: string }; retry?: { round: number }; trigger?: string }): string {
  const trigger = message.trigger === undefined ? "" : `:t${createHash("sha256").update(message.trigger, "utf8").digest("hex").slice(0, 10)}`;
  return bounded(`${message.evidenceId}:plan:${segmentRunTag(message.planId, message.reprocess?.id)}:r${message.retry?.round ?? 0}${trigger}:${message.attempt}`);
}

/** The index's order for one segment: per generation of the run's orders (each new plan claim re-sends what is owed) and per segment retry round. */
export function segmentRequestMessageId(evidenceId: string, planId: string, reprocessId: string | undefined, index: number, generation: number, segmentRound: number): string {
  return bounded(`${evidenceId}:segment:${segmentRunTag(planId, reprocessId)}:${index}:g${generation}:s${segmentRound}`);
}

/** One segment run's report (each attempt and round its own, a final failure marked as such: see stageResultMessageId). */
export function segmentResultMessageId(result: {
  evidenceId: string;
  planId: string;
  segment: { index: number };
  attempt: number;
  outcome: string;
  final: boolean;
  reprocess?: { id: string };
  retry?: { round: number };
}): string {
  const suffix = result.outcome === "failed" && result.final ? ":final" : "";
  return bounded(`${result.evidenceId}:segres:${segmentRunTag(result.planId, result.reprocess?.id)}:${result.segment.index}:s${result.retry?.round ?? 0}:${result.attempt}:${result.outcome}${suffix}`);
}

/** The index's order to sign one thumbnail result's images (contracts/messages.ts credentials-request), per retry round. */
export function credentialsRequestMessageId(evidenceId: string, requestId: string, round: number): string {
  return `${evidenceId}:c2pa:${requestId.slice(0, 16)}:r${round}`;
}

/** One signing run's report (each attempt and round its own, a final failure marked as such: see stageResultMessageId). */
export function credentialsResultMessageId(result: { evidenceId: string; requestId: string; attempt: number; outcome: string; final: boolean; retry?: { round: number } }): string {
  const suffix = result.outcome === "failed" && result.final ? ":final" : "";
  return `${result.evidenceId}:c2pares:${result.requestId.slice(0, 16)}:r${result.retry?.round ?? 0}:${result.attempt}:${result.outcome}${suffix}`;
}

/** The index's order to join a plan's segments, per generation of the run's orders. */
export function joinRequestMessageId(evidenceId: string, planId: string, reprocessId: string | undefined, generation: number): string {
  return bounded(`${evidenceId}:join:${segmentRunTag(planId, reprocessId)}:g${generation}`);
}

export function evidenceReadyMessageId(evidenceId: string): string {
  return `${evidenceId}:ready`;
}

export function evidenceFailedMessageId(evidenceId: string): string {
  return `${evidenceId}:failed`;
}

/** A recording is disposed of once: its evidence-disposed event has one id. */
export function evidenceDisposedMessageId(evidenceId: string): string {
  return `${evidenceId}:disposed`;
}

/** One fixity check of a recording: its time is part of it, so each check is its own custody log entry. */
export function fixityResultMessageId(result: { evidenceId: string; checkedAt: string }): string {
  return `${result.evidenceId}:fixity:${result.checkedAt}`;
}

/**
 * An operator operation that sends copies of messages (`custody dlq redrive`, `custody reconcile`
 * and the reconcile timer): its kind and its id (a UUID, the audit record's id).
 */
export interface OperationRef {
  kind: "redrive" | "reconcile";
  id: string;
}

/**
 * Application property naming the operation a copy belongs to (`redrive-<uuid>`,
 * `reconcile-<uuid>`). Ingest carries it into the evidence-received message it sends, whose id
 * would otherwise repeat the first announcement's and be dropped inside the duplicate window.
 */
export const OPERATION_PROPERTY = "custodyOperation";

const OPERATION_LABEL = /^(redrive|reconcile)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function operationLabel(operation: OperationRef): string {
  return `${operation.kind}-${operation.id}`;
}

/** The operation label a message carries, when it is well-formed (anything else is ignored). */
export function operationLabelOf(properties: Record<string, unknown> | undefined): string | undefined {
  const value = properties?.[OPERATION_PROPERTY];
  return typeof value === "string" && OPERATION_LABEL.test(value) ? value : undefined;
}

/**
 * The id of a copy an operation sends: `<base>:<kind>-<operation id>:<target>[:<distinct>]`.
 *
 * Duplicate detection drops any message whose id its entity saw within the window — silently, the
 * send still succeeds — so a copy's id must be one no earlier send can have used: the operation id
 * (new for every run) makes it distinct from every other run's; the target (the subscription or
 * queue it is meant for) from the same run's copies of the same message for other subscriptions
 * (they all go to one topic); `distinct` (the dead-letter's sequence number) from another
 * dead-letter of the same entity that carries the same id. Within one operation it is
 * deterministic, so a re-send of the same copy is still dropped. A base too long to fit is
 * shortened and completed with its digest.
 */
export function operationCopyMessageId(base: string, operation: OperationRef, target: string, distinct?: string): string {
  const suffix = `:${operationLabel(operation)}:${target}${distinct === undefined ? "" : `:${distinct}`}`;
  if (base.length + suffix.length <= MAX_MESSAGE_ID_LENGTH) return `${base}${suffix}`;
  const digest = createHash("sha256").update(base, "utf8").digest("hex").slice(0, 16);
  const keep = Math.max(0, MAX_MESSAGE_ID_LENGTH - suffix.length - digest.length - 1);
  return `${base.slice(0, keep)}~${digest}${suffix}`.slice(0, MAX_MESSAGE_ID_LENGTH);
}

/** The id an earlier operation's copy was derived from (for a copy of a copy). */
export function operationCopyBase(messageId: string): string {
  return messageId.replace(/:(?:redrive|reconcile)-[0-9a-f-]{36}:.*$/, "").replace(/:redrive:\d+$/, "");
}

/** The evidence-received message ingest sends when an operation (a reconcile) re-announced the recording. */
export function reannouncedEvidenceReceivedMessageId(evidenceId: string, operation: string): string {
  return `${evidenceReceivedMessageId(evidenceId)}:${operation}`;
}

export type { PipelineStage };

/** A retention command's message id and custody log key: the recording and the sender's command id, so a command is applied once however often it is sent. */
export function retentionCommandMessageId(command: { evidenceId: string; commandId: string }): string {
  return `${command.evidenceId}:retention:${command.commandId}`;
}
