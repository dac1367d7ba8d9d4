/**
 * Pipeline latency: time from a dock's upload completing to the recording's evidence-ready
 * event being confirmed, for small files, on the embedded stack (Azurite, Cosmos stand-in,
 * Service Bus emulator, dev host). The baseline in the same run is the bare cost of the
 * hops the spine makes: one upload of the same bytes to Azurite plus one SDK send→receive
 * round trip through the emulator.
 *
 *   node dist/bench/pipeline.js [--pipeline-files N]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import { uploadRecording } from "../shared/adapters/dock-upload";
import { blobCreatedEvent } from "../shared/contracts/blob-created-cloud-event";
import { ORIGINALS_CONTAINER, startStack } from "../local/stack";
import { deriveEvidenceId } from "../shared/evidence/evidence-id";
import { silentLogger } from "../shared/logging";
import { ENTITIES } from "../shared/topology";
import { percentile } from "./support/statistics";
import { printResults } from "./support/standalone";
import type { BenchResult, BenchSection } from "./types";

export function pipelineBench(options: { files?: number } = {}): BenchSection {
  const files = options.files ?? 20;
  return {
    name: "pipeline",
    async run(): Promise<BenchResult> {
      const work = mkdtempSync(path.join(os.tmpdir(), "custody-bench-pipeline-"));
      const stack = await startStack({ dataDir: path.join(work, "data"), log: silentLogger, blobPollIntervalInMs: 100 });
      const client = new ServiceBusClient(stack.environment.ServiceBusConnection);
      const blobService = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage);
      const container = blobService.getContainerClient(ORIGINALS_CONTAINER);
      const latencies: number[] = [];
      const baselines: number[] = [];
      try {
        const sender = client.createSender(ENTITIES.blobCreated.queueName);
        for (let i = 0; i < files; i++) {
          const file = path.join(work, `clip-${i}.mp4`);
          writeFileSync(file, randomBytes(256 * 1024));
          const uploaded = await uploadRecording(container, file, { officerId: "PC1", deviceId: "BWV-1", recordedAt: "2026-11-26T06:00:00Z" });
          const started = performance.now();
          // Announce it as Event Grid would (the event source's poll would add up to its interval).
          const event = blobCreatedEvent(container, uploaded.blobName, uploaded.etag, { contentLength: uploaded.size });
          await sender.sendMessages({ body: event, messageId: event.id });
          const evidenceId = deriveEvidenceId({ account: blobService.accountName, container: ORIGINALS_CONTAINER, name: uploaded.blobName, etag: uploaded.etag });
          for (;;) {
            const record = (await stack.services!.index.read(evidenceId))?.record;
            if (record?.finalEvent?.publishedAt) break;
            await new Promise((resolve) => setImmediate(resolve));
          }
          latencies.push(performance.now() - started);
        }
        await sender.close();
        // Baseline: the same bytes uploaded once plus one message round trip, no stage logic.
        // The evidence-ready topic's all-events subscription has no consumer in the dev host; drain it first.
        const probe = client.createSender(ENTITIES.evidenceReadyTopic);
        const receiver = client.createReceiver(ENTITIES.evidenceReadyTopic, "all-events", { receiveMode: "receiveAndDelete" });
        while ((await receiver.receiveMessages(100, { maxWaitTimeInMs: 300 })).length > 0);
        for (let i = 0; i < files; i++) {
          const started = performance.now();
          await container.getBlockBlobClient(`baseline/${i}`).uploadData(randomBytes(256 * 1024));
          await probe.sendMessages({ body: { i }, subject: "bench-baseline", messageId: `baseline-${i}-${Date.now()}` });
          await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
          baselines.push(performance.now() - started);
        }
        await probe.close();
        await receiver.close();
      } finally {
        await client.close();
        await stack.stop();
      }
      const median = percentile(latencies, 50);
      const p95 = percentile(latencies, 95);
      const baseline = percentile(baselines, 50);
      return {
        name: "pipeline",
        tables: [
          {
            title: `Upload → evidence-ready, ${files} × 256 KiB, embedded stack (ms)`,
            columns: ["run", "median", "p95", "max", "÷ bare hops (median)"],
            rows: [
              ["ingest → hash → index → evidence-ready", median, p95, Math.max(...latencies), median / baseline],
              ["bare: one Azurite upload + one message round trip", baseline, percentile(baselines, 95), Math.max(...baselines), 1],
            ],
          },
        ],
        notes: [
          "measured from the BlobCreated event's send (Event Grid's delivery) to the confirmed publish of evidence-ready on the record",
          "the spine makes 5 message hops (blob-created, evidence-received ×2 subscriptions, stage-results, evidence-ready) and 4–6 Cosmos writes",
        ],
        data: { files, latenciesMs: latencies, medianMs: median, p95Ms: p95, baselineMedianMs: baseline },
      };
    },
  };
}

if (require.main === module) {
  const flag = process.argv.indexOf("--pipeline-files");
  const files = flag >= 0 ? Number(process.argv[flag + 1]) : undefined;
  pipelineBench({ files })
    .run()
    .then((result) => printResults([result], process.argv.includes("--json")))
    .catch((error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exitCode = 1;
    });
}
