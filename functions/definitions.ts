/**
 * Every function of the app, as data: name, triggering entity, handler. The Functions
 * registrations (functions/index.ts) and the dev host (local/dev-host) both read this list,
 * so the two can never disagree about what runs where.
 */
import { hashFunction } from "./hash";
import { indexReceivedFunction, indexResultsFunction } from "./index-evidence";
import { ingestFunction } from "./ingest";
import type { FunctionDefinition } from "./invocation";
import { thumbnailFunction } from "./thumbnail";
import { transcodeFunction } from "./transcode";

export const FUNCTION_DEFINITIONS: readonly FunctionDefinition[] = [ingestFunction, hashFunction, transcodeFunction, thumbnailFunction, indexReceivedFunction, indexResultsFunction];
