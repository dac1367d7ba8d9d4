/**
 * Evidence commands: `upload` (as a dock does), `process` (upload and wait for each
 * recording's final state), `status` and `list` (read the index). `--json` everywhere; exit
 * code 0 when every recording is ready, 1 when some recording failed or was rejected, 2 for
 * usage or infrastructure errors.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { readdir, stat, mkdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { Command } from "commander";
import { blobCreatedEvent } from "../../shared/contracts/blob-created-cloud-event";
import { deriveEvidenceId } from "../../shared/evidence/evidence-id";
import { retentionOf } from "../../shared/evidence/retention";
import type { EvidenceRecord, EvidenceStatus, TranscodeRun } from "../../shared/evidence/record";
import { describeSegment } from "../../shared/evidence/segment-run";
import { failedRequiredStage, failedStageError, isWaiting } from "../../shared/evidence/record-merge";
import type { PipelineStage } from "../../shared/contracts/messages";
import { credentialsHold, currentCredentialsRun, isCredentialImage } from "../../shared/evidence/content-credentials-state";
import { ENTITIES } from "../../shared/topology";
import { openDock, type DockUploadResult } from "../../shared/adapters/dock-upload";
import { ORIGINALS_CONTAINER } from "../../shared/ports/blob-store";
import { progressBar } from "../progress";
import { EXIT_FAILED_RECORDING, EXIT_OK, EXIT_USAGE_OR_INFRASTRUCTURE } from "../exit-codes";
import { DEFAULT_DATA_DIR, secondsInMs, targetCommand } from "../options";
import { resolveStackTarget, type StackTarget } from "../stack-target";
import { printResult, writeErrorLine } from "../output";
import { printable, printableJson } from "../../shared/text/printable";
import { digestingTap } from "../../shared/streams/digesting-tap";

interface CommonOptions {
  dataDir: string;
  json?: boolean;
}

interface UploadOptions extends CommonOptions {
  officer: string;
  device: string;
  recordedAt?: string;
  unit?: string;
}

interface ProcessOptions extends UploadOptions {
  out?: string;
  timeout: string;
  verbose?: boolean;
}

export interface ProcessResult {
  file: string;
  evidenceId?: string;
  status: EvidenceStatus | "timeout" | "error";
  sha256?: string;
  reason?: string;
  stages?: EvidenceRecord["stages"];
  integrityFindings?: EvidenceRecord["integrityFindings"];
}

export function registerEvidenceCommands(program: Command): void {
  targetCommand(program, "upload <files...>", "Upload recordings as a docking station does (parallel blocks, device SHA-256 as metadata).", "print results as JSON")
    .requiredOption("--officer <id>", "officer id")
    .requiredOption("--device <id>", "device id")
    .option("--recorded-at <iso>", "capture time (ISO 8601 with offset); default: the file's modification time")
    .option("--unit <id>", "unit or borough the recordings belong to (metadata `unit`, optional)")
    .action(async (files: string[], options: UploadOptions) => {
      const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
      try {
        const results: Array<{ file: string; blobName: string; sha256: string; size: number; evidenceId: string }> = [];
        const dock = openDock(target.settings.storage, ORIGINALS_CONTAINER);
        for (const file of await expandFiles(files)) {
          const uploaded = await uploadWithProgress(dock, file, options);
          results.push({ file, blobName: uploaded.blobName, sha256: uploaded.sha256, size: uploaded.size, evidenceId: evidenceIdOf(target, uploaded) });
        }
        printResult(options.json, results, () => results.map((r) => `${printable(r.file)} → ${ORIGINALS_CONTAINER}/${printable(r.blobName)} (${r.evidenceId}) sha256 ${r.sha256}`).join("\n"));
      } finally {
        await target.close();
      }
      process.exitCode = EXIT_OK;
    });

  program
    .command("process <paths...>")
    .description("Upload files (or every file in folders) and wait for each recording's final state.")
    .option("--officer <id>", "officer id for the recordings", "CLI")
    .option("--device <id>", "device id for the recordings", "custody-process")
    .option("--recorded-at <iso>", "capture time; default: each file's modification time")
    .option("--unit <id>", "unit or borough the recordings belong to (metadata `unit`, optional)")
    .option("--out <dir>", "write each recording's index record under DIR/<evidenceId>/")
    .option("--timeout <seconds>", "give up on the recordings not final after this long without progress (no record changed)", "300")
    .option("--data-dir <dir>", "data folder (an embedded stack starts there if none is running)", DEFAULT_DATA_DIR)
    .option("--json", "print a JSON array of results")
    .option("--verbose", "log the embedded stack's work")
    .action(async (paths: string[], options: ProcessOptions) => {
      const timeoutInMs = secondsInMs(options.timeout, "--timeout");
      const files = await expandFiles(paths);
      const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: true, verbose: options.verbose });
      let results: ProcessResult[];
      try {
        results = await processFiles(target, files, options, timeoutInMs);
        if (options.out) await writeRecords(target, results, options.out);
      } finally {
        await target.close();
      }
      printResult(options.json, results, () => results.map(describeResult).join("\n"));
      process.exitCode = results.every((r) => r.status === "ready")
        ? EXIT_OK
        : results.some((r) => r.status === "timeout" || r.status === "error")
          ? EXIT_USAGE_OR_INFRASTRUCTURE
          : EXIT_FAILED_RECORDING;
    });

  targetCommand(program, "status <evidenceId>", "Show one recording's index record.", "print the record as JSON").action(async (evidenceId: string, options: CommonOptions) => {
    const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
    try {
      const stored = await target.services.index.read(evidenceId);
      if (!stored) {
        writeErrorLine(`custody: no recording ${printable(evidenceId)}`);
        process.exitCode = EXIT_USAGE_OR_INFRASTRUCTURE;
        return;
      }
      printResult(options.json, stored.record, () => describeRecord(stored.record));
      process.exitCode = stored.record.status === "ready" || stored.record.status === "received" || stored.record.status === "waiting" ? EXIT_OK : EXIT_FAILED_RECORDING;
    } finally {
      await target.close();
    }
  });

  targetCommand(program, "list", "List recordings, newest first.", "print a JSON array")
    .option("--status <status>", "received | waiting | ready | failed | rejected (waiting: a stage's retry is scheduled after a transient failure)")
    .option("--officer <id>", "only this officer's recordings")
    .option("--since <iso>", "only recordings indexed at or after this time")
    .action(async (options: CommonOptions & { status?: string; officer?: string; since?: string }) => {
      if (options.status && !["received", "waiting", "ready", "failed", "rejected"].includes(options.status)) {
        throw new Error(`--status must be received, waiting, ready, failed or rejected, not '${options.status}'.`);
      }
      if (options.since && Number.isNaN(Date.parse(options.since))) throw new Error(`--since must be an ISO 8601 time, not '${options.since}'.`);
      const target = await resolveStackTarget({ dataDir: options.dataDir, allowEmbedded: false });
      try {
        const records: EvidenceRecord[] = [];
        for await (const record of target.services.index.list({
          status: options.status as EvidenceStatus | undefined,
          officerId: options.officer,
          since: options.since ? new Date(options.since).toISOString() : undefined,
        })) {
          records.push(record);
        }
        printResult(options.json, records.map(summary), () =>
          records.length === 0
            ? emptyList(options)
            : records
                .map((r) => `${r.evidenceId}  ${r.status.padEnd(8)}  ${printable(r.capture?.officerId ?? "-")}  ${printable(r.original?.container ?? "?")}/${printable(r.original?.name ?? "?")}`)
                .join("\n"),
        );
      } finally {
        await target.close();
      }
      process.exitCode = EXIT_OK;
    });
}

async function processFiles(target: StackTarget, files: string[], options: ProcessOptions, timeoutInMs: number): Promise<ProcessResult[]> {
  const results: ProcessResult[] = [];
  const catalog = target.services.blobs;
  const container = { accountName: catalog.accountName, containerName: ORIGINALS_CONTAINER, getBlobClient: (name: string) => ({ url: catalog.blobUrl(ORIGINALS_CONTAINER, name) }) };
  const dock = openDock(target.settings.storage, ORIGINALS_CONTAINER);
  // Each run gets its own folder so two files with the same name never overwrite each other.
  const runId = new Date().toISOString().replace(/[:.]/g, "-") + "-" + randomUUID().slice(0, 8);
  const pending: Array<{ file: string; evidenceId: string; upload: DockUploadResult }> = [];
  // Files from different folders may share a name (cameras number their files per device):
  // a repeated name goes one folder deeper, so no upload of this run overwrites another's original.
  const usedNames = new Set<string>();
  for (const file of files) {
    try {
      let blobName = `${options.officer}/${options.device}/${runId}/${path.basename(file)}`;
      for (let n = 2; usedNames.has(blobName); n++) blobName = `${options.officer}/${options.device}/${runId}/${n}/${path.basename(file)}`;
      usedNames.add(blobName);
      const upload = await uploadWithProgress(dock, file, { ...options, blobName });
      const evidenceId = evidenceIdOf(target, upload);
      // Announce it at once, as Event Grid would; the blob-event source's own announcement of
      // the same version carries the same message id and is dropped as a duplicate.
      const event = blobCreatedEvent(container, upload.blobName, upload.etag, { contentLength: upload.size, versionId: upload.versionId, lastModified: upload.lastModified });
      await target.services.publisher.publish(ENTITIES.blobCreated.queueName, {
        messageId: event.id,
        body: event,
        subject: event.type,
        correlationId: evidenceId,
      });
      pending.push({ file, evidenceId, upload });
    } catch (error) {
      results.push({ file, status: "error", reason: (error as Error).message });
    }
  }
  const bar = progressBar(!options.json, "waiting for final states [{bar}] {value}/{total}", pending.length);
  const progress = { lastAt: Date.now() };
  const finals = await Promise.all(
    pending.map(async (item) => {
      const record = await waitForFinal(target, item.evidenceId, timeoutInMs, progress);
      bar.increment();
      return { item, record };
    }),
  );
  bar.stop();
  for (const { item, record } of finals) {
    if (!record) {
      results.push({
        file: item.file,
        evidenceId: item.evidenceId,
        status: "timeout",
        sha256: undefined,
        reason: `no final state: no recording of this run made progress for ${timeoutInMs / 1000} s`,
      });
      continue;
    }
    results.push({
      file: item.file,
      evidenceId: item.evidenceId,
      status: record.status,
      sha256: record.hash?.sha256,
      reason: reasonOf(record),
      stages: record.stages,
      integrityFindings: record.integrityFindings,
    });
  }
  return files.map((file) => results.find((r) => r.file === file)!).filter(Boolean);
}

/**
 * Waits for the recording's final state while the run makes progress: a long recording takes as
 * long as it takes (hundreds of segments), so the limit is a time without any record of the run
 * changing (`progress`, shared by the recordings of one run), not a duration guess.
 */
