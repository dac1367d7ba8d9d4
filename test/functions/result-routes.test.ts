/**
 * The route rule of the index's results triggers: each results queue carries the claims of the
 * one identity allowed to send to it, so a claim on another producer's queue is refused.
 */
import { expectedResultRoute, resultRouteRefusal, type ResultClaim } from "../../functions/index-evidence";
import { PIPELINE_STAGES } from "../../shared/contracts/messages";
import { ENTITIES } from "../../shared/topology";

const CORE = ENTITIES.stageResults.queueName;
const MEDIA = ENTITIES.mediaResults.queueName;

test.each<[string, ResultClaim, string]>([
  ["a hash result", { kind: "stage-result", stage: "hash" }, CORE],
  ["a fixity result", { kind: "fixity-result" }, CORE],
  ["a Content Credentials result (signed only where the evidence key is)", { kind: "credentials-result" }, CORE],
  ["a transcode result", { kind: "stage-result", stage: "transcode" }, MEDIA],
  ["a thumbnail result", { kind: "stage-result", stage: "thumbnail" }, MEDIA],
])("%s is taken only from its producer's queue (%#)", (_what, claim, route) => {
  expect(expectedResultRoute(claim)).toBe(route);
  expect(resultRouteRefusal(route, claim)).toBeUndefined();
  const other = route === CORE ? MEDIA : CORE;
  const refusal = resultRouteRefusal(other, claim);
  // The reason names the queue it came by and the one that carries it.
  expect(refusal).toContain(`arrived on ${other}`);
  expect(refusal).toContain(`only ${route} carries it`);
});

test("a hash claim from the media route is refused: the code that parses hostile media cannot set a fingerprint", () => {
  expect(resultRouteRefusal(MEDIA, { kind: "stage-result", stage: "hash" })).toMatch(/^wrong route: a hash stage-result arrived on media-results/);
  expect(resultRouteRefusal(MEDIA, { kind: "fixity-result" })).toMatch(/^wrong route: a fixity-result arrived on media-results/);
  // Nor claim signed images: the media app cannot sign, and cannot pass off other files as signed.
  expect(resultRouteRefusal(MEDIA, { kind: "credentials-result" })).toMatch(/^wrong route: a credentials-result arrived on media-results/);
});

test("every pipeline stage has a route, and a queue that is no results route takes nothing", () => {
  for (const stage of PIPELINE_STAGES) {
    expect([CORE, MEDIA]).toContain(expectedResultRoute({ kind: "stage-result", stage }));
    expect(resultRouteRefusal(ENTITIES.blobCreated.queueName, { kind: "stage-result", stage })).toBeDefined();
  }
});
