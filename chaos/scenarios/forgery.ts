/**
 * Forged messages, sent with the real SDK by someone who can send on each entity: a hash result
 * with another fingerprint (dated 2030, and dated now), a fixity result with made-up expected
 * values, a BlobCreated event for a version that does not exist and for a blob that does not
 * exist, an evidence-received message with another original and officer for a finished
 * recording, and an evidence-ready event with another fingerprint. The index must refuse the
 * claims (stage results dead-lettered as InvalidMessage; a contradicting digest kept as an
 * integrity finding, never taking the fingerprint's place), and no record or published event
 * may change.
 */
import * as path from "node:path";
import { createHash } from "node:crypto";
import type { ServiceBusReceivedMessage } from "@azure/service-bus";
import { blobCreatedEvent } from "../../shared/contracts/blob-created-cloud-event";
import { EVENT_PROPERTIES } from "../../shared/contracts/evidence-events";
import { fixityResultMessageId, stageResultMessageId } from "../../shared/contracts/message-ids";
import type { FixityResultMessage, StageResultMessage } from "../../shared/contracts/messages";
import { ServiceBusPublisher } from "../../shared/adapters/service-bus-publisher";
import { buildFinalEvent } from "../../shared/evidence/final-event";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { ENTITIES } from "../../shared/topology";
import { readAll, startChaosStack, until, waitForFinal, type ChaosStack } from "../harness";
import { measure, type Check, type ScenarioOutcome } from "../outcome";
import type { Scenario } from "../scenario";

const EVENTS_QUIET_IN_MS = 3000;

/** A digest no upload has. */
function forgedDigest(label: string): string {
  return createHash("sha256").update(`forged:${label}`).digest("hex");
}

/** What a forgery must not change: everything the evidence officer and downstream rely on. */
function projection(record: EvidenceRecord | undefined): unknown {
  if (!record) return null;
  const stages = Object.fromEntries(
    Object.entries(record.stages).map(([stage, state]) => [stage, { status: state?.status, resultKey: state?.resultKey, renditions: state?.renditions?.map((r) => r.sha256) }]),
  );
  return {
    status: record.status,
    original: record.original,
    capture: record.capture,
    hash: record.hash,
    integrityFindings: record.integrityFindings,
    fixity: record.fixity,
    stages,
    finalEvent: record.finalEvent,
  };
}