async function waitForFinal(target: StackTarget, evidenceId: string, timeoutInMs: number, progress: { lastAt: number }): Promise<EvidenceRecord | undefined> {
  let seen: string | undefined;
  while (Date.now() < progress.lastAt + timeoutInMs) {
    const stored = await target.services.index.read(evidenceId);
    const record = stored?.record;
    if (record !== undefined && record.updatedAt !== seen) {
      progress.lastAt = Date.now();
      seen = record.updatedAt;
    }
    if (record && (record.status === "ready" || record.status === "failed" || record.status === "rejected") && record.finalEvent?.publishedAt) return record;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return undefined;
}

function reasonOf(record: EvidenceRecord): string | undefined {
  if (record.status === "rejected") return record.rejection?.reasons.map((r) => `${r.code}: ${r.message}`).join("; ");
  if (record.status === "failed") {
    const stage = failedRequiredStage(record) ?? (Object.entries(record.stages).find(([, state]) => state?.status === "failed")?.[0] as PipelineStage | undefined);
    const error = stage === undefined ? undefined : failedStageError(record, stage);
    return stage ? `${stage} failed: ${error?.code ?? ""} ${error?.message ?? ""}`.trim() : "failed";
  }
  return undefined;
}

type Dock = ReturnType<typeof openDock>;

async function uploadWithProgress(dock: Dock, file: string, options: UploadOptions & { blobName?: string; json?: boolean }): Promise<DockUploadResult> {
  const size = (await stat(file)).size;
  const bar = progressBar(!options.json && size > 8 * 1024 * 1024, `${path.basename(file)} [{bar}] {percentage}%`, size);
  try {
    return await dock(file, {
      officerId: options.officer,
      deviceId: options.device,
      recordedAt: options.recordedAt,
      unit: options.unit,
      blobName: options.blobName,
      onProgress: (loaded) => bar.update(loaded),
    });
  } finally {
    bar.stop();
  }
}

function evidenceIdOf(target: StackTarget, upload: DockUploadResult): string {
  return deriveEvidenceId({ account: target.services.blobs.accountName, container: ORIGINALS_CONTAINER, name: upload.blobName, versionId: upload.versionId, etag: upload.etag });
}

/** Files named directly, and every regular file under named folders (sorted, recursively). */
export async function expandFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of paths) {
    const info = await stat(given).catch(() => undefined);
    if (!info) throw new Error(`No such file or folder: ${given}`);
    if (info.isDirectory()) {
      const entries = await readdir(given, { withFileTypes: true });
      const nested = entries.sort((a, b) => a.name.localeCompare(b.name)).map((entry) => path.join(given, entry.name));
      files.push(...(await expandFiles(nested)));
    } else if (info.isFile()) {
      files.push(given);
    }
  }
  return files;
}

