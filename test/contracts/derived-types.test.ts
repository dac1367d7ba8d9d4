/**
 * The message and event types are derived from their JSON Schemas (FromSchema), so a type and
 * its schema cannot disagree — as long as the derivation stays precise. A schema keyword the
 * derivation cannot read would silently widen a type to `unknown` (or give it an index
 * signature), and every use would still compile: these checks fail the type check
 * (`npm run typecheck`, part of `npm test`) when that happens.
 */
import type { EvidenceFailedData, EvidenceReadyData, EvidenceUpdatedData } from "../../shared/contracts/evidence-events";
import type { EvidenceReceivedMessage, FixityResultMessage, PipelineStage, Rendition, ReportedMediaProbe, StageResultMessage } from "../../shared/contracts/messages";

/** `true` for a precise object type: not any, not unknown, no string index signature. */
type Precise<T> = 0 extends 1 & T ? "is any" : unknown extends T ? "is unknown" : string extends keyof T ? "has an index signature" : true;
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the type-equality idiom: each T exists only to compare A and B through two generic signatures
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

// Each entry only type-checks when its condition holds.
const checks: Record<string, true> = {
  evidenceReceived: true satisfies Precise<EvidenceReceivedMessage>,
  stageResult: true satisfies Precise<StageResultMessage>,
  fixityResult: true satisfies Precise<FixityResultMessage>,
  reportedMedia: true satisfies Precise<ReportedMediaProbe>,
  reportedStream: true satisfies Precise<ReportedMediaProbe["streams"][number]>,
  rendition: true satisfies Precise<Rendition>,
  readyData: true satisfies Precise<EvidenceReadyData>,
  readyOriginal: true satisfies Precise<EvidenceReadyData["original"]>,
  readyMedia: true satisfies Precise<NonNullable<EvidenceReadyData["media"]>>,
  failedData: true satisfies Precise<EvidenceFailedData>,
  failedFailure: true satisfies Precise<EvidenceFailedData["failure"]>,
  updatedData: true satisfies Precise<EvidenceUpdatedData>,
  updatedReplaced: true satisfies Precise<EvidenceUpdatedData["replaced"][number]>,
  // Spot checks that keywords carry through: enums, consts, required, `$ref` + `required` narrowing.
  stageIsPipelineStage: true satisfies Equal<StageResultMessage["stage"], PipelineStage>,
  schemaVersionIsOne: true satisfies Equal<EvidenceReceivedMessage["schemaVersion"], 1>,
  attemptRequired: true satisfies Equal<StageResultMessage["attempt"], number>,
  errorOptional: true satisfies Equal<undefined extends StageResultMessage["error"] ? true : false, true>,
  rotationQuarterTurns: true satisfies Equal<ReportedMediaProbe["streams"][number]["rotation"], 0 | 90 | 180 | 270 | undefined>,
  readyOriginalHasSha256: true satisfies Equal<EvidenceReadyData["original"]["sha256"], string>,
  failedOriginalMayLackSha256: true satisfies Equal<EvidenceFailedData["original"]["sha256"], string | undefined>,
  updatedOriginalHasSha256: true satisfies Equal<EvidenceUpdatedData["original"]["sha256"], string>,
};

test("the derived message and event types are precise (checked by the type check; listed here so the file runs)", () => {
  expect(Object.values(checks).every((check) => check)).toBe(true);
});
