/**
 * Every function of the package, as data: name, triggering entity, handler, and the app
 * (role, functions/app-roles.ts) that runs it. The Functions registrations
 * (functions/index.ts), the dev host (local/dev-host) and the deployment checks (test/deploy)
 * all read this list, so they can never disagree about what runs where — or with which
 * identity's rights.
 */
import type { AppRole } from "./app-roles";
import { contentCredentialsFunction } from "./content-credentials";
import { disposalFunction } from "./disposal";
import { fixitySampleFunction } from "./fixity-sample";
import { hashFunction } from "./hash";
import { indexMediaResultsFunction, indexReceivedFunction, indexResultsFunction } from "./index-evidence";
import { ingestFunction } from "./ingest";
import { reconcileFunction } from "./reconcile";
import { retentionCommandFunction, retentionReleaseFunction } from "./retention-command";
import type { FunctionDefinition, TimerFunctionDefinition } from "./invocation";
import { thumbnailFunction } from "./thumbnail";
import { transcodeFunction } from "./transcode";
import { transcodeJoinFunction } from "./transcode-join";
import { transcodeSegmentFunction } from "./transcode-segment";

export type AppFunctionDefinition = FunctionDefinition & { role: AppRole };
export type AppTimerDefinition = TimerFunctionDefinition & { role: AppRole };

export const FUNCTION_DEFINITIONS: readonly AppFunctionDefinition[] = [
  { ...ingestFunction, role: "core" },
  { ...hashFunction, role: "core" },
  { ...indexReceivedFunction, role: "core" },
  { ...indexResultsFunction, role: "core" },
  { ...indexMediaResultsFunction, role: "core" },
  // Retention commands: the index records categories and legal holds.
  { ...retentionCommandFunction, role: "core" },
  { ...retentionReleaseFunction, role: "core" },
  // Content Credentials on the images: signed with the evidence key, which only the core app holds.
  { ...contentCredentialsFunction, role: "core" },
  // The stages that parse untrusted media: their own app and identity (no index, no hash claims).
  { ...transcodeFunction, role: "media" },
  // The segment-parallel transcode's work orders (sent by the index): one run per segment, then the join.
  { ...transcodeSegmentFunction, role: "media" },
  { ...transcodeJoinFunction, role: "media" },
  { ...thumbnailFunction, role: "media" },
];

/** Timer-triggered functions (app.timer in Azure; the dev host runs them at a local interval when one is set). */
export const TIMER_DEFINITIONS: readonly AppTimerDefinition[] = [
  { ...fixitySampleFunction, role: "core" },
  { ...reconcileFunction, role: "core" },
  { ...disposalFunction, role: "core" },
];

/** The functions and timers a process running `roles` registers. */
export function definitionsForRoles(roles: readonly AppRole[]): { functions: AppFunctionDefinition[]; timers: AppTimerDefinition[] } {
  return {
    functions: FUNCTION_DEFINITIONS.filter((d) => roles.includes(d.role)),
    timers: TIMER_DEFINITIONS.filter((d) => roles.includes(d.role)),
  };
}
