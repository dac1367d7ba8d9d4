/**
 * The two Function apps built from this one package. In Azure each runs as its own managed
 * identity with only the rights its functions need (bicep/): the code that parses hostile
 * video cannot send a hash claim or touch the index, whatever a crafted file makes it do.
 *
 *   core   ingest, hash, the index (index-received, index-results, index-media-results) and the
 *          timers (fixity-sample, reconcile): reads originals, writes the index, publishes events.
 *   media  transcode, thumbnail (and any later stage that runs ffmpeg on recordings): reads
 *          originals, writes derived renditions, sends its results to `media-results` only.
 *
 * The app setting CUSTODY_APP_ROLE picks the role; unset, a process runs both (the local dev
 * host, `custody start`). Which role each function belongs to is data in functions/definitions.ts.
 */
import { CustodyError } from "../shared/errors";
import type { Environment } from "../shared/settings";

export const APP_ROLE_SETTING = "CUSTODY_APP_ROLE";

export const APP_ROLES = ["core", "media"] as const;
export type AppRole = (typeof APP_ROLES)[number];

/** What each role's services need besides Service Bus and Blob Storage. */
const ROLE_NEEDS: Record<AppRole, { evidenceIndex: boolean }> = {
  core: { evidenceIndex: true },
  // No Cosmos DB setting, client or role: the media app never reads or writes the index.
  media: { evidenceIndex: false },
};

/** The roles this process runs: CUSTODY_APP_ROLE (`core` or `media`), or both when it is unset. */
export function appRoles(env: Environment = process.env): AppRole[] {
  const raw = env[APP_ROLE_SETTING]?.trim();
  if (raw === undefined || raw === "") return [...APP_ROLES];
  return [parseAppRole(raw, `Setting ${APP_ROLE_SETTING}`)];
}

/** `core` or `media`; anything else is an InvalidConfiguration naming `source`. */
export function parseAppRole(value: string, source: string): AppRole {
  if ((APP_ROLES as readonly string[]).includes(value)) return value as AppRole;
  throw new CustodyError("InvalidConfiguration", `${source} must be one of ${APP_ROLES.join(", ")}, not "${value}".`);
}

/** Whether a process running `roles` needs the evidence index (Cosmos DB) settings and client. */
export function rolesNeedEvidenceIndex(roles: readonly AppRole[]): boolean {
  return roles.some((role) => ROLE_NEEDS[role].evidenceIndex);
}
