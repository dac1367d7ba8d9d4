/**
 * The Content Credentials stage against Azurite, on the images the real thumbnail stage made
 * with ffmpeg, signed by the local key under the local chain (a CA made in a temporary data
 * folder), reporting through the Service Bus emulator: the signed set lands in the order's
 * folder, each image verifies under that CA naming the original's SHA-256, the track is a
 * byte-for-byte copy, the reported digests are the blobs'; a source changed since the thumbnail
 * stage fails for good with nothing written; a second run adopts the first's files without
 * rewriting them; a blob at a target that is not this order's is refused and left alone; storage
 * out of reach is a transient failure (reported not final).
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { InvocationContext } from "@azure/functions";
import type { ServiceBusReceiver } from "@azure/service-bus";
import { contentCredentialsHandler } from "../../functions/content-credentials";
import { useServices, type FunctionServices } from "../../functions/services";
import { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import { createBlobServiceClient } from "../../shared/adapters/blob-service-client";
import { CA_CERTIFICATE_FILE, createLocalContentCredentials } from "../../shared/adapters/local-content-credentials";
import { LocalKeySigner } from "../../shared/adapters/local-key-signer";
import { ServiceBusPublisher } from "../../shared/adapters/service-bus-publisher";
import { credentialsResultMessageId } from "../../shared/contracts/message-ids";
import type { CredentialsRequestMessage, EvidenceReceivedMessage, Rendition, StageProvenance } from "../../shared/contracts/messages";
import { parseMessage } from "../../shared/contracts/validate";
import { CustodyError } from "../../shared/errors";
import { verifyContentCredentials, type ContentCredentials } from "../../shared/media/content-credentials";
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from "../../local/azurite";
import { signAndReportCredentials, signThumbnailImages } from "../../shared/stages/credentials-stage";
import { thumbnailOriginal } from "../../shared/stages/thumbnail-stage";
import { emulatorConfig, startHarness, type EmulatorHarness } from "../servicebus-emulator/harness";
import { testContentCredentials } from "../support/test-signer";
import { sha256, stageContext, startMediaHarness, type MediaHarness } from "./media-harness";

const RESULTS = "stage-results";
let h: MediaHarness;
let bus: EmulatorHarness;
let publisher: ServiceBusPublisher;
let receiver: ServiceBusReceiver;
let credentials: ContentCredentials;
let caPem: string;
/** A thumbnail run on a 10 s clip: the original's message, its SHA-256 and the stage's renditions and provenance. */
let made: { input: EvidenceReceivedMessage; originalSha256: string; renditions: Rendition[]; provenance: StageProvenance };
const context = stageContext("custody/content-credentials@test");

