/**
 * index — the only writer of the evidence index (Cosmos DB). Three triggers:
 *   index-received:      evidence-received (subscription `index`) creates/merges the record;
 *   index-results:       stage-results, the core app's claims: hash results, fixity checks
 *                        (`fixity-result`, from the fixity-sample timer or `custody verify --record`)
 *                        and the images' Content Credentials (`credentials-result`);
 *   index-media-results: media-results, the media app's claims: transcode and thumbnail results,
 *                        and the segment-parallel transcode's plans and segment results.
 * When every required stage is done it publishes evidence-ready (or evidence-failed) once.
 *
 * Each results queue carries the claims of one identity, and only that identity may send to it
 * (Azure RBAC, bicep/service-bus-access.json). A claim that arrives by another producer's route
 * is refused before it reaches the index: a hash result on media-results would be the code that
 * parses hostile media claiming a fingerprint.
 */
import type { InvocationContext } from "@azure/functions";
import type { PipelineStage } from "../shared/contracts/messages";
import { claimedKind, parseMessage } from "../shared/contracts/validate";
import { CustodyError } from "../shared/errors";
import { indexCredentialsResult, indexEvidenceReceived, indexFixityResult, indexSegmentPlan, indexSegmentResult, indexStageResult, type IndexStageDeps } from "../shared/stages/index-stage";
import type { StageContext } from "../shared/stages/stage-context";
import { ENTITIES, type QueueEntity } from "../shared/topology";
import { settleWithRetries, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices, retryDeps, signsImages } from "./services";

export const indexReceivedFunction: FunctionDefinition = {
  name: "index-received",
  entity: ENTITIES.indexSubscription,
  handler: indexReceivedHandler,
};

export const indexResultsFunction: FunctionDefinition = {
  name: "index-results",
  entity: ENTITIES.stageResults,
  handler: (message, invocation) => indexResults(indexResultsFunction, ENTITIES.stageResults, message, invocation),
};

export const indexMediaResultsFunction: FunctionDefinition = {
  name: "index-media-results",
  entity: ENTITIES.mediaResults,
  handler: (message, invocation) => indexResults(indexMediaResultsFunction, ENTITIES.mediaResults, message, invocation),
};

/** A claim as the route rule sees it. */
export type ResultClaim = { kind: "stage-result"; stage: PipelineStage } | { kind: "fixity-result" } | { kind: "segment-plan" } | { kind: "segment-result" } | { kind: "credentials-result" };

/**
 * The one queue each kind of claim may arrive by: its producer's. Exhaustive over the stages,
 * so a new stage does not compile until its route (and so its identity) is decided.
 */
const STAGE_ROUTES: Record<PipelineStage, string> = {
  hash: ENTITIES.stageResults.queueName,
  transcode: ENTITIES.mediaResults.queueName,
  thumbnail: ENTITIES.mediaResults.queueName,
};
const FIXITY_ROUTE = ENTITIES.stageResults.queueName;
/** Content Credentials are signed in the core app (it alone holds the signing key's sign right). */
const CREDENTIALS_ROUTE = ENTITIES.stageResults.queueName;
/** The segment-parallel transcode runs in the media app: its plans and segment results come by its route. */
const SEGMENT_ROUTE = ENTITIES.mediaResults.queueName;

/** The queue a claim must arrive by. */
export function expectedResultRoute(claim: ResultClaim): string {
  switch (claim.kind) {
    case "fixity-result":
      return FIXITY_ROUTE;
    case "credentials-result":
      return CREDENTIALS_ROUTE;
    case "segment-plan":
    case "segment-result":
      return SEGMENT_ROUTE;
    case "stage-result":
      return STAGE_ROUTES[claim.stage];
  }
}

/** Why a claim that arrived on `queueName` is refused, or undefined when that is its route. */
export function resultRouteRefusal(queueName: string, claim: ResultClaim): string | undefined {
  const expected = expectedResultRoute(claim);
  if (queueName === expected) return undefined;
  const what = claim.kind === "stage-result" ? `a ${claim.stage} stage-result` : `a ${claim.kind}`;
  return `wrong route: ${what} arrived on ${queueName}, but only ${expected} carries it (each results queue takes the claims of the one identity allowed to send to it); refused, the record is unchanged`;
}

