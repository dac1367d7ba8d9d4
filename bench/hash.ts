/**
 * Hash-stage throughput and memory, through the real AzureBlobStore against Azurite, with the
 * same work done by bare tools in the same run so the figures can be read across machines.
 *
 *   npm run build && node dist/bench/hash.js                      # 2 GiB, 3 rounds
 *   node dist/bench/hash.js --hash-bytes 512M --hash-rounds 1 --json
 *   CUSTODY_BENCH_HASH_BYTES=512M npm run bench                   # as a section of the full bench
 *
 * (`npm run bench` parses its flags strictly in bench/args.ts, which has no --hash-bytes yet:
 * inside the full bench the size comes from CUSTODY_BENCH_HASH_BYTES.)
 *
 * Phases:
 *   generate  a file of N pseudo-random bytes, streamed to disk 1 MiB at a time (never held in
 *             memory), its SHA-256 computed on the way as the reference answer.
 *   upload    the file to Azurite (`uploadFile`, 8 MiB blocks).
 *   rounds    each of these, `--hash-rounds` times (tables show the median):
 *     openssl        `openssl dgst -sha256 <file>` (if openssl is on PATH) — the floor for SHA-256 on this CPU.
 *     node local     fs.createReadStream → crypto sha256 — the same, through Node streams.
 *     node local+seg fs.createReadStream → the stage's digester (whole + 4 MiB segments).
 *     sdk drain      BlobClient.download() drained without hashing — what the storage path alone costs.
 *     sdk download   BlobClient.download() → crypto sha256 — the floor for "read it from storage and hash it".
 *     hashOriginal   the stage, through AzureBlobStore (resumable, ETag-conditioned stream, segments).
 * Every run's digest is checked against the reference. Peak RSS is sampled every 50 ms during
 * each run (process.memoryUsage().rss) and reported as max minus the value just before the
 * run; the requirement is constant memory whatever the size, so the delta should not grow
 * with --hash-bytes (compare the first and second half of the run).
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite } from "../local/azurite";
import { AzureBlobStore } from "../shared/adapters/azure-blob-store";
import { createBlobServiceClient } from "../shared/adapters/blob-service-client";
import type { EvidenceReceivedMessage } from "../shared/contracts/messages";
import { silentLogger } from "../shared/logging";
import { DEFAULT_SEGMENT_SIZE_IN_BYTES, digestStream, hashOriginal } from "../shared/stages/hash-stage";
import { count, parseFlags } from "./args";
import { collectGarbage, RssSampler } from "./support/memory";
import { GiB, mib, MiB, parseByteSize, toMiB } from "./support/sizes";
import { printResults, runMain } from "./support/standalone";
import { median } from "./support/statistics";
import { drain, sha256Of } from "./support/streams";
import type { BenchResult, BenchSection, BenchTable } from "./types";

const CONTAINER = "originals";
const BLOB_NAME = "bench/hash-bench.mp4";
const SAMPLE_INTERVAL_MS = 50;
const IN_MEMORY_BYTES = 256 * MiB;

export interface HashBenchOptions {
  /** Size of the generated original. */
  bytes: number;
  segmentSizeInBytes: number;
  /** Repetitions of each measured run; tables show the median. */
  rounds: number;
  /** Where the generated file and Azurite's data go (a temp dir, removed afterwards, by default). */
  directory?: string;
  progress?: (line: string) => void;
}

export const DEFAULT_HASH_BENCH_OPTIONS: HashBenchOptions = { bytes: 2 * GiB, segmentSizeInBytes: DEFAULT_SEGMENT_SIZE_IN_BYTES, rounds: 3 };

type RunName = "openssl" | "memorySha256" | "memorySegments" | "nodeLocal" | "nodeLocalSegments" | "sdkDrain" | "sdkDownload" | "hashOriginal";

const RUN_LABELS: Record<RunName, string> = {
  openssl: "openssl dgst -sha256 <file>",
  memorySha256: "node: 256 MiB in memory → crypto sha256",
  memorySegments: "node: 256 MiB in memory → stage digester",
  nodeLocal: "node: file → crypto sha256",
  nodeLocalSegments: "node: file → stage digester (whole + segments)",
  sdkDrain: "SDK download() drained, no hash",
  sdkDownload: "SDK download() → crypto sha256",
  hashOriginal: "hashOriginal via AzureBlobStore",
};

