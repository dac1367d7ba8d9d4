/**
 * The index as the single writer of a segment-parallel transcode, against the real Cosmos DB
 * stand-in: it records a media run's plan and hands out one segment request per segment, merges
 * segment results (duplicated, reordered, failing), schedules a transient segment failure's retry,
 * fails the stage naming a segment that failed for good, and sends exactly one join request once
 * every segment succeeded — never a partial one. The ledger it writes rebuilds the same record.
 */
import type {
  EvidenceReceivedMessage,
  JoinRequestMessage,
  SegmentPlanBody,
  SegmentPlanMessage,
  SegmentRequestMessage,
  SegmentResultMessage,
  StageResultMessage,
} from "../../shared/contracts/messages";
import { isValidMessage } from "../../shared/contracts/validate";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { planIdOf } from "../../shared/evidence/segment-run";
import { rebuildRecord } from "../../shared/ledger/rebuild";
import type { CustodyLedger, LedgerEntry, LedgerHead, RecordedLedgerEntry } from "../../shared/ports/custody-ledger";
import { chainLines, lineDigest } from "../../shared/evidence/ledger-chain";
import { indexEvidenceReceived, indexSegmentPlan, indexSegmentResult, indexStageResult, type IndexStageDeps } from "../../shared/stages/index-stage";
import type { StageContext } from "../../shared/stages/stage-context";
import { indexContext, receivedRecording, useLocalEvidenceIndex } from "../support/index-harness";
import { RecordingPublisher } from "../support/recording-publisher";

const SHA = "a".repeat(64);
const SEGMENTS_QUEUE = "transcode-segments";
const JOIN_QUEUE = "transcode-join";

/** The ledger's contract, in memory: what the index appended, in order, chained (the blob adapter has its own tests). */
class MemoryLedger implements CustodyLedger {
  readonly chained = new Map<string, { lines: string[]; head?: LedgerHead }>();
  append(evidenceId: string, entries: LedgerEntry[]): Promise<LedgerHead> {
    const current = this.chained.get(evidenceId) ?? { lines: [] };
    const appended = chainLines(current.head, entries);
    this.chained.set(evidenceId, { lines: [...current.lines, ...appended.lines], head: appended.head });
    return Promise.resolve(appended.head);
  }
  async read(evidenceId: string): Promise<RecordedLedgerEntry[]> {
    return (await this.lines(evidenceId)).map((line) => ({ ...(JSON.parse(line) as LedgerEntry), lineSha256: lineDigest(line) }));
  }
  lines(evidenceId: string): Promise<string[]> {
    return Promise.resolve([...(this.chained.get(evidenceId)?.lines ?? [])]);
  }
}

const stack = useLocalEvidenceIndex();
let publisher: RecordingPublisher;
let ledger: MemoryLedger;

beforeEach(() => {
  publisher = new RecordingPublisher();
  ledger = new MemoryLedger();
});

function deps(): IndexStageDeps {
  return {
    index: stack.index,
    ledger,
    publisher,
    requiredStages: ["hash", "transcode"],
    readyTopic: "evidence-ready",
    receivedTopic: "evidence-received",
    transcodeSegmentsQueue: SEGMENTS_QUEUE,
    transcodeJoinQueue: JOIN_QUEUE,
  };
}

const context = (): StageContext => indexContext();

const time = (seconds: number) => new Date(Date.UTC(2026, 10, 26, 9, 40) + seconds * 1000).toISOString();

function recording(): EvidenceReceivedMessage {
  return receivedRecording(time(0));
}

/** Three segments on the 48 kHz AAC grid (60.010667 s each, the last to the end). */
const PLAN: SegmentPlanBody = {
  kind: "video",
  videoIndex: 0,
  audioIndex: 1,
  audioSampleRate: 48000,
  durationInSeconds: 170,
  targetSeconds: 60,
  maxSide: 1280,
  segments: [
    { index: 0, startInMicroseconds: 0, endInMicroseconds: 60010667 },
    { index: 1, startInMicroseconds: 60010667, endInMicroseconds: 120021333 },
    { index: 2, startInMicroseconds: 120021333, endInMicroseconds: 170000000 },
  ],
};

