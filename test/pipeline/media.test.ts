/**
 * The media stages end to end on the embedded stack (hash, transcode and thumbnail all
 * required for `ready`): a rotated phone clip becomes ready with an upright proxy and
 * thumbnails; an audio-only recording becomes ready with an audio proxy and thumbnails
 * skipped; a truncated MOV fails for good with its reason, keeping its hash and metadata;
 * a redelivered evidence-received message re-runs the thumbnails into the same blobs, re-claims
 * the same transcode plan (which the index already has: the segments are not encoded again),
 * and duplicates nothing.
 *
 * The results queues run here without duplicate detection — as for a redelivery after the
 * detection window — so a re-run's result, which has the first run's message id, reaches the
 * index and the index's own idempotency is what the re-run test checks.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { mkdtempSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { uploadRecording } from "../../shared/adapters/dock-upload";
import { DERIVED_CONTAINER, ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import { evidenceReceivedMessageId } from "../../shared/contracts/message-ids";
import type { EvidenceReceivedMessage } from "../../shared/contracts/messages";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { createLogger, silentLogger } from "../../shared/logging";
import { drainEvents } from "../events/event-contract";
import { ENTITIES } from "../../shared/topology";
import topology from "../../topology/servicebus.json";
import { withClaimedMatroskaDuration } from "../support/crafted-media";
import { evidenceIdForBlob, isFinal, waitForRecord } from "../support/polling";
import { waitForQuietPipeline } from "../support/quiet";

const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "media");
let stack: RunningStack;
let blobService: BlobServiceClient;
let derived: ContainerClient;
const workDir = mkdtempSync(path.join(os.tmpdir(), "custody-media-e2e-"));

/** The project's topology with duplicate detection off on the queues results travel on. */
function withoutResultDuplicateDetection(): unknown {
  const config = structuredClone(topology);
  for (const queue of config.UserConfig.Namespaces[0].Queues) {
    if (queue.Name === ENTITIES.stageResults.queueName || queue.Name === ENTITIES.mediaResults.queueName) queue.Properties.RequiresDuplicateDetection = false;
  }
  return config;
}

beforeAll(async () => {
  stack = await startStack({
    dataDir: path.join(workDir, "data"),
    log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger,
    blobPollIntervalInMs: 100,
    serviceBusConfig: withoutResultDuplicateDetection(),
  });
  blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
  derived = blobService.getContainerClient(DERIVED_CONTAINER);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function upload(fixture: string): Promise<{ evidenceId: string; bytes: Buffer; blobName: string }> {
  const file = path.join(FIXTURES, fixture);
  const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), file, { officerId: "PC4", deviceId: "BWV-4", recordedAt: "2026-11-26T08:00:00Z" });
  return { evidenceId: await evidenceIdForBlob(stack.services!.index, uploaded.blobName), bytes: readFileSync(file), blobName: uploaded.blobName };
}

function waitFor(evidenceId: string, done: (record: EvidenceRecord) => boolean, timeoutInMs = 30_000): Promise<EvidenceRecord> {
  return waitForRecord(stack.services!.index, evidenceId, done, timeoutInMs);
}

async function derivedBlobs(evidenceId: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const blob of derived.listBlobsFlat({ prefix: `${evidenceId}/` })) out.set(blob.name, blob.properties.etag ?? "");
  return out;
}

async function sha256Of(blobPath: string): Promise<string> {
  return createHash("sha256")
    .update(await derived.getBlobClient(blobPath).downloadToBuffer())
    .digest("hex");
}