interface RunFigures {
  seconds: number;
  mibPerSecond: number;
  /** Peak RSS during the run minus RSS just before it, MiB. */
  peakRssDeltaMiB: number;
  /** The same peak, over the first and the second half of the run's duration: equal if memory is constant. */
  firstHalfPeakDeltaMiB: number;
  secondHalfPeakDeltaMiB: number;
  baselineRssMiB: number;
  /** This process's CPU time ÷ wall time (user + system, all its threads: the thread pool's hashing too). */
  processCores: number;
  /** Share of the machine's CPU time (all cores, every process — Azurite included) not idle during the run. */
  machineBusyFraction: number;
}

interface RunSummary {
  mibPerSecond: number;
  seconds: number;
  peakRssDeltaMiB: number;
  firstHalfPeakDeltaMiB: number;
  secondHalfPeakDeltaMiB: number;
  processCores: number;
  machineBusyFraction: number;
  rounds: RunFigures[];
}

export function hashBench(options: Partial<HashBenchOptions> = {}): BenchSection {
  const resolved: HashBenchOptions = {
    bytes: options.bytes ?? bytesFromEnvironment() ?? DEFAULT_HASH_BENCH_OPTIONS.bytes,
    segmentSizeInBytes: options.segmentSizeInBytes ?? DEFAULT_HASH_BENCH_OPTIONS.segmentSizeInBytes,
    rounds: options.rounds ?? DEFAULT_HASH_BENCH_OPTIONS.rounds,
    directory: options.directory,
    progress: options.progress ?? ((line) => process.stderr.write(`[hash] ${line}\n`)),
  };
  return { name: "hash", run: () => runHashBench(resolved) };
}

