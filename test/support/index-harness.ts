/**
 * What the index stage's tests share: the real Cosmos DB stand-in with the evidence container,
 * started once per file; the index function's context; a recording as ingest announces it (its
 * evidence id derived from its original, as the index checks).
 */
import { randomBytes } from "node:crypto";
import type { CosmosClient } from "@azure/cosmos";
import { CosmosEvidenceIndex, ensureEvidenceContainer } from "../../shared/adapters/cosmos-evidence-index";
import type { EvidenceReceivedMessage } from "../../shared/contracts/messages";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { silentLogger } from "../../shared/logging";
import type { StageContext } from "../../shared/stages/stage-context";
import { childTraceparent } from "../../shared/tracing";
import { createLocalCosmosClient, startLocalCosmos, type CosmosInstance } from "../../local/cosmos";

/** Starts the stand-in before the file's tests and stops it after; `index` is usable inside tests. */
export function useLocalEvidenceIndex(): { readonly index: CosmosEvidenceIndex } {
  let cosmos: CosmosInstance | undefined;
  let client: CosmosClient | undefined;
  let index: CosmosEvidenceIndex | undefined;
  beforeAll(async () => {
    cosmos = await startLocalCosmos();
    client = createLocalCosmosClient(cosmos.endpoint);
    index = new CosmosEvidenceIndex(await ensureEvidenceContainer(client));
  });
  afterAll(async () => {
    client?.dispose();
    await cosmos?.stop();
  });
  return {
    get index(): CosmosEvidenceIndex {
      if (index === undefined) throw new Error("the evidence index is started in beforeAll");
      return index;
    },
  };
}

export function indexContext(attempt = 1): StageContext {
  return { actor: "custody/index@test", attempt, maxAttempts: 10, traceparent: childTraceparent(), log: silentLogger };
}

/** A new recording's evidence-received message (a random blob name, so each test has its own record). */
export function receivedRecording(uploadedAt = "2026-11-26T09:30:00.000Z"): EvidenceReceivedMessage {
  const token = randomBytes(8).toString("hex");
  const original = {
    account: "devstoreaccount1",
    container: "originals",
    name: `A123/cam7/${token}.mp4`,
    etag: '"0x8DD"',
    url: `https://example/originals/${token}.mp4`,
    size: 2048,
    contentType: "video/mp4",
  };
  return {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: deriveEvidenceId(original),
    original,
    capture: { officerId: "A123", deviceId: "cam7", recordedAt: "2026-11-26T09:00:00+00:00" },
    acceptance: { status: "accepted" },
    uploadedAt,
    sourceEventId: `evt-${token}`,
  };
}