function plan(evidenceId: string, overrides: Partial<SegmentPlanMessage> = {}): SegmentPlanMessage {
  return {
    schemaVersion: 1,
    kind: "segment-plan",
    evidenceId,
    planId: planIdOf(PLAN),
    plan: structuredClone(PLAN),
    streams: [
      { index: 0, type: "video", codec: "h264", width: 1920, height: 1080, frameRate: 25 },
      { index: 1, type: "audio", codec: "aac", sampleRate: 48000, channels: 2 },
    ],
    media: { container: "mov,mp4,m4a,3gp,3g2,mj2", durationInSeconds: 170, streams: [{ index: 0, type: "video" }], dataTracks: [] },
    attempt: 1,
    startedAt: time(10),
    finishedAt: time(11),
    actor: "custody/transcode@media",
    ...overrides,
  };
}

function segmentResult(evidenceId: string, index: number, outcome: "succeeded" | "failed", overrides: Partial<SegmentResultMessage> = {}): SegmentResultMessage {
  const range = PLAN.segments[index];
  const message: SegmentResultMessage = {
    schemaVersion: 1,
    kind: "segment-result",
    evidenceId,
    planId: planIdOf(PLAN),
    segmentCount: PLAN.segments.length,
    segment: { ...range },
    outcome,
    final: outcome === "succeeded",
    attempt: 1,
    startedAt: time(20 + index),
    finishedAt: time(80 + index),
    actor: "custody/transcode-segment@media",
  };
  if (outcome === "succeeded") {
    const sha = (stream: string) => `${index}${stream === "video" ? "b" : "c"}`.padEnd(64, "e");
    message.files = (["video", "audio"] as const).map((stream) => ({
      stream,
      name: `segment-${String(index).padStart(5, "0")}-${stream}-${sha(stream).slice(0, 16)}.mp4`,
      size: 1000 + index,
      sha256: sha(stream),
    }));
    message.frames = 1500;
    message.audioPreRollInSeconds = index === 0 ? 0 : 0.042667;
    message.lengthInSeconds = (range.endInMicroseconds! - range.startInMicroseconds) / 1e6;
    message.provenance = {
      source: { container: "originals", name: "x", etag: '"0x8DD"' },
      tools: { ffmpeg: "ffmpeg N-1", ffprobe: "ffprobe 6" },
      runs: [],
      startedAt: message.startedAt,
      finishedAt: message.finishedAt,
    };
  } else {
    message.error = { code: "Transient", message: "blob storage: connection reset", retryable: true };
  }
  return { ...message, ...overrides };
}

async function setUp(): Promise<EvidenceReceivedMessage> {
  const received = recording();
  await indexEvidenceReceived(received, deps(), context());
  await indexStageResult(
    {
      schemaVersion: 1,
      kind: "stage-result",
      evidenceId: received.evidenceId,
      stage: "hash",
      attempt: 1,
      outcome: "succeeded",
      final: true,
      startedAt: time(1),
      finishedAt: time(2),
      actor: "custody/hash@core",
      hash: { sha256: SHA, size: 2048, segmentSizeInBytes: 1024, segmentSha256: ["1".repeat(64), "2".repeat(64)] },
    },
    deps(),
    context(),
  );
  return received;
}

/** Give the plan claim a matching provenance source (the recording's original). */
function withSource(received: EvidenceReceivedMessage, message: SegmentResultMessage): SegmentResultMessage {
  if (message.provenance !== undefined) message.provenance.source = { container: received.original.container, name: received.original.name, etag: received.original.etag };
  return message;
}

async function record(evidenceId: string): Promise<EvidenceRecord> {
  const stored = await stack.index.read(evidenceId);
  if (stored === undefined) throw new Error(`no record for ${evidenceId}`);
  return stored.record;
}