async function runHashBench(options: HashBenchOptions): Promise<BenchResult> {
  const progress = options.progress ?? (() => undefined);
  const directory = options.directory ?? mkdtempSync(path.join(os.tmpdir(), "custody-bench-hash-"));
  const file = path.join(directory, "original.bin");
  const azurite = await startAzurite({ location: path.join(directory, "azurite") });
  try {
    progress(`generate: ${mib(options.bytes)} MiB → ${file}`);
    const generateStart = performance.now();
    const reference = await generateFile(file, options.bytes);
    const generateSeconds = (performance.now() - generateStart) / 1000;

    const service = createBlobServiceClient({ connectionString: azurite.connectionString });
    const container = service.getContainerClient(CONTAINER);
    await container.createIfNotExists();
    progress(`upload: ${mib(options.bytes)} MiB to Azurite`);
    const uploadStart = performance.now();
    const uploaded = await container.getBlockBlobClient(BLOB_NAME).uploadFile(file, { blockSize: 8 * MiB, concurrency: 4 });
    const uploadSeconds = (performance.now() - uploadStart) / 1000;
    const message = evidenceMessage(service, uploaded.etag!, options.bytes);
    const store = new AzureBlobStore(service);
    const hasOpenssl = await opensslAvailable();

    const runs: Record<RunName, RunFigures[]> = { openssl: [], memorySha256: [], memorySegments: [], nodeLocal: [], nodeLocalSegments: [], sdkDrain: [], sdkDownload: [], hashOriginal: [] };
    const check = (run: RunName, sha256: string): void => {
      if (sha256 !== reference) throw new Error(`${RUN_LABELS[run]} produced ${sha256}, expected ${reference}`);
    };
    // The digester alone, with no storage or disk in the way: what its second digest costs when a core is free for it.
    const inMemoryChunk = randomBytes(64 * 1024);
    const inMemoryStream = (): Readable =>
      Readable.from(
        (function* () {
          for (let sent = 0; sent < IN_MEMORY_BYTES; sent += inMemoryChunk.length) yield inMemoryChunk;
        })(),
      );
    const inMemoryReference = await sha256Of(inMemoryStream());
    const checkInMemory = (run: RunName, sha256: string): void => {
      if (sha256 !== inMemoryReference) throw new Error(`${RUN_LABELS[run]} produced ${sha256}, expected ${inMemoryReference}`);
    };
    for (let round = 1; round <= options.rounds; round++) {
      if (hasOpenssl) {
        progress(`round ${round}/${options.rounds}: openssl`);
        runs.openssl.push(await measure(options.bytes, async () => check("openssl", await opensslSha256(file))));
      }
      progress(`round ${round}/${options.rounds}: in memory`);
      runs.memorySha256.push(await measure(IN_MEMORY_BYTES, async () => checkInMemory("memorySha256", await sha256Of(inMemoryStream()))));
      runs.memorySegments.push(
        await measure(IN_MEMORY_BYTES, async () => checkInMemory("memorySegments", (await digestStream(inMemoryStream(), { segmentSizeInBytes: options.segmentSizeInBytes })).sha256)),
      );
      progress(`round ${round}/${options.rounds}: node local file`);
      runs.nodeLocal.push(await measure(options.bytes, async () => check("nodeLocal", await sha256Of(createReadStream(file, { highWaterMark: MiB })))));
      progress(`round ${round}/${options.rounds}: node local file, stage digester`);
      runs.nodeLocalSegments.push(
        await measure(options.bytes, async () =>
          check("nodeLocalSegments", (await digestStream(createReadStream(file, { highWaterMark: MiB }), { segmentSizeInBytes: options.segmentSizeInBytes })).sha256),
        ),
      );
      progress(`round ${round}/${options.rounds}: plain SDK download, drained`);
      runs.sdkDrain.push(
        await measure(options.bytes, async () => {
          const response = await container.getBlobClient(BLOB_NAME).download();
          const received = await drain(response.readableStreamBody as Readable);
          if (received !== options.bytes) throw new Error(`the drained download delivered ${received} bytes, expected ${options.bytes}`);
        }),
      );
      progress(`round ${round}/${options.rounds}: plain SDK download → sha256`);
      runs.sdkDownload.push(
        await measure(options.bytes, async () => {
          const response = await container.getBlobClient(BLOB_NAME).download();
          check("sdkDownload", await sha256Of(response.readableStreamBody as Readable));
        }),
      );
      progress(`round ${round}/${options.rounds}: hashOriginal`);
      runs.hashOriginal.push(
        await measure(options.bytes, async () => {
          const result = await hashOriginal(
            message,
            { blobs: store },
            { actor: "custody/bench", attempt: 1, maxAttempts: 1, traceparent: "00-00000000000000000000000000000001-0000000000000001-01", log: silentLogger },
            { segmentSizeInBytes: options.segmentSizeInBytes },
          );
          check("hashOriginal", result.sha256);
          const segments = Math.ceil(options.bytes / options.segmentSizeInBytes);
          if (result.segmentSha256.length !== segments) throw new Error(`hashOriginal returned ${result.segmentSha256.length} segment digests, expected ${segments}`);
        }),
      );
    }
    return report(options, { reference, generateSeconds, uploadSeconds, hasOpenssl, runs });
  } finally {
    await azurite.stop();
    if (options.directory === undefined) rmSync(directory, { recursive: true, force: true });
  }
}

/** Runs `work` while sampling RSS every 50 ms; throughput from wall time. */
async function measure(bytes: number, work: () => Promise<void>): Promise<RunFigures> {
  // Let garbage from the previous run go first, so the baseline is honest.
  collectGarbage();
  await new Promise((resolve) => setImmediate(resolve));
  const sampler = new RssSampler({ intervalInMs: SAMPLE_INTERVAL_MS, phase: "run" });
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineCpuTimes();
  sampler.start();
  const start = performance.now();
  try {
    await work();
  } finally {
    sampler.stop();
  }
  const end = performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  const machineAfter = machineCpuTimes();
  const { baseline } = sampler;
  const middle = (start + end) / 2;
  const peak = (filter: (at: number) => boolean): number =>
    Math.max(
      baseline,
      sampler.peak((s) => filter(s.at)),
    ) - baseline;
  const seconds = (end - start) / 1000;
  return {
    seconds,
    mibPerSecond: bytes / MiB / seconds,
    peakRssDeltaMiB: toMiB(peak(() => true)),
    firstHalfPeakDeltaMiB: toMiB(peak((at) => at <= middle)),
    secondHalfPeakDeltaMiB: toMiB(peak((at) => at > middle)),
    baselineRssMiB: toMiB(baseline),
    processCores: (cpu.user + cpu.system) / 1000 / (end - start),
    machineBusyFraction: 1 - (machineAfter.idle - machineBefore.idle) / Math.max(1, machineAfter.total - machineBefore.total),
  };
}