beforeAll(async () => {
  [h, bus] = await Promise.all([startMediaHarness("credentials-stage"), startHarness(emulatorConfig({ queues: [{ name: RESULTS }] }))]);
  publisher = new ServiceBusPublisher(bus.client);
  receiver = bus.client.createReceiver(RESULTS, { receiveMode: "receiveAndDelete" });
  const dataDir = path.join(h.work, "data");
  const signer = await LocalKeySigner.open({ directory: path.join(dataDir, "signing-keys") });
  credentials = await createLocalContentCredentials(dataDir, signer);
  caPem = readFileSync(path.join(dataDir, "content-credentials", CA_CERTIFICATE_FILE), "utf8");

  const clip = h.generate("ten-seconds.mp4", ["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=10", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast"]);
  const input = await h.upload(clip);
  const work = await thumbnailOriginal(input, { blobs: h.store, media: h.media }, stageContext("custody/thumbnail@test"));
  if (work.outcome !== "succeeded" || work.renditions === undefined || work.provenance === undefined) throw new Error(`the thumbnail stage did not succeed: ${work.outcome}`);
  made = { input, originalSha256: sha256(readFileSync(clip)), renditions: work.renditions, provenance: work.provenance };
}, 120_000);

afterAll(async () => {
  await receiver?.close();
  await bus?.close();
  await h?.stop();
});

/** The index's order for the thumbnail run (a fresh request id each time: its own folder). */
function order(overrides: Partial<CredentialsRequestMessage> = {}): CredentialsRequestMessage {
  const requestId = createHash("sha256").update(randomBytes(16)).digest("hex");
  return {
    schemaVersion: 1,
    kind: "credentials-request",
    evidenceId: made.input.evidenceId,
    requestId,
    original: made.input.original,
    originalSha256: made.originalSha256,
    sources: made.renditions.map((r) => ({ ...r })),
    folder: `${made.input.evidenceId}/thumbnail/c2pa-${requestId.slice(0, 16)}/`,
    tools: made.provenance.tools,
    runs: made.provenance.runs,
    ...overrides,
  };
}

const deps = () => ({ blobs: h.store, contentCredentials: credentials });

async function blobsUnder(prefix: string): Promise<Array<{ name: string; etag: string }>> {
  const out: Array<{ name: string; etag: string }> = [];
  for await (const blob of h.derived.listBlobsFlat({ prefix })) out.push({ name: blob.name, etag: blob.properties.etag ?? "" });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

async function failureOf(promise: Promise<unknown>): Promise<CustodyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CustodyError);
  return error as CustodyError;
}

test("the signed set: every image verifies under the local CA naming the original's SHA-256, the track is copied byte for byte, the digests are the blobs'", async () => {
  const request = order();
  const signed = await signThumbnailImages(request, deps(), context);

  expect(signed.keyId).toBe(credentials.keyId);
  expect(signed.adopted).toBe(0);
  expect(credentials.trustAnchorPems).toEqual([caPem]);
  expect(signed.renditions.map((r) => [r.kind, r.name, r.contentType, r.width, r.height, r.timeInSeconds])).toEqual(
    request.sources.map((s) => [s.kind, s.name, s.contentType, s.width, s.height, s.timeInSeconds]),
  );
  expect(signed.renditions.map((r) => r.kind)).toEqual(expect.arrayContaining(["poster", "thumbnail", "sprite", "sprite-vtt"]));
  for (const [i, rendition] of signed.renditions.entries()) {
    const source = request.sources[i];
    expect(rendition).toMatchObject({ container: "derived", path: `${request.folder}${source.name}` });
    const bytes = await h.download(rendition.path);
    expect(bytes.length).toBe(rendition.size);
    expect(sha256(bytes)).toBe(rendition.sha256);
    const unsigned = await h.download(source.path);
    // The thumbnail stage's own file is as it was.
    expect(sha256(unsigned)).toBe(source.sha256);
    if (rendition.kind === "sprite-vtt") {
      expect(bytes.equals(unsigned)).toBe(true);
      continue;
    }
    expect(rendition.sha256).not.toBe(source.sha256);
    const verification = await verifyContentCredentials(bytes, { trustAnchorPems: [caPem], expectedOriginalSha256: made.originalSha256 });
    expect(verification.failures).toEqual([]);
    expect(verification.valid).toBe(true);
    expect(verification.title).toBe(source.name);
    expect(verification.ingredient).toMatchObject({ sha256: made.originalSha256, name: made.input.original.name });
    const edited = verification.actions?.find((a) => a.action === "c2pa.edited");
    expect(edited?.softwareAgent).toBe(`ffmpeg ${made.provenance.tools.ffmpeg}`);
    expect(edited?.runs?.length).toBeGreaterThan(0);
    expect(edited?.description).toMatch(rendition.kind === "sprite" ? /^sprite sheet: 8 frames at cell size, 800×180$/ : new RegExp(`^${rendition.kind}: frame at ${source.timeInSeconds} s`));
  }
  // Nothing else in the folder.
  expect((await blobsUnder(request.folder)).map((b) => b.name)).toEqual(signed.renditions.map((r) => r.path).sort());
}, 60_000);

test("a second run of the same order adopts the first run's files: the same renditions reported, nothing rewritten", async () => {
  const request = order();
  const first = await signThumbnailImages(request, deps(), context);
  const before = await blobsUnder(request.folder);

  const again = await signThumbnailImages(request, deps(), stageContext("custody/content-credentials@test", 2));
  expect(again.renditions).toEqual(first.renditions);
  expect(again.adopted).toBe(request.sources.length);
  expect(await blobsUnder(request.folder)).toEqual(before);
}, 60_000);

test("a run after one that stopped part-way adopts what is there and writes the rest", async () => {
  const request = order();
  const first = await signThumbnailImages(request, deps(), context);
  const lost = first.renditions.filter((_, i) => i % 2 === 1);
  for (const rendition of lost) await h.derived.deleteBlob(rendition.path);

  const again = await signThumbnailImages(request, deps(), context);
  expect(again.adopted).toBe(first.renditions.length - lost.length);
  for (const [i, rendition] of again.renditions.entries()) {
    const bytes = await h.download(rendition.path);
    expect(sha256(bytes)).toBe(rendition.sha256);
    // The kept files are reported as they were; the rewritten images are signed anew (another manifest instance).
    if (i % 2 === 0 || rendition.kind === "sprite-vtt") expect(rendition).toEqual(first.renditions[i]);
  }
}, 60_000);

test("a source changed since the thumbnail stage recorded it: OutputVerificationFailed, final, and nothing is written", async () => {
  const request = order();
  const thumb = request.sources.find((s) => s.kind === "thumbnail")!;
  // A copy of the set in a folder of its own, one thumbnail a byte longer than the order says.
  const folder = `${made.input.evidenceId}/thumbnail/reprocess-changed-${request.requestId.slice(0, 8)}/`;
  const sources = request.sources.map((s) => ({ ...s, path: `${folder}${s.name}` }));
  for (const source of request.sources) {
    const bytes = await h.download(source.path);
    await h.derived.getBlockBlobClient(`${folder}${source.name}`).uploadData(source === thumb ? Buffer.concat([bytes, Buffer.from([0])]) : bytes);
  }
  const changedOrder = { ...request, sources, folder: `${folder}c2pa-${request.requestId.slice(0, 16)}/` };

  const failure = await failureOf(signThumbnailImages(changedOrder, deps(), context));
  expect(failure.code).toBe("OutputVerificationFailed");
  expect(failure.retryable).toBe(false);
  expect(failure.message).toContain(`${thumb.name} no longer matches the SHA-256 the thumbnail stage recorded`);
  expect(await blobsUnder(changedOrder.folder)).toEqual([]);

  const result = await signAndReportCredentials(changedOrder, { publisher, resultsEntity: RESULTS }, context, () => signThumbnailImages(changedOrder, deps(), context));
  expect(result).toMatchObject({ outcome: "failed", final: true, error: { code: "OutputVerificationFailed", retryable: false } });
  const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
  expect(parseMessage("credentials-result", message.body)).toEqual(result);
  expect(message.messageId).toBe(credentialsResultMessageId(result));
  expect(message.messageId).toMatch(/:failed:final$/);
}, 60_000);

test("a blob at a target that is not this order's — unsigned, signed under another CA, for another original or as another file — is refused and left as it is", async () => {
  const poster = made.renditions.find((r) => r.kind === "poster")!;
  const posterBytes = await h.download(poster.path);
  const otherCa = await testContentCredentials();
  const signedAs = async (signer: ContentCredentials, title: string, originalSha256: string): Promise<Buffer> =>
    Buffer.from(
      await signer.signJpeg(posterBytes, {
        title,
        original: { name: made.input.original.name, sha256: originalSha256, size: made.input.original.size },
        action: { kind: "poster", description: "poster", tool: { name: "ffmpeg", version: made.provenance.tools.ffmpeg }, runs: [] },
      }),
    );
  for (const [what, foreign, expected] of [
    ["unsigned", posterBytes, /carries no C2PA manifest/],
    ["another CA", await signedAs(otherCa.contentCredentials, poster.name, made.originalSha256), /not issued by any trusted CA/],
    ["another original", await signedAs(credentials, poster.name, "e".repeat(64)), /names original e{64}/],
    ["another file's credentials", await signedAs(credentials, "thumb-01.jpg", made.originalSha256), /its credentials are for thumb-01\.jpg/],
  ] as const) {
    const request = order();
    const target = `${request.folder}${poster.name}`;
    await h.derived.getBlockBlobClient(target).uploadData(foreign);
    const etag = (await h.derived.getBlobClient(target).getProperties()).etag;

    const failure = await failureOf(signThumbnailImages(request, deps(), context));
    expect([what, failure.code, failure.retryable]).toEqual([what, "OutputVerificationFailed", false]);
    expect(failure.message).toMatch(expected);
    expect(failure.message).toContain(`derived/${target} already exists and is not what this order makes`);
    expect((await h.derived.getBlobClient(target).getProperties()).etag).toBe(etag);
  }
}, 60_000);

test("a track at the target that differs from the thumbnail stage's is refused", async () => {
  const request = order();
  const vtt = request.sources.find((s) => s.kind === "sprite-vtt")!;
  await h.derived.getBlockBlobClient(`${request.folder}${vtt.name}`).uploadData(Buffer.from("WEBVTT\n\n"));
  const failure = await failureOf(signThumbnailImages(request, deps(), context));
  expect(failure.code).toBe("OutputVerificationFailed");
  expect(failure.message).toContain("not a byte-for-byte copy of the track");
}, 60_000);

test("an order whose target is not its own folder beside the thumbnail files is refused before anything is read", async () => {
  const request = order();
  for (const bad of [
    { folder: `${made.input.evidenceId}/transcode/` },
    { folder: `${made.input.evidenceId}/thumbnail/c2pa-${"0".repeat(16)}/` },
    // Sources and target consistent with each other, in a folder that is not the thumbnail stage's.
    ...[`ev-${"0".repeat(32)}/thumbnail/`, `${made.input.evidenceId}/transcode/`, `${made.input.evidenceId}/thumbnail/../transcode/`, `${made.input.evidenceId}/thumbnail/c2pa-${"1".repeat(16)}/`].map(
      (folder) => ({ sources: request.sources.map((s) => ({ ...s, path: `${folder}${s.name}` })), folder: `${folder}c2pa-${request.requestId.slice(0, 16)}/` }),
    ),
    { sources: request.sources.map((s, i) => (i === 0 ? { ...s, kind: "proxy" as const } : s)) },
  ]) {
    const failure = await failureOf(signThumbnailImages({ ...request, ...bad }, deps(), context));
    expect([failure.code, failure.retryable]).toEqual(["InvalidMessage", false]);
  }
  expect(await blobsUnder(request.folder)).toEqual([]);
});

test("reported: success as a credentials-result with the renditions and the key id; storage out of reach as a transient failure the index retries", async () => {
  const retry = { round: 2, firstFailedAt: new Date(Date.now() - 60_000).toISOString() };
  const request = order({ retry });
  const ok = await signAndReportCredentials(request, { publisher, resultsEntity: RESULTS }, context, () => signThumbnailImages(request, deps(), context));
  const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
  const body = parseMessage("credentials-result", message.body);
  expect(body).toEqual(ok);
  expect(body).toMatchObject({ outcome: "succeeded", final: true, attempt: 3, keyId: credentials.keyId, actor: context.actor, retry, requestId: request.requestId, evidenceId: request.evidenceId });
  expect(body.renditions?.map((r) => r.path)).toEqual(request.sources.map((s) => `${request.folder}${s.name}`));
  expect(message.messageId).toBe(credentialsResultMessageId(body));

  // A blob endpoint nobody listens on: the connection is refused.
  const port = await closedPort();
  const unreachable = new AzureBlobStore(
    createBlobServiceClient({
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME};`,
      pipelineOptions: { retryOptions: { maxTries: 1 } },
    }),
    { maxDownloadResumes: 0 },
  );
  const again = order();
  const failed = await signAndReportCredentials(again, { publisher, resultsEntity: RESULTS }, context, () =>
    signThumbnailImages(again, { blobs: unreachable, contentCredentials: credentials }, context),
  );
  expect(failed).toMatchObject({ outcome: "failed", final: false, attempt: 1, error: { retryable: true } });
  const [transient] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
  expect(parseMessage("credentials-result", transient.body)).toEqual(failed);
  expect(transient.messageId).toBe(credentialsResultMessageId(failed));
}, 60_000);

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

test("the content-credentials function: the order parsed, signed and reported on stage-results; an app that cannot sign reports a transient failure; another kind of message is dead-lettered", async () => {
  const invocation = () => new InvocationContext({ functionName: "content-credentials", invocationId: "test", triggerMetadata: { deliveryCount: 1, messageId: "m-1" }, logHandler: () => undefined });
  // Only what the function takes from the composition root.
  const services = (contentCredentials?: ContentCredentials) => ({ blobs: h.store, publisher, ...(contentCredentials === undefined ? {} : { contentCredentials }) }) as unknown as FunctionServices;
  try {
    const request = order();
    useServices(services(credentials));
    expect(await contentCredentialsHandler(request, invocation())).toEqual({ settle: "complete" });
    const [signed] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
    expect(parseMessage("credentials-result", signed.body)).toMatchObject({ outcome: "succeeded", final: true, requestId: request.requestId, actor: expect.stringContaining("content-credentials") });

    useServices(services(undefined));
    expect(await contentCredentialsHandler(order(), invocation())).toEqual({ settle: "complete" });
    const [unsigned] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
    expect(parseMessage("credentials-result", unsigned.body)).toMatchObject({
      outcome: "failed",
      final: false,
      error: { code: "InvalidConfiguration", retryable: true, message: expect.stringContaining("CUSTODY_CONTENT_CREDENTIALS_CHAIN") },
    });

    expect(await contentCredentialsHandler({ ...request, kind: "join-request" }, invocation())).toMatchObject({ settle: "deadLetter", reason: "InvalidMessage" });
  } finally {
    useServices(undefined);
  }
}, 60_000);