function changedFields(before: EvidenceRecord | undefined, after: EvidenceRecord | undefined): string[] {
  const a = projection(before) as Record<string, unknown> | null;
  const b = projection(after) as Record<string, unknown> | null;
  if (a === null || b === null) return a === b ? [] : ["(record)"];
  return Object.keys(a).filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

/** Dead-lettered messages of the stage-results queue, by message id. */
async function deadLetteredResults(chaos: ChaosStack): Promise<Map<string, ServiceBusReceivedMessage>> {
  const receiver = chaos.client.createReceiver(ENTITIES.stageResults.queueName, { subQueueType: "deadLetter" });
  try {
    const messages = await receiver.peekMessages(500);
    return new Map(messages.map((message) => [String(message.messageId), message]));
  } finally {
    await receiver.close();
  }
}

/** No message waiting or in flight on the pipeline's entities. */
function pipelineIdle(chaos: ChaosStack): boolean {
  const namespace = chaos.stack.serviceBus.namespace;
  const active = [ENTITIES.blobCreated.queueName, ENTITIES.stageResults.queueName].reduce((sum, name) => sum + (namespace.queue(name)?.counts().activeMessageCount ?? 0), 0);
  const subscriptions = (namespace.topic(ENTITIES.evidenceReceivedTopic)?.subscriptions() ?? []).reduce((sum, s) => sum + s.counts().activeMessageCount, 0);
  return active + subscriptions === 0;
}

export function forgeryScenario(): Scenario {
  const name = "forgery";
  return {
    name,
    summary:
      "6 recordings made ready, then forged messages on each entity: hash results (dated 2030 and now), a fixity result, BlobCreated events (a made-up version, a missing blob), evidence-received (another original and officer), evidence-ready (another fingerprint).",
    mustHold: "forged stage results refused (dead-lettered), a contradicting digest kept as a finding only, no record field and no published event changed.",
    async run(context): Promise<ScenarioOutcome> {
      const chaos = await startChaosStack({ workDir: path.join(context.workDir, name) });
      try {
        chaos.host.start();
        const uploads = await chaos.upload(context.clip, 6, name);
        await waitForFinal(chaos.index, uploads, { timeoutInMs: 180_000 });
        await chaos.events.quiet(EVENTS_QUIET_IN_MS);
        const [hashFuture, hashNow, fixity, received, blobReplay, readyEvent] = uploads.map((u) => u.evidenceId);
        const before = await readAll(chaos.index);
        const eventsBefore = chaos.events.all.length;
        const checks: Check[] = [];
        if (!uploads.every((u) => before.get(u.evidenceId)?.status === "ready")) {
          checks.push({ what: "6 recordings ready before the forgeries", held: false, detail: uploads.map((u) => before.get(u.evidenceId)?.status ?? "none").join("/") });
        }

        const now = new Date();
        const results = chaos.client.createSender(ENTITIES.stageResults.queueName);
        const forgedHash = (evidenceId: string, attempt: number, at: Date): StageResultMessage => {
          const record = before.get(evidenceId)!;
          const sha256 = forgedDigest(`${evidenceId}:${attempt}`);
          return {
            schemaVersion: 1,
            kind: "stage-result",
            evidenceId,
            stage: "hash",
            attempt,
            outcome: "succeeded",
            final: true,
            startedAt: at.toISOString(),
            finishedAt: at.toISOString(),
            actor: "hash/forged",
            inputSha256: sha256,
            hash: { sha256, size: record.hash?.size ?? 1, segmentSizeInBytes: 4 * 1024 * 1024, segmentSha256: [sha256], deviceSha256: sha256, matchesDevice: true },
          };
        };
        const futureClaim = forgedHash(hashFuture, 2, new Date("2030-01-01T00:00:00Z"));
        const nowClaim = forgedHash(hashNow, 3, now);
        const fixityClaim: FixityResultMessage = {
          schemaVersion: 1,
          kind: "fixity-result",
          evidenceId: fixity,
          status: "modified",
          checkedAt: now.toISOString(),
          actor: "fixity/forged",
          sha256Expected: forgedDigest("expected"),
          sha256Actual: forgedDigest("actual"),
          sizeExpected: 12345,
          sizeActual: 12345,
          differingSegments: [{ index: 0, offset: 0, length: 12345 }],
          differingSegmentCount: 1,
        };
        // Refused outright: a claim from the future, a fixity check whose expected values are not the record's.
        // The hash claim dated now is not refusable on its face: it must become a finding instead.
        const stageClaims = [
          { label: "forged hash result dated 2030", id: stageResultMessageId(futureClaim), body: futureClaim as unknown, refused: true },
          { label: "forged hash result dated now", id: stageResultMessageId(nowClaim), body: nowClaim as unknown, refused: false },
          { label: "forged fixity result", id: fixityResultMessageId(fixityClaim), body: fixityClaim as unknown, refused: true },
        ];
        for (const claim of stageClaims) {
          await results.sendMessages({
            messageId: claim.id,
            body: claim.body,
            contentType: "application/json",
            correlationId: (claim.body as { evidenceId: string }).evidenceId,
            subject: (claim.body as { kind: string }).kind,
          });
        }
        await results.close();

        // BlobCreated: a version of a real blob that was never written, and a blob that does not exist.
        const blobCreated = chaos.client.createSender(ENTITIES.blobCreated.queueName);
        const replayUpload = uploads[4];
        const madeUpVersion = blobCreatedEvent(chaos.originals, replayUpload.blobName, '"0x8DEADBEEF000000"', { contentLength: 1234 });
        const missingBlob = blobCreatedEvent(chaos.originals, `${name}/never-uploaded.mp4`, '"0x8DEADBEEF000001"', { contentLength: 1234 });
        for (const event of [madeUpVersion, missingBlob]) await blobCreated.sendMessages({ body: event, messageId: event.id, contentType: "application/cloudevents+json" });
        await blobCreated.close();

        // evidence-received for a finished recording, naming another original and officer.
        const receivedRecord = before.get(received)!;
        const receivedSender = chaos.client.createSender(ENTITIES.evidenceReceivedTopic);
        await receivedSender.sendMessages({
          messageId: `${received}:received:forged`,
          contentType: "application/json",
          correlationId: received,
          subject: "evidence-received",
          body: {
            schemaVersion: 1,
            kind: "evidence-received",
            evidenceId: received,
            original: { ...receivedRecord.original!, name: `${name}/someone-else.mp4`, size: 99, etag: '"0x8FORGED"', url: `${receivedRecord.original!.url}-forged` },
            capture: { officerId: "PC-FORGED", deviceId: "BWV-FORGED", recordedAt: "2026-12-01T07:00:00Z" },
            acceptance: { status: "accepted" },
            uploadedAt: now.toISOString(),
            sourceEventId: "forged",
          },
        });
        await receivedSender.close();

        // evidence-ready with another fingerprint, under a new id (the real id would be dropped by duplicate detection).
        const readyRecord = before.get(readyEvent)!;
        const forgedReady = buildFinalEvent({ ...readyRecord, hash: { ...readyRecord.hash!, sha256: forgedDigest("ready") } });
        const forgedReadyId = `${readyEvent}:ready:forged`;
        forgedReady.messageId = forgedReadyId;
        forgedReady.applicationProperties = { ...forgedReady.applicationProperties, [EVENT_PROPERTIES.id]: forgedReadyId };
        const publisher = new ServiceBusPublisher(chaos.client);
        await publisher.publish(ENTITIES.evidenceReadyTopic, forgedReady);
        await publisher.close();

        // Wait until the pipeline has dealt with every forgery, then for the events to go quiet.
        await until(() => pipelineIdle(chaos), 120_000, 200);
        await until(() => pipelineIdle(chaos), 10_000, 200);
        await chaos.events.quiet(EVENTS_QUIET_IN_MS);
        const after = await readAll(chaos.index);
        const deadLettered = await deadLetteredResults(chaos);

        for (const claim of stageClaims.filter((c) => c.refused)) {
          const dead = deadLettered.get(claim.id);
          checks.push({ what: `${claim.label} refused`, held: dead !== undefined, detail: "accepted (not dead-lettered)" });
        }
        const unchanged = (label: string, evidenceId: string, except: string[] = []): void => {
          const changed = changedFields(before.get(evidenceId), after.get(evidenceId)).filter((field) => !except.includes(field));
          checks.push({ what: `${label}: record unchanged`, held: changed.length === 0, detail: `changed ${changed.join(", ")}` });
        };
        unchanged("hash 2030", hashFuture);
        // A contradicting digest dated now may be kept as an integrity finding; nothing else changes.
        unchanged("hash now", hashNow, ["integrityFindings"]);
        const nowRecord = after.get(hashNow);
        checks.push({ what: "hash now: fingerprint kept", held: nowRecord?.hash?.sha256 === before.get(hashNow)?.hash?.sha256, detail: "fingerprint replaced by the forged one" });
        const finding = nowRecord?.integrityFindings.find((f) => f.actual === nowClaim.hash!.sha256 || f.expected === nowClaim.hash!.sha256);
        checks.push({ what: "hash now: integrity finding with both digests", held: finding !== undefined, detail: "no finding" });
        unchanged("fixity", fixity);
        unchanged("evidence-received", received);
        unchanged("BlobCreated replay", blobReplay);
        unchanged("evidence-ready", readyEvent);
        const strangers = [...after.keys()].filter((id) => !uploads.some((u) => u.evidenceId === id));
        checks.push({ what: "no record from forged BlobCreated", held: strangers.length === 0, detail: `${strangers.length} new records` });
        const newEvents = chaos.events.all.slice(eventsBefore).filter((event) => event.messageId !== forgedReadyId);
        checks.push({
          what: "published events unchanged",
          held: newEvents.length === 0,
          detail: `${newEvents.length} new events (${[...new Set(newEvents.map((e) => e.type.split(".")[2]))].join(", ")})`,
        });

        const forgedDelivered = chaos.events.all.some((event) => event.messageId === forgedReadyId);
        const figures = measure({
          scenario: name,
          uploads,
          records: after,
          events: chaos.events.all.filter((e) => e.messageId !== forgedReadyId),
          deadLettered: chaos.deadLettered(),
          since: { at: now.getTime(), label: "forgeries" },
        });
        checks.push({
          what: "events and records agree on every fingerprint",
          held: figures.eventFingerprintMismatches === 0,
          detail: `${figures.eventFingerprintMismatches} events whose fingerprint the record no longer has`,
        });
        return {
          ...figures,
          timeToLastFinalInMs: undefined,
          checks,
          notes: [forgedDelivered ? "forged evidence-ready reached subscribers (the emulator has no Send rights; RBAC refuses it in Azure)" : "forged evidence-ready not delivered"],
        };
      } finally {
        await chaos.stop();
      }
    },
  };
}