/** Summed over all cores, in ms: to tell "waiting for bytes" from "every core busy" (Azurite shares the machine). */
function machineCpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.idle + cpu.times.irq;
  }
  return { idle, total };
}

/**
 * Writes `bytes` of pseudo-random data, 1 MiB at a time with backpressure, and returns its
 * SHA-256. One random MiB is generated once and each written MiB is a copy of it with its
 * index stamped in, so no two MiB are alike (nothing downstream can shortcut repeated data)
 * without paying crypto.randomBytes for gigabytes.
 */
async function generateFile(file: string, bytes: number): Promise<string> {
  const pattern = randomBytes(MiB);
  const hash = createHash("sha256");
  function* chunks(): Generator<Buffer> {
    for (let written = 0, index = 0; written < bytes; index++) {
      const size = Math.min(MiB, bytes - written);
      const chunk = Buffer.allocUnsafe(size);
      pattern.copy(chunk, 0, 0, size);
      chunk.writeUInt32LE(index >>> 0, 0);
      if (size >= 8) chunk.writeUInt32LE(Math.floor(index / 2 ** 32), 4);
      hash.update(chunk);
      written += size;
      yield chunk;
    }
  }
  await pipeline(Readable.from(chunks()), createWriteStream(file));
  return hash.digest("hex");
}

function opensslAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("openssl", ["version"], { stdio: "ignore" });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}

function opensslSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", ["dgst", "-sha256", "-r", file], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      const digest = /^([0-9a-f]{64})/.exec(out.trim());
      if (code === 0 && digest) resolve(digest[1]);
      else reject(new Error(`openssl dgst exited ${code}: ${err.trim() || out.trim()}`));
    });
  });
}

function evidenceMessage(service: BlobServiceClient, etag: string, size: number): EvidenceReceivedMessage {
  return {
    schemaVersion: 1,
    kind: "evidence-received",
    evidenceId: "ev-00000000000000000000000000000001",
    original: { account: service.accountName, container: CONTAINER, name: BLOB_NAME, etag, url: service.getContainerClient(CONTAINER).getBlobClient(BLOB_NAME).url, size, contentType: "video/mp4" },
    acceptance: { status: "accepted" },
    uploadedAt: new Date().toISOString(),
    sourceEventId: "bench",
  };
}

function summarize(rounds: RunFigures[]): RunSummary | undefined {
  if (rounds.length === 0) return undefined;
  return {
    mibPerSecond: median(rounds.map((r) => r.mibPerSecond)),
    seconds: median(rounds.map((r) => r.seconds)),
    // Memory: the worst round, not the median — the requirement is a ceiling.
    peakRssDeltaMiB: Math.max(...rounds.map((r) => r.peakRssDeltaMiB)),
    firstHalfPeakDeltaMiB: Math.max(...rounds.map((r) => r.firstHalfPeakDeltaMiB)),
    secondHalfPeakDeltaMiB: Math.max(...rounds.map((r) => r.secondHalfPeakDeltaMiB)),
    processCores: median(rounds.map((r) => r.processCores)),
    machineBusyFraction: median(rounds.map((r) => r.machineBusyFraction)),
    rounds,
  };
}