async function writeRecords(target: StackTarget, results: ProcessResult[], outDir: string): Promise<void> {
  for (const result of results) {
    if (!result.evidenceId) continue;
    const stored = await target.services.index.read(result.evidenceId);
    if (!stored) continue;
    const dir = path.join(outDir, result.evidenceId);
    await mkdir(dir, { recursive: true });
    // Escaped as the CLI prints JSON: bidi and other invisible characters in names cannot mislead whoever opens the file.
    await writeFile(path.join(dir, "record.json"), `${printableJson(stored.record, 2)}\n`);
    await writeRenditions(target, stored.record, dir);
  }
}

/**
 * The renditions beside record.json, laid out as in the `derived` container:
 * `<evidenceId>/transcode/proxy.mp4`, `<evidenceId>/thumbnail/poster.jpg`, … Each download is
 * checked against the SHA-256 on the record; a difference is reported on stderr.
 */
async function writeRenditions(target: StackTarget, record: EvidenceRecord, dir: string): Promise<void> {
  for (const [stage, state] of Object.entries(record.stages)) {
    for (const rendition of state?.renditions ?? []) {
      const folder = path.join(dir, stage);
      await mkdir(folder, { recursive: true });
      const file = path.join(folder, path.basename(rendition.name));
      const digest = digestingTap();
      const body = await target.services.blobs.openRead({ container: rendition.container, name: rendition.path });
      await pipeline(body, digest.tap, createWriteStream(file));
      const sha256 = digest.sha256();
      if (sha256 !== rendition.sha256) {
        writeErrorLine(`custody: ${record.evidenceId} ${stage}/${rendition.name}: downloaded SHA-256 ${sha256} differs from the record's ${rendition.sha256} (rewritten by a later run?)`);
      }
    }
  }
}

