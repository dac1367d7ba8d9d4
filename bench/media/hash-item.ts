/**
 * Item 2: the hash stage (`hashOriginal` through AzureBlobStore, whole + segment digests) vs. a
 * plain BlobClient.download() drained without hashing and a plain SHA-256 of the same bytes
 * from the local file: ratio = stage ÷ the slower of the two.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import type { EvidenceReceivedMessage } from "../../shared/contracts/messages";
import { hashOriginal } from "../../shared/stages/hash-stage";
import { MiB } from "../support/sizes";
import { median, timed } from "../support/statistics";
import { drain, sha256Of } from "../support/streams";
import { benchContext } from "./stage-inputs";

export interface HashFigures {
  label: string;
  bytes: number;
  rounds: number;
  stageSeconds: number;
  downloadSeconds: number;
  sha256Seconds: number;
  downloadThenSha256Seconds: number;
  /** stage ÷ max(download, sha256). */
  ratio: number;
  /**
   * The bare tools overlapped (download → SHA-256 in one pipe) ÷ max(download, sha256): what
   * this machine allows at best for ONE digest; above 1 when download and hashing compete for
   * the same cores (on a 2-core machine Azurite is on them too).
   */
  barePipeRatio: number;
  /** stage ÷ the bare overlapped pipe: the stage's own cost, which includes its second (segment) digest. */
  stageOverBarePipe: number;
  /** Process CPU seconds (all threads) of the stage's median round and of the bare pipe's. */
  stageCpuSeconds: number;
  barePipeCpuSeconds: number;
}

export async function hashComparison(
  label: string,
  file: string,
  bytes: number,
  input: EvidenceReceivedMessage,
  container: ContainerClient,
  blobs: Parameters<typeof hashOriginal>[1]["blobs"],
  rounds: number,
): Promise<HashFigures> {
  const reference = await sha256Of(createReadStream(file, { highWaterMark: MiB }));
  const stage: number[] = [];
  const download: number[] = [];
  const sha: number[] = [];
  const serial: number[] = [];
  const stageCpu: number[] = [];
  const serialCpu: number[] = [];
  const cpuOf = async (into: number[], work: () => Promise<void>): Promise<void> => {
    const before = process.cpuUsage();
    await work();
    const used = process.cpuUsage(before);
    into.push((used.user + used.system) / 1e6);
  };
  for (let round = 0; round < rounds; round++) {
    stage.push(
      await timed(() =>
        cpuOf(stageCpu, async () => {
          const result = await hashOriginal(input, { blobs }, benchContext(), {});
          if (result.sha256 !== reference) throw new Error(`hashOriginal gave ${result.sha256}, expected ${reference}`);
        }),
      ),
    );
    download.push(
      await timed(async () => {
        const response = await container.getBlobClient(input.original.name).download();
        const read = await drain(response.readableStreamBody as Readable);
        if (read !== bytes) throw new Error(`download read ${read} bytes, expected ${bytes}`);
      }),
    );
    sha.push(
      await timed(async () => {
        if ((await sha256Of(createReadStream(file, { highWaterMark: MiB }))) !== reference) throw new Error("local SHA-256 differs");
      }),
    );
    serial.push(
      await timed(() =>
        cpuOf(serialCpu, async () => {
          const response = await container.getBlobClient(input.original.name).download();
          if ((await sha256Of(response.readableStreamBody as Readable)) !== reference) throw new Error("download → SHA-256 differs");
        }),
      ),
    );
  }
  const figures = { stageSeconds: median(stage), downloadSeconds: median(download), sha256Seconds: median(sha), downloadThenSha256Seconds: median(serial) };
  const slower = Math.max(figures.downloadSeconds, figures.sha256Seconds);
  return {
    label,
    bytes,
    rounds,
    ...figures,
    ratio: figures.stageSeconds / slower,
    barePipeRatio: figures.downloadThenSha256Seconds / slower,
    stageOverBarePipe: figures.stageSeconds / figures.downloadThenSha256Seconds,
    stageCpuSeconds: median(stageCpu),
    barePipeCpuSeconds: median(serialCpu),
  };
}