function report(options: HashBenchOptions, figures: { reference: string; generateSeconds: number; uploadSeconds: number; hasOpenssl: boolean; runs: Record<RunName, RunFigures[]> }): BenchResult {
  const summaries = Object.fromEntries((Object.keys(figures.runs) as RunName[]).map((run) => [run, summarize(figures.runs[run])])) as Record<RunName, RunSummary | undefined>;
  const stage = summaries.hashOriginal!;
  const ratio = (run: RunName): number | null => (summaries[run] ? stage.mibPerSecond / summaries[run].mibPerSecond : null);
  const size = `${mib(options.bytes).toLocaleString("en-US")} MiB`;
  const throughput: BenchTable = {
    title: `SHA-256 of a ${size} original, median of ${options.rounds} (MiB/s); peak RSS = max over rounds of (peak during run − RSS before it)`,
    columns: ["run", "MiB/s", "seconds", "hashOriginal ÷ this", "our cores", "machine busy", "peak RSS Δ MiB", "1st half Δ", "2nd half Δ"],
    rows: (Object.keys(RUN_LABELS) as RunName[]).map((run) => {
      const s = summaries[run];
      if (!s) return [`${RUN_LABELS[run]} (not available)`, null, null, null, null, null, null, null, null];
      return [
        RUN_LABELS[run],
        s.mibPerSecond,
        s.seconds,
        run === "hashOriginal" ? null : ratio(run),
        s.processCores,
        `${Math.round(s.machineBusyFraction * 100)} %`,
        s.peakRssDeltaMiB,
        s.firstHalfPeakDeltaMiB,
        s.secondHalfPeakDeltaMiB,
      ];
    }),
  };
  return {
    name: "hash",
    tables: [throughput],
    notes: [
      `file: ${size} of pseudo-random bytes, generated in ${figures.generateSeconds.toFixed(1)} s, uploaded to Azurite in ${figures.uploadSeconds.toFixed(1)} s (${(mib(options.bytes) / figures.uploadSeconds).toFixed(0)} MiB/s); every run's SHA-256 equals the reference ${figures.reference.slice(0, 16)}…`,
      `hashOriginal computes two SHA-256s over every byte (whole file + ${mib(options.segmentSizeInBytes)} MiB segments, ${Math.ceil(options.bytes / options.segmentSizeInBytes)} digests) and reads through the resumable, ETag-conditioned AzureBlobStore stream; "SDK download" is one SHA-256 over a plain download().`,
      'Azurite runs as a child process on the same machine (its CPU and memory are not in this process\'s figures, but are in "machine busy"); local-file runs read from the page cache.',
      `"our cores" = this process's CPU time ÷ wall time (the stage's segment digests run on the libuv thread pool, so it can exceed 1); "machine busy" = non-idle share of all ${os.cpus().length} cores. A run with the machine near 100 % is limited by CPU, not by waiting for bytes.`,
      "RSS Δ is sampled every 50 ms with process.memoryUsage().rss; 1st/2nd half split the run's duration — constant memory means the second half does not exceed the first.",
      figures.hasOpenssl ? "openssl: `openssl dgst -sha256 -r <file>` as a child process (its own RSS, not ours)." : "openssl was not found on PATH: no openssl baseline.",
    ],
    data: {
      bytes: options.bytes,
      segmentSizeInBytes: options.segmentSizeInBytes,
      rounds: options.rounds,
      referenceSha256: figures.reference,
      generateSeconds: figures.generateSeconds,
      uploadSeconds: figures.uploadSeconds,
      runs: summaries,
      ratioHashOriginalOver: {
        openssl: ratio("openssl"),
        nodeLocal: ratio("nodeLocal"),
        nodeLocalSegments: ratio("nodeLocalSegments"),
        sdkDrain: ratio("sdkDrain"),
        sdkDownload: ratio("sdkDownload"),
      },
    },
  };
}

function bytesFromEnvironment(): number | undefined {
  const text = process.env.CUSTODY_BENCH_HASH_BYTES;
  return text === undefined || text === "" ? undefined : parseByteSize(text, "CUSTODY_BENCH_HASH_BYTES");
}

async function main(): Promise<void> {
  const values = parseFlags({
    "hash-bytes": { type: "string" },
    "hash-rounds": { type: "string" },
    "hash-segment": { type: "string" },
  });
  const rounds = count(values["hash-rounds"], "--hash-rounds", undefined, 1);
  const result = await hashBench({
    bytes: values["hash-bytes"] === undefined ? undefined : parseByteSize(values["hash-bytes"], "--hash-bytes"),
    segmentSizeInBytes: values["hash-segment"] === undefined ? undefined : parseByteSize(values["hash-segment"], "--hash-segment"),
    rounds,
  }).run();
  printResults([result], values.json ?? false);
}

if (require.main === module) runMain(main);
