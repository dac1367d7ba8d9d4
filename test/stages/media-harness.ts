/**
 * Shared setup of the media stage tests: Azurite with `originals` and `derived`, the real
 * blob adapter and ffmpeg adapter, fixtures uploaded as originals, and clips generated with
 * ffmpeg's lavfi sources (testsrc2/sine) where no real file shows the case.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ContainerClient } from "@azure/storage-blob";
import { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import { createBlobServiceClient } from "../../shared/adapters/blob-service-client";
import { createFfmpegMediaTool, type FfmpegMediaTool } from "../../shared/adapters/ffmpeg/media-tool";
import type { EvidenceReceivedMessage } from "../../shared/contracts/messages";
import { createLogger, silentLogger } from "../../shared/logging";
import { DERIVED_CONTAINER } from "../../shared/ports/blob-store";
import type { StageContext } from "../../shared/stages/stage-context";
import { startAzurite, type AzuriteInstance } from "../../local/azurite";

export const FIXTURES = path.resolve(__dirname, "..", "..", "fixtures", "media");

export interface MediaHarness {
  work: string;
  store: AzureBlobStore;
  media: FfmpegMediaTool;
  originals: ContainerClient;
  derived: ContainerClient;
  /** Uploads a local file as an original; returns what ingest would publish. */
  upload(file: string, name?: string): Promise<EvidenceReceivedMessage>;
  /** Generates a clip with ffmpeg (arguments after `-y`, output last) into the work folder. */
  generate(name: string, args: string[]): string;
  download(blobPath: string): Promise<Buffer>;
  /** ffprobe of a local file, as JSON. */
  ffprobe(file: string): { streams: Array<Record<string, unknown>>; format: Record<string, unknown> };
  stop(): Promise<void>;
}

let counter = 0;

export async function startMediaHarness(label: string): Promise<MediaHarness> {
  const work = mkdtempSync(path.join(os.tmpdir(), `custody-${label}-`));
  const azurite: AzuriteInstance = await startAzurite({ location: path.join(work, "azurite") });
  const service = createBlobServiceClient({ connectionString: azurite.connectionString });
  const originals = service.getContainerClient("originals");
  const derived = service.getContainerClient(DERIVED_CONTAINER);
  await originals.createIfNotExists();
  await derived.createIfNotExists();
  const store = new AzureBlobStore(service);
  const media = await createFfmpegMediaTool();
  return {
    work,
    store,
    media,
    originals,
    derived,
    async upload(file, name = `borough-07/cam-${++counter}/${path.basename(file)}`) {
      const blob = originals.getBlockBlobClient(name);
      const bytes = readFileSync(file);
      await blob.uploadData(bytes);
      const properties = await blob.getProperties();
      return {
        schemaVersion: 1,
        kind: "evidence-received",
        evidenceId: `ev-${createHash("md5").update(name).digest("hex")}`,
        original: { account: "devstoreaccount1", container: "originals", name, etag: properties.etag!.replace(/"/g, ""), url: blob.url, size: bytes.length },
        capture: { officerId: "PC1", deviceId: "BWV-1", recordedAt: "2026-11-26T07:00:00Z" },
        acceptance: { status: "accepted" },
        uploadedAt: new Date().toISOString(),
        sourceEventId: `evt-${counter}`,
      };
    },
    generate(name, args) {
      const out = path.join(work, name);
      execFileSync(media.binaries.ffmpeg.path, ["-v", "error", "-y", ...args, out], { stdio: ["ignore", "ignore", "pipe"] });
      return out;
    },
    async download(blobPath) {
      return derived.getBlobClient(blobPath).downloadToBuffer();
    },
    ffprobe(file) {
      const json = execFileSync(media.binaries.ffprobe.path, ["-v", "error", "-show_streams", "-show_format", "-of", "json", file], { env: { GCONV_PATH: "/dev/null/none" } }).toString();
      return JSON.parse(json) as { streams: Array<Record<string, unknown>>; format: Record<string, unknown> };
    },
    async stop() {
      await azurite.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

export function stageContext(actor: string, attempt = 1): StageContext {
  return {
    actor,
    attempt,
    maxAttempts: 5,
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger,
  };
}

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
