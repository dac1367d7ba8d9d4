/**
 * content-credentials — a `credentials-request` (queue `content-credentials`, sent by the index
 * once the recording's SHA-256 and its thumbnail result are both recorded) → the images signed
 * with Content Credentials and the WebVTT track copied, in the order's folder under
 * `derived/<evidenceId>/thumbnail/`; the outcome is a `credentials-result` on stage-results.
 * Core app only: it alone holds the signing key (the media app, which parses hostile video,
 * never does).
 */
import type { InvocationContext } from "@azure/functions";
import { parseMessage } from "../shared/contracts/validate";
import { CustodyError } from "../shared/errors";
import type { ContentCredentials } from "../shared/media/content-credentials";
import { CONTENT_CREDENTIALS_CHAIN_SETTING } from "../shared/settings";
import { signAndReportCredentials, signThumbnailImages } from "../shared/stages/credentials-stage";
import { ENTITIES } from "../shared/topology";
import { settleInvalidMessages, stageContextFor, type FunctionDefinition, type HandlerOutcome } from "./invocation";
import { getServices } from "./services";

export const contentCredentialsFunction: FunctionDefinition = {
  name: "content-credentials",
  entity: ENTITIES.contentCredentials,
  handler: contentCredentialsHandler,
};

export async function contentCredentialsHandler(message: unknown, invocation: InvocationContext): Promise<HandlerOutcome> {
  const context = stageContextFor(contentCredentialsFunction, invocation);
  return settleInvalidMessages(context, async () => {
    const request = parseMessage("credentials-request", message);
    const { blobs, contentCredentials, publisher } = await getServices();
    await signAndReportCredentials(request, { publisher, resultsEntity: ENTITIES.stageResults.queueName }, context, () =>
      signThumbnailImages(request, { blobs, contentCredentials: signerOrRetry(contentCredentials) }, context),
    );
  });
}

/**
 * An order reached an app that cannot sign (the chain setting removed since the index sent it):
 * a deployment's problem, not the recording's — retried (reported not final) while an operator
 * restores the setting, like a role assignment not yet applied.
 */
function signerOrRetry(contentCredentials: ContentCredentials | undefined): ContentCredentials {
  if (contentCredentials !== undefined) return contentCredentials;
  throw new CustodyError("InvalidConfiguration", `This app cannot sign images: ${CONTENT_CREDENTIALS_CHAIN_SETTING} is not set (or no signing key is).`, { retryable: true });
}