describe("the index hands out a segment-parallel transcode", () => {
  test("a plan: one valid segment request per segment, sent once however often the plan is delivered", async () => {
    const received = await setUp();
    const id = received.evidenceId;
    await indexSegmentPlan(plan(id), deps(), context());
    await indexSegmentPlan(plan(id), deps(), context());
    const orders = publisher.to(SEGMENTS_QUEUE, id);
    expect(orders.map((o) => (o.body as SegmentRequestMessage).segment.index)).toEqual([0, 1, 2]);
    for (const order of orders) expect(isValidMessage("segment-request", order.body)).toBe(true);
    expect((orders[1].body as SegmentRequestMessage).original).toEqual(received.original);
    const run = (await record(id)).transcodeRuns?.[0];
    expect(run?.orders?.publishedAt).toBeDefined();
    expect((await record(id)).custodyLog.filter((e) => e.action === "segments-planned")).toHaveLength(1);
  });

  test("a plan whose id is not its digest is refused; nothing is written or sent", async () => {
    const received = await setUp();
    const before = await record(received.evidenceId);
    await expect(indexSegmentPlan(plan(received.evidenceId, { planId: "f".repeat(64) }), deps(), context())).rejects.toMatchObject({ code: "InvalidMessage" });
    expect(publisher.to(SEGMENTS_QUEUE)).toEqual([]);
    expect((await record(received.evidenceId)).updatedAt).toBe(before.updatedAt);
  });

  test("segment results duplicated and out of order: exactly one join request, complete and in order, only after the last", async () => {
    const received = await setUp();
    const id = received.evidenceId;
    await indexSegmentPlan(plan(id), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 2, "succeeded")), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 0, "succeeded")), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 0, "succeeded")), deps(), context());
    expect(publisher.to(JOIN_QUEUE, id)).toEqual([]);
    await indexSegmentResult(withSource(received, segmentResult(id, 1, "succeeded")), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 1, "succeeded")), deps(), context());
    const joins = publisher.to(JOIN_QUEUE, id);
    expect(new Set(joins.map((j) => j.messageId)).size).toBe(1);
    const join = joins[0].body as JoinRequestMessage;
    expect(isValidMessage("join-request", join)).toBe(true);
    expect(join.segments.map((s) => [s.index, s.files.length, s.frames])).toEqual([
      [0, 2, 1500],
      [1, 2, 1500],
      [2, 2, 1500],
    ]);
    // Each segment's tools travel to the join (one entry per distinct version), for the manifest.
    expect(join.segmentTools).toEqual([{ ffmpeg: "ffmpeg N-1", ffprobe: "ffprobe 6" }]);
    expect(join.segments.map((s) => s.toolsIndex)).toEqual([0, 0, 0]);
    const after = await record(id);
    expect(after.status).toBe("received");
    expect(after.stages.transcode).toBeUndefined();
    expect(after.custodyLog.filter((e) => e.action === "segments-encoded")).toHaveLength(1);
  });

  test("a transient segment failure: waiting, that one segment re-sent later with its round; then the join", async () => {
    const received = await setUp();
    const id = received.evidenceId;
    await indexSegmentPlan(plan(id), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 0, "succeeded")), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 1, "failed")), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 2, "succeeded")), deps(), context());
    const retries = publisher.to(SEGMENTS_QUEUE, id).filter((o) => (o.body as SegmentRequestMessage).retry !== undefined);
    expect(retries).toHaveLength(1);
    const retry = retries[0];
    expect((retry.body as SegmentRequestMessage).segment.index).toBe(1);
    expect((retry.body as SegmentRequestMessage).retry?.round).toBe(1);
    expect(retry.scheduledEnqueueTime!.getTime()).toBeGreaterThan(Date.parse(time(81)));
    expect((await record(id)).status).toBe("waiting");
    expect(publisher.to(JOIN_QUEUE, id)).toEqual([]);
    await indexSegmentResult(withSource(received, segmentResult(id, 1, "succeeded", { retry: { round: 1, firstFailedAt: time(81) }, finishedAt: time(120) })), deps(), context());
    expect(publisher.to(JOIN_QUEUE, id)).toHaveLength(1);
    expect((await record(id)).status).toBe("received");
  });

  test("a segment failing for good fails the transcode naming the segment and its time range; no join is ever sent", async () => {
    const received = await setUp();
    const id = received.evidenceId;
    await indexSegmentPlan(plan(id), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 0, "succeeded")), deps(), context());
    const broken = segmentResult(id, 1, "failed", { final: true, error: { code: "UnsupportedMedia", message: "invalid data in the packet at 00:01:13", retryable: false } });
    await indexSegmentResult(withSource(received, broken), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 2, "succeeded")), deps(), context());
    const after = await record(id);
    expect(after.status).toBe("failed");
    expect(after.stages.transcode?.lastError?.message).toContain("segment 2 of 3 (00:01:00.011–00:02:00.021) failed for good: invalid data");
    expect(after.stages.transcode?.lastError?.code).toBe("UnsupportedMedia");
    expect(publisher.to(JOIN_QUEUE, id)).toEqual([]);
    const failed = publisher.delivered(id);
    expect(failed.map((m) => m.messageId)).toEqual([`${id}:failed`]);
  });

  test("a new plan claim (a re-announcement after lost orders) re-sends, with new ids, only what is not done; the same claim again sends nothing", async () => {
    const received = await setUp();
    const id = received.evidenceId;
    await indexSegmentPlan(plan(id, { trigger: `${id}:received` }), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 0, "succeeded")), deps(), context());
    const first = publisher.to(SEGMENTS_QUEUE, id).map((o) => o.messageId);
    await indexSegmentPlan(plan(id, { trigger: `${id}:received` }), deps(), context());
    expect(publisher.to(SEGMENTS_QUEUE, id).map((o) => o.messageId)).toEqual(first);
    await indexSegmentPlan(plan(id, { trigger: `${id}:received:reconcile-0b4f6a52-8f0e-4d3c-9a55-2f1c6f3b9e11` }), deps(), context());
    const again = publisher.to(SEGMENTS_QUEUE, id).slice(first.length);
    expect(again.map((o) => (o.body as SegmentRequestMessage).segment.index)).toEqual([1, 2]);
    expect(again.filter((o) => first.includes(o.messageId)).map((o) => o.messageId)).toEqual([]);
    // Every segment done, the join lost with the broker: the next claim owes a new join, under a new id.
    await indexSegmentResult(withSource(received, segmentResult(id, 1, "succeeded")), deps(), context());
    await indexSegmentResult(withSource(received, segmentResult(id, 2, "succeeded")), deps(), context());
    await indexSegmentPlan(plan(id, { trigger: `${id}:received:reconcile-5d1e2c3b-0000-4000-8000-000000000001` }), deps(), context());
    const joins = publisher.to(JOIN_QUEUE, id).map((o) => o.messageId);
    expect(joins).toHaveLength(2);
    expect(new Set(joins).size).toBe(2);
  });

  test("claims about segments the index never handed out are refused", async () => {
    const received = await setUp();
    const id = received.evidenceId;
    await expect(indexSegmentResult(withSource(received, segmentResult(id, 0, "succeeded")), deps(), context())).rejects.toMatchObject({ code: "InvalidMessage" });
    await indexSegmentPlan(plan(id), deps(), context());
    const wrongRange = segmentResult(id, 1, "succeeded", { segment: { index: 1, startInMicroseconds: 0, endInMicroseconds: 60010667 } });
    await expect(indexSegmentResult(withSource(received, wrongRange), deps(), context())).rejects.toMatchObject({ code: "InvalidMessage" });
    const misnamed = withSource(received, segmentResult(id, 2, "succeeded"));
    misnamed.files![0].name = "segment-00002-video-0000000000000000.mp4";
    await expect(indexSegmentResult(misnamed, deps(), context())).rejects.toMatchObject({ code: "InvalidMessage" });
    expect((await record(id)).transcodeRuns?.[0].segments.every((s) => s.status === "pending")).toBe(true);
  });

  test("the join's stage result makes the recording ready; the ledger rebuilds the same record and owes nothing", async () => {
    const received = await setUp();
    const id = received.evidenceId;
    await indexSegmentPlan(plan(id), deps(), context());
    for (const i of [0, 1, 2]) await indexSegmentResult(withSource(received, segmentResult(id, i, "succeeded")), deps(), context());
    const joined: StageResultMessage = {
      schemaVersion: 1,
      kind: "stage-result",
      evidenceId: id,
      stage: "transcode",
      attempt: 1,
      outcome: "succeeded",
      final: true,
      startedAt: time(90),
      finishedAt: time(95),
      actor: "custody/transcode-join@media",
      renditions: [{ kind: "proxy", name: "proxy.mp4", container: "derived", path: `${id}/transcode/proxy.mp4`, contentType: "video/mp4", size: 10, sha256: "9".repeat(64) }],
      provenance: {
        source: { container: received.original.container, name: received.original.name, etag: received.original.etag },
        tools: { ffmpeg: "f", ffprobe: "p" },
        runs: [],
        startedAt: time(90),
        finishedAt: time(95),
      },
    };
    await indexStageResult(joined, deps(), context());
    const after = await record(id);
    expect(after.status).toBe("ready");
    // A re-announcement once the proxy is made (the evidence-received delivered again under another id): nothing owed, nothing recorded.
    const sent = publisher.all.length;
    await indexSegmentPlan(plan(id, { trigger: `${id}:received:again` }), deps(), context());
    expect(publisher.all.length).toBe(sent);
    expect((await record(id)).updatedAt).toBe(after.updatedAt);
    const rebuilt = rebuildRecord(id, await ledger.read(id), { requiredStages: ["hash", "transcode"] });
    expect(rebuilt?.transcodeRuns).toEqual(after.transcodeRuns);
    expect(rebuilt?.status).toBe("ready");
    expect(rebuilt?.transcodeRuns?.[0].join?.publishedAt).toBeDefined();
    expect(rebuilt?.transcodeRuns?.[0].orders?.publishedAt).toBeDefined();
  });
});