/** What an empty `custody list` says: which filter found nothing, and where recordings come from. */
function emptyList(options: { status?: string; officer?: string; since?: string }): string {
  const filters = [options.status ? `status ${options.status}` : "", options.officer ? `officer ${printable(options.officer)}` : "", options.since ? `since ${printable(options.since)}` : ""].filter(
    Boolean,
  );
  if (filters.length > 0) return `No recordings with ${filters.join(", ")} (\`custody list\` without filters shows all).`;
  return "No recordings in the index. Upload with `custody process FILE…`; originals stored without an index record are found by `custody reconcile --dry-run`.";
}

function summary(record: EvidenceRecord): Record<string, unknown> {
  return {
    evidenceId: record.evidenceId,
    status: record.status,
    officerId: record.capture?.officerId,
    deviceId: record.capture?.deviceId,
    recordedAt: record.capture?.recordedAt,
    original: record.original ? `${record.original.container}/${record.original.name}` : undefined,
    sha256: record.hash?.sha256,
    createdAt: record.createdAt,
  };
}

function describeResult(result: ProcessResult): string {
  const head = `${result.status.toUpperCase().padEnd(8)} ${printable(result.file)}`;
  const details = [result.evidenceId, result.sha256 ? `sha256 ${result.sha256}` : undefined, result.reason === undefined ? undefined : printable(result.reason)].filter(Boolean).join("  ");
  return details ? `${head}\n         ${details}` : head;
}