test("a rotated phone clip with a telemetry track → ready, upright proxy and thumbnails, provenance joined to the hash", async () => {
  const { evidenceId, bytes } = await upload("exo_phone_hevc_mett_track_rot90.mp4");
  const record = await waitFor(evidenceId, isFinal);
  expect(record.status).toBe("ready");
  expect(record.hash?.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
  expect(record.media).toMatchObject({ primaryVideoIndex: 2, dataTracks: ["mett"] });
  const [proxy] = record.stages.transcode!.renditions!;
  expect(proxy).toMatchObject({ kind: "proxy", path: `${evidenceId}/transcode/proxy.mp4` });
  expect(proxy.width!).toBeLessThan(proxy.height!);
  const poster = record.stages.thumbnail!.renditions!.find((r) => r.kind === "poster")!;
  expect(poster.width!).toBeLessThan(poster.height!);
  expect(record.stages.thumbnail!.renditions!.map((r) => r.kind)).toEqual(expect.arrayContaining(["poster", "thumbnail", "sprite", "sprite-vtt"]));
  for (const stage of ["transcode", "thumbnail"] as const) {
    expect(record.stages[stage]!.provenance!.source.sha256).toBe(record.hash!.sha256);
    for (const rendition of record.stages[stage]!.renditions!) expect(await sha256Of(rendition.path)).toBe(rendition.sha256);
  }
  expect(JSON.stringify(record)).not.toMatch(/sig=(?!<redacted>)/);
}, 45_000);

test("audio only → ready with an AAC audio proxy; thumbnails skipped with 'no video stream'", async () => {
  const { evidenceId } = await upload("ft_aac_audio_only.m4a");
  const record = await waitFor(evidenceId, isFinal);
  expect(record.status).toBe("ready");
  expect(record.stages.transcode).toMatchObject({
    status: "succeeded",
    renditions: [
      expect.objectContaining({ kind: "audio-proxy", name: "proxy.m4a", contentType: "audio/mp4" }),
      expect.objectContaining({ kind: "playlist", name: "proxy.m3u8" }),
      expect.objectContaining({ kind: "segment-manifest", name: "segments.json", segmentCount: 1 }),
    ],
  });
  expect(record.stages.thumbnail).toMatchObject({ status: "skipped", skipReason: "no video stream" });
  // The renditions and the one segment's audio file (what the manifest lists), nothing else.
  const stored = [...(await derivedBlobs(evidenceId)).keys()].sort();
  expect(stored.filter((name) => !/\/transcode\/segment-00000-audio-[0-9a-f]{16}\.mp4$/.test(name))).toEqual(record.stages.transcode!.renditions!.map((r) => r.path).sort());
  expect(stored).toHaveLength(4);
}, 45_000);

test("a MOV cut inside its moov → failed for good with the reason, hash and metadata kept, no retry loop", async () => {
  const { evidenceId, bytes } = await upload("ft_mov_truncated_moov.mov");
  const record = await waitFor(evidenceId, (r) => isFinal(r) && r.stages.transcode?.status === "failed" && r.stages.thumbnail?.status === "failed");
  expect(record.status).toBe("failed");
  expect(record.finalEvent?.type).toBe("evidence-failed");
  expect(record.hash?.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
  expect(record.capture).toMatchObject({ officerId: "PC4", deviceId: "BWV-4" });
  for (const stage of ["transcode", "thumbnail"] as const) {
    expect(record.stages[stage]).toMatchObject({ status: "failed", attempts: 1, lastError: expect.objectContaining({ code: "UnsupportedMedia", retryable: false }) });
    expect(record.stages[stage]!.lastError!.message.length).toBeGreaterThan(10);
  }
  expect(await derivedBlobs(evidenceId)).toEqual(new Map());
}, 45_000);

test("an MKV whose header claims a 10-year duration → failed for good as implausible media after one attempt per stage, hash kept", async () => {
  const ffmpeg = (require("@ffmpeg-installer/ffmpeg") as { path: string }).path;
  const clip = path.join(workDir, "two-seconds.mkv");
  execFileSync(ffmpeg, ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-pix_fmt", "yuv420p", "-c:v", "libx264", clip]);
  const crafted = withClaimedMatroskaDuration(clip, 10 * 365 * 86_400, path.join(workDir, "ten-years.mkv"));
  const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), crafted, { officerId: "PC4", deviceId: "BWV-4", recordedAt: "2026-11-26T08:00:00Z" });
  const evidenceId = await evidenceIdForBlob(stack.services!.index, uploaded.blobName);
  const record = await waitFor(evidenceId, (r) => isFinal(r) && r.stages.transcode?.status === "failed" && r.stages.thumbnail?.status === "failed");
  expect(record.status).toBe("failed");
  expect(record.hash?.sha256).toBe(createHash("sha256").update(readFileSync(crafted)).digest("hex"));
  for (const stage of ["transcode", "thumbnail"] as const) {
    expect(record.stages[stage]).toMatchObject({ status: "failed", attempts: 1, lastError: expect.objectContaining({ code: "UnsupportedMedia", retryable: false }) });
    expect(record.stages[stage]!.lastError!.message).toMatch(/Implausible media: .*claims a duration of 3650 days/);
  }
  expect(await derivedBlobs(evidenceId)).toEqual(new Map());
}, 45_000);

test("evidence-received delivered again → the thumbnails rewritten, the transcode's plan already done, no duplicates on the record or in storage", async () => {
  const { evidenceId, blobName } = await upload("exo_fragmented_fmp4.mp4");
  const first = await waitFor(evidenceId, isFinal);
  expect(first.status).toBe("ready");
  const before = await derivedBlobs(evidenceId);
  const segmentFile = /\/transcode\/segment-\d{5}-(video|audio)-[0-9a-f]{16}\.mp4$/;
  const segmentFiles = [...before.keys()].filter((name) => segmentFile.test(name));
  expect(segmentFiles.length).toBeGreaterThanOrEqual(2);
  // The thumbnail stage's own files and, beside them, the signed set its record shows (Content Credentials).
  const signing = first.contentCredentials!.runs;
  expect(signing.map((run) => run.status)).toEqual(["succeeded"]);
  const unsigned = signing[0].sources.map((r) => r.path);
  expect(before.size).toBe(first.stages.transcode!.renditions!.length + first.stages.thumbnail!.renditions!.length + unsigned.length + segmentFiles.length);
  const transcodeBlobs = (blobs: Map<string, string>) => [...blobs].filter(([name]) => name.startsWith(`${evidenceId}/transcode/`));

  // What ingest published, sent again outside duplicate detection (a new message id).
  const original = first.original!;
  const message: EvidenceReceivedMessage = {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId,
    original,
    capture: first.capture,
    acceptance: { status: "accepted" },
    uploadedAt: first.uploadedAt!,
    sourceEventId: "redelivery-test",
  };
  expect(original.name).toBe(blobName);
  const client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  const sender = client.createSender(ENTITIES.evidenceReceivedTopic);
  await sender.sendMessages({ body: message, messageId: `${evidenceReceivedMessageId(evidenceId)}-again`, correlationId: evidenceId, applicationProperties: { evidenceId } });
  await sender.close();
  await client.close();

  // The thumbnail stage's blobs are rewritten (new ETag) by the second run.
  const thumbnailPaths = unsigned;
  const deadline = Date.now() + 30_000;
  let after = await derivedBlobs(evidenceId);
  while (thumbnailPaths.some((name) => after.get(name) === before.get(name)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    after = await derivedBlobs(evidenceId);
  }
  expect(thumbnailPaths.every((name) => after.get(name) !== before.get(name))).toBe(true);

  // The second run's results reach the index, with the first run's result keys: the record now
  // describes the thumbnails' second run (the files as they are now), and lists nothing twice.
  // The transcode's second plan claim is the first's (same plan, same id): nothing is encoded or joined again.
  const record = await waitFor(evidenceId, (r) => r.stages.thumbnail!.finishedAt! > first.stages.thumbnail!.finishedAt!);
  await waitForQuietPipeline(stack.serviceBus.namespace);
  after = await derivedBlobs(evidenceId);
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  expect(transcodeBlobs(after)).toEqual(transcodeBlobs(before));
  const settled = (await stack.services!.index.read(evidenceId))!.record;
  expect(settled.status).toBe("ready");
  expect(settled.finalEvent).toEqual(first.finalEvent);
  expect(settled.stages.transcode).toEqual(first.stages.transcode);
  expect(record.stages.thumbnail!.renditions).toHaveLength(first.stages.thumbnail!.renditions!.length);
  for (const stage of ["transcode", "thumbnail"] as const) {
    expect(settled.stages[stage]!.resultKey).toBe(first.stages[stage]!.resultKey);
    expect(settled.stages[stage]!.superseded).toBeUndefined();
    expect(settled.stages[stage]!.renditions!.map((r) => r.path).sort()).toEqual(first.stages[stage]!.renditions!.map((r) => r.path).sort());
    for (const rendition of settled.stages[stage]!.renditions!) expect(await sha256Of(rendition.path)).toBe(rendition.sha256);
  }
  expect(settled.stages.thumbnail!.provenance!.startedAt > first.stages.thumbnail!.provenance!.finishedAt).toBe(true);
  expect(settled.custodyLog.filter((e) => e.action === "ready")).toHaveLength(1);
  expect(settled.custodyLog.map((e) => e.key)).toEqual(first.custodyLog.map((e) => e.key));
}, 60_000);

test("a crafted playlist upload that points at a local file fails as unsupported and reads nothing", async () => {
  const secret = path.join(workDir, "secret-fifo");
  execFileSync("mkfifo", [secret]);
  // Opening a FIFO for writing completes only when someone opens it for reading: if ffmpeg
  // (or anything) followed the playlist to the local file, this promise would resolve.
  const writer = fsp.open(secret, "w");
  const opened = writer.then(() => true);
  const crafted = path.join(workDir, "crafted.mp4");
  fs.writeFileSync(crafted, `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${secret}\n#EXT-X-ENDLIST\n`);
  try {
    const uploaded = await uploadRecording(blobService.getContainerClient(ORIGINALS_CONTAINER), crafted, { officerId: "PC6", deviceId: "BWV-6", recordedAt: "2026-11-26T08:00:00Z" });
    const evidenceId = await evidenceIdForBlob(stack.services!.index, uploaded.blobName);
    // The record fails as soon as one media stage fails for good; wait for both to report.
    const record = await waitFor(evidenceId, (r) => isFinal(r) && r.stages.transcode?.status === "failed" && r.stages.thumbnail?.status === "failed");
    expect(record.status).toBe("failed");
    expect(record.stages.transcode?.lastError?.code).toBe("UnsupportedMedia");
    expect(record.stages.thumbnail?.lastError?.code).toBe("UnsupportedMedia");
    expect(record.hash?.sha256).toBe(createHash("sha256").update(fs.readFileSync(crafted)).digest("hex"));
    expect(await Promise.race([opened, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300))])).toBe(false);
  } finally {
    // Free the pending open (and its thread-pool thread) with a reader of our own.
    const reader = fs.openSync(secret, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    await (await writer).close();
    fs.closeSync(reader);
  }
});

test("generated and odd footage end to end: HDR 10-bit → SDR 8-bit proxy, video without audio, a 0.5 s clip, GoPro telemetry, corrupt Matroska", async () => {
  const ffmpeg = (require("@ffmpeg-installer/ffmpeg") as { path: string }).path;
  const generate = (name: string, args: string[]): string => {
    const file = path.join(workDir, name);
    execFileSync(ffmpeg, ["-hide_banner", "-loglevel", "error", "-y", ...args, file]);
    return file;
  };
  const clips = {
    hdr: generate("hdr10.mp4", [
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=640x360:r=25:d=1.5",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=1.5",
      "-pix_fmt",
      "yuv420p10le",
      "-c:v",
      "libx265",
      "-x265-params",
      "log-level=error",
      "-color_trc",
      "smpte2084",
      "-color_primaries",
      "bt2020",
      "-colorspace",
      "bt2020nc",
      "-c:a",
      "aac",
      "-shortest",
    ]),
    silent: generate("no-audio.mp4", ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-pix_fmt", "yuv420p", "-c:v", "libx264"]),
    short: generate("half-second.mp4", ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=0.5", "-pix_fmt", "yuv420p", "-c:v", "libx264"]),
  };
  const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
  const ids: Record<string, string> = {};
  for (const [key, file] of Object.entries({ ...clips, gopro: path.join(FIXTURES, "gopro_max_heromode_gpmf.mp4"), corrupt: path.join(FIXTURES, "ft_mkv_corrupt_ebml.mkv") })) {
    const uploaded = await uploadRecording(container, file, { officerId: "PC8", deviceId: "BWV-8", recordedAt: "2026-11-26T08:00:00Z" });
    ids[key] = await evidenceIdForBlob(stack.services!.index, uploaded.blobName);
  }
  const settled = (r: EvidenceRecord): boolean =>
    isFinal(r) && ["transcode", "thumbnail"].every((s) => r.stages[s as "transcode"]?.status !== undefined && r.stages[s as "transcode"]?.status !== "pending");
  const hdr = await waitFor(ids.hdr, settled, 60_000);
  expect(hdr.status).toBe("ready");
  expect(hdr.media?.streams.find((s) => s.type === "video")).toMatchObject({ hdr: true, bitDepth: 10 });
  const hdrProxy = await stack.services!.media.probe(
    { kind: "url", url: await stack.services!.blobs.readUrl({ container: DERIVED_CONTAINER, name: `${ids.hdr}/transcode/proxy.mp4` }, 60_000) },
    { timeoutInMs: 20_000 },
  );
  const proxyVideo = hdrProxy.streams.find((s) => s.type === "video");
  expect(proxyVideo).toMatchObject({ codec: "h264", pixelFormat: "yuv420p" });
  expect(proxyVideo?.hdr ?? false).toBe(false);
  expect(proxyVideo?.bitDepth ?? 8).toBe(8);

  const silent = await waitFor(ids.silent, settled, 60_000);
  expect(silent.status).toBe("ready");
  const silentProxy = silent.stages.transcode!.renditions!.find((r) => r.kind === "proxy")!;
  const silentProbe = await stack.services!.media.probe(
    { kind: "url", url: await stack.services!.blobs.readUrl({ container: DERIVED_CONTAINER, name: silentProxy.path }, 60_000) },
    { timeoutInMs: 20_000 },
  );
  expect(silentProbe.streams.map((s) => s.type)).toEqual(["video"]);

  const short = await waitFor(ids.short, settled, 60_000);
  expect(short.status).toBe("ready");
  expect(short.stages.thumbnail!.renditions!.filter((r) => r.kind === "poster")).toHaveLength(1);

  const gopro = await waitFor(ids.gopro, settled, 60_000);
  expect(gopro.status).toBe("ready");
  expect(gopro.media?.dataTracks).toEqual(expect.arrayContaining(["gpmd", "tmcd"]));

  const corrupt = await waitFor(ids.corrupt, settled, 60_000);
  expect(corrupt.status).toBe("failed");
  expect(corrupt.stages.transcode?.lastError?.code).toBe("UnsupportedMedia");
  expect(corrupt.hash?.sha256).toBe(
    createHash("sha256")
      .update(fs.readFileSync(path.join(FIXTURES, "ft_mkv_corrupt_ebml.mkv")))
      .digest("hex"),
  );
}, 120_000);

test("every evidence event this file's recordings published is a valid CloudEvent, its data matching its schema, one per outcome", async () => {
  const client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  try {
    const events = await drainEvents(client, "all-events");
    expect(events.length).toBeGreaterThanOrEqual(5);
    // Real media: the ready events carry renditions (with plain URLs), the failed ones a stage and a reason.
    const ready = events.flatMap(({ event }) => (event.type === "org.custody.evidence.ready.v1" ? [event] : []));
    expect(ready.some((event) => event.data.renditions.some((r) => r.kind === "proxy" && r.url !== undefined && !r.url.includes("?")))).toBe(true);
    const failed = events.filter(({ event }) => event.type === "org.custody.evidence.failed.v1");
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const { event } of failed) if (event.data.status === "failed") expect(event.data.failure.stage).toMatch(/^(hash|transcode|thumbnail)$/);
    const ids = events.map(({ event }) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
  } finally {
    await client.close();
  }
}, 60_000);