export async function indexReceivedHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(indexReceivedFunction, invocation);
  return settleWithRetries(indexReceivedFunction, invocation, context, message, retryDeps, async () => {
    const received = parseMessage("evidence-received", message);
    await indexEvidenceReceived(received, await indexDeps(), context);
  });
}

/** The stage-results trigger (hash results and fixity checks). */
export function indexResultsHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  return indexResults(indexResultsFunction, ENTITIES.stageResults, message, invocation);
}

/** Both results triggers: the route rule, then the index stage. */
async function indexResults(definition: FunctionDefinition, route: QueueEntity, message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(definition, invocation);
  return settleWithRetries(definition, invocation, context, message, retryDeps, async () => {
    const kind = claimedKind(message);
    if (kind === "segment-plan" || kind === "segment-result") {
      const deps = await indexDeps();
      if (kind === "segment-plan") {
        const plan = parseMessage("segment-plan", message);
        refuseWrongRoute(route, { kind }, plan.evidenceId, context);
        await indexSegmentPlan(plan, deps, context);
      } else {
        const result = parseMessage("segment-result", message);
        refuseWrongRoute(route, { kind }, result.evidenceId, context);
        await indexSegmentResult(result, deps, context);
      }
      return;
    }
    if (kind === "credentials-result") {
      const result = parseMessage("credentials-result", message);
      refuseWrongRoute(route, { kind }, result.evidenceId, context);
      await indexCredentialsResult(result, await indexDeps(), context);
      return;
    }
    if (kind === "fixity-result") {
      const fixity = parseMessage("fixity-result", message);
      refuseWrongRoute(route, { kind: "fixity-result" }, fixity.evidenceId, context);
      const { index, ledger, settings } = await getServices();
      await indexFixityResult(fixity, { index, ledger, requiredStages: settings.requiredStages, retryPolicy: settings.retry }, context);
      return;
    }
    const result = parseMessage("stage-result", message);
    refuseWrongRoute(route, { kind: "stage-result", stage: result.stage }, result.evidenceId, context);
    await indexStageResult(result, await indexDeps(), context);
  });
}

/** The index stage's dependencies from the app's services (destructured here, so the deploy checks see what the index uses). */
async function indexDeps(): Promise<IndexStageDeps> {
  const { index, ledger, publisher, settings, signer, manifests, contentCredentials } = await getServices();
  return {
    index,
    ledger,
    publisher,
    requiredStages: settings.requiredStages,
    readyTopic: ENTITIES.evidenceReadyTopic,
    receivedTopic: ENTITIES.evidenceReceivedTopic,
    transcodeSegmentsQueue: ENTITIES.transcodeSegments.queueName,
    transcodeJoinQueue: ENTITIES.transcodeJoin.queueName,
    contentCredentialsQueue: ENTITIES.contentCredentials.queueName,
    // Records created now require Content Credentials on their images only where this app can sign them.
    contentCredentials: signsImages({ contentCredentials }),
    eventSource: settings.eventSource,
    retryPolicy: settings.retry,
    ...(signer === undefined ? {} : { signer, manifests }),
    ...(contentCredentials === undefined ? {} : { trustAnchorPems: contentCredentials.trustAnchorPems }),
  };
}

function refuseWrongRoute(route: QueueEntity, claim: ResultClaim, evidenceId: string, context: StageContext): void {
  const refusal = resultRouteRefusal(route.queueName, claim);
  if (refusal === undefined) return;
  // Its own line for an alert: only an identity with Send on this queue can have sent it (a
  // hash or fixity claim on media-results: the media app, i.e. possibly a crafted recording).
  context.log.error("claim refused: wrong route", {
    evidenceId,
    route: route.queueName,
    expectedRoute: expectedResultRoute(claim),
    claim: claim.kind === "stage-result" ? `${claim.stage} ${claim.kind}` : claim.kind,
  });
  throw new CustodyError("InvalidMessage", refusal, { retryable: false });
}
