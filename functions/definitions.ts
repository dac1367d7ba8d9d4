/**
 * Every function of the app, as data: name, triggering entity, handler. The Functions
 * registrations (functions/index.ts) and the dev host (local/dev-host) both read this list,
 * so the two can never disagree about what runs where.
 */
import { fixitySampleFunction } from "./fixity-sample";
import { hashFunction } from "./hash";
import { indexReceivedFunction, indexResultsFunction } from "./index-evidence";
import { ingestFunction } from "./ingest";
import { reconcileFunction } from "./reconcile";
import type { FunctionDefinition, TimerFunctionDefinition } from "./invocation";
import { thumbnailFunction } from "./thumbnail";
import { transcodeFunction } from "./transcode";

export const FUNCTION_DEFINITIONS: readonly FunctionDefinition[] = [ingestFunction, hashFunction, transcodeFunction, thumbnailFunction, indexReceivedFunction, indexResultsFunction];

/** Timer-triggered functions (app.timer in Azure; the dev host runs them at a local interval when one is set). */
export const TIMER_DEFINITIONS: readonly TimerFunctionDefinition[] = [fixitySampleFunction, reconcileFunction];