export function describeRecord(record: EvidenceRecord): string {
  const lines = [
    `${record.evidenceId}  ${record.status}`,
    `  original   ${record.original ? `${printable(record.original.container)}/${printable(record.original.name)} (${record.original.size} bytes)` : "(not yet received)"}`,
    `  capture    officer ${printable(record.capture?.officerId ?? "-")}, device ${printable(record.capture?.deviceId ?? "-")}, recorded ${printable(record.capture?.recordedAt ?? "-")}`,
    `  sha256     ${record.hash?.sha256 ?? "-"}`,
  ];
  for (const [stage, state] of Object.entries(record.stages)) {
    const shown = isWaiting(state) ? "waiting" : state?.status;
    // An error is current only while the stage has not succeeded (or been skipped) since: after a
    // redrive or a retry that worked it is history, shown as such with when it happened.
    const settled = state?.status === "succeeded" || state?.status === "skipped";
    const error = state?.lastError;
    lines.push(`  ${stage.padEnd(10)} ${shown} (attempts ${state?.attempts ?? 0})${error && !settled ? ` last error ${error.code}: ${printable(error.message)}` : ""}`);
    if (error && settled) lines.push(`             earlier failure (attempt ${error.attempt}, ${error.at}, before this outcome): ${error.code}: ${printable(error.message)}`);
    if (isWaiting(state) && state?.retry) {
      lines.push(`             retry ${state.retry.round + 1} due ${state.retry.nextAttemptAt} (failing since ${state.retry.firstFailedAt})`);
    }
    const primary = state?.renditions?.[0];
    if (primary)
      lines.push(`             ${printable(primary.name)} sha256 ${primary.sha256}${state?.provenance ? ` (${printable(state.provenance.tools.ffmpeg.split(" ").slice(0, 3).join(" "))})` : ""}`);
    // Runs a reprocess (or a redelivery) replaced: the digests handed out before stay visible.
    for (const run of state?.superseded ?? []) {
      lines.push(
        `             replaced: ${printable(run.renditions[0]?.name ?? "-")} sha256 ${run.renditions[0]?.sha256 ?? "-"} (finished ${run.finishedAt}${run.reprocessId ? `, reprocess ${run.reprocessId}` : ""})`,
      );
    }
  }
  for (const run of record.transcodeRuns ?? []) lines.push(...describeTranscodeRun(run));
  lines.push(...describeCredentials(record));
  const retention = retentionOf(record);
  if (record.disposal !== undefined) {
    const d = record.disposal;
    lines.push(
      `  DISPOSED   ${d.state === "disposed" ? `at ${d.deletedAt ?? "?"}` : "deleting (the next disposal run finishes it)"}: decided ${d.decidedAt} by ${printable(d.decidedBy)} (${printable(d.reason)}); fingerprint ${d.sha256 ?? "none"}`,
    );
  }
  lines.push(
    `  retention  ${retention.category}, kept until ${retention.retainUntil} then ${retention.disposal === "automatic" ? "disposed of unless held" : "reviewed"}${retention.holds.length > 0 ? `; HELD for ${retention.holds.map((h) => printable(h.caseReference)).join(", ")}` : ""}`,
  );
  for (const finding of record.integrityFindings) lines.push(`  FINDING    ${finding.code}: ${printable(finding.message)}`);
  if (record.rejection) for (const reason of record.rejection.reasons) lines.push(`  REJECTED   ${reason.code}: ${printable(reason.message)}`);
  return lines.join("\n");
}

/** Content Credentials on the images of the thumbnail stage's current result: signed, owed, waiting for a retry, or failed (with why). */
function describeCredentials(record: EvidenceRecord): string[] {
  const run = currentCredentialsRun(record);
  if (run === undefined)
    return record.contentCredentials?.required === true && credentialsHold(record) === "pending" ? ["  c2pa       owed (ordered once the fingerprint and the images are both in)"] : [];
  const images = run.sources.filter((s) => isCredentialImage(s.kind)).length;
  const error = run.lastError === undefined ? "" : ` ${run.lastError.code}: ${printable(run.lastError.message)}`;
  switch (run.status) {
    case "succeeded":
      return [`  c2pa       ${images} images signed (key ${printable(run.keyId ?? "?")}) in ${printable(run.folder)}`];
    case "failed":
      return [`  c2pa       FAILED (attempts ${run.attempts}):${error}`];
    case "pending":
      return [
        run.retry === undefined
          ? `  c2pa       ${images} images to sign (order ${run.order.publishedAt === undefined ? "owed" : "sent"})`
          : `  c2pa       waiting: retry ${run.retry.round + 1} due ${run.retry.nextAttemptAt} (failing since ${run.retry.firstFailedAt};${error})`,
      ];
  }
}

/** A segment-parallel transcode run: progress, and what an operator must look at (segments waiting or failed, the join). */
function describeTranscodeRun(run: TranscodeRun): string[] {
  const count = run.segments.length;
  const done = run.segments.filter((s) => s.status === "succeeded").length;
  const join = run.join === undefined ? "" : run.join.publishedAt === undefined ? "; join owed" : `; join requested (round ${run.join.round})`;
  const lines = [`  segments   ${done}/${count} encoded (plan ${run.planId.slice(0, 12)}${run.reprocess ? `, reprocess ${printable(run.reprocess.id)}` : ""}, round ${run.round})${join}`];
  for (const segment of run.segments) {
    const range = run.plan.segments[segment.index];
    if (segment.status === "failed") lines.push(`             FAILED ${describeSegment(range, count)}: ${segment.lastError?.code ?? "Unknown"}: ${printable(segment.lastError?.message ?? "")}`);
    else if (segment.status === "pending" && segment.retry)
      lines.push(
        `             waiting ${describeSegment(range, count)}: retry ${segment.retry.round + 1} due ${segment.retry.nextAttemptAt} (${segment.lastError?.code ?? "?"}: ${printable(segment.lastError?.message ?? "")})`,
      );
  }
  return lines;
}
