/**
 * `custody start`, then `upload`, `list` and `status` from other processes against it, and
 * a clean stop on SIGINT; a taken port fails the start at once with the port named.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { waitFor } from "../support/polling";
import { CUSTODY_BIN as BIN, runCli } from "./run-cli";

test("start serves upload, list and status from other processes, and stops cleanly on SIGINT", async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), "custody-start-"));
  const dataDir = path.join(work, "data");
  const stack: ChildProcess = spawn(process.execPath, [BIN, "start", "--data-dir", dataDir, "--blob-port", "0", "--cosmos-port", "0", "--servicebus-port", "0", "--json", "--quiet"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  stack.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => stack.on("exit", (code) => resolve(code)));
  try {
    const ready = await waitFor(
      "the stack's ready line",
      async () => {
        const line = stdout.split("\n").find((l) => l.includes('"ready":true'));
        return line ? (JSON.parse(line) as { settings: Record<string, string> }) : undefined;
      },
      30_000,
    );
    expect(Object.keys(ready.settings)).toEqual(expect.arrayContaining(["ServiceBusConnection", "EvidenceStorage", "EvidenceIndex"]));

    // A real clip: the embedded stack requires transcode and thumbnail too for `ready`.
    const file = path.join(work, "clip.mp4");
    writeFileSync(file, readFileSync(path.join(__dirname, "..", "..", "fixtures", "media", "exo_fragmented_fmp4.mp4")));
    const upload = await runCli(["upload", file, "--officer", "PC77", "--device", "BWV-77", "--recorded-at", "2026-11-26T05:00:00Z", "--data-dir", dataDir, "--json"]);
    expect(upload.code).toBe(0);
    const [uploaded] = JSON.parse(upload.stdout) as Array<{ evidenceId: string; sha256: string }>;
    expect(uploaded.sha256).toBe(createHash("sha256").update(readFileSync(file)).digest("hex"));

    const record = await waitFor(
      "the recording to be ready",
      async () => {
        const status = await runCli(["status", uploaded.evidenceId, "--data-dir", dataDir, "--json"]);
        if (status.code !== 0) return undefined;
        const parsed = JSON.parse(status.stdout) as { status: string; hash?: { sha256: string } };
        return parsed.status === "ready" ? parsed : undefined;
      },
      30_000,
    );
    expect(record.hash?.sha256).toBe(uploaded.sha256);

    const list = await runCli(["list", "--officer", "PC77", "--status", "ready", "--data-dir", dataDir, "--json"]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ evidenceId: string }>).map((r) => r.evidenceId)).toEqual([uploaded.evidenceId]);

    const missing = await runCli(["status", "ev-00000000000000000000000000000000", "--data-dir", dataDir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no recording/);
  } finally {
    stack.kill("SIGINT");
  }
  expect(await exited).toBe(0);
  // Azurite's debug log (every request, SAS signatures included) is not written by default.
  const files = readdirSync(dataDir, { recursive: true, encoding: "utf8" }).filter((f) => statSync(path.join(dataDir, f)).isFile());
  expect(files.filter((f) => /debug/i.test(f))).toEqual([]);
}, 90_000);

test("start --verbose writes Azurite's debug log to one named file", async () => {
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-start-verbose-")), "data");
  const stack: ChildProcess = spawn(process.execPath, [BIN, "start", "--data-dir", dataDir, "--blob-port", "0", "--cosmos-port", "0", "--servicebus-port", "0", "--json", "--quiet", "--verbose"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  stack.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => stack.on("exit", (code) => resolve(code)));
  let ready: { azuriteDebugLog?: string };
  try {
    ready = await waitFor(
      "the stack's ready line",
      async () => {
        const line = stdout.split("\n").find((l) => l.includes('"ready":true'));
        return line ? (JSON.parse(line) as { azuriteDebugLog?: string }) : undefined;
      },
      30_000,
    );
  } finally {
    stack.kill("SIGINT");
  }
  expect(await exited).toBe(0);
  expect(ready.azuriteDebugLog).toBe(path.join(dataDir, "azurite-debug.log"));
  expect(existsSync(ready.azuriteDebugLog!)).toBe(true);
}, 60_000);

test("a taken port stops start at once, naming the port", async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const work = mkdtempSync(path.join(os.tmpdir(), "custody-start-taken-"));
    const result = await runCli(["start", "--data-dir", work, "--blob-port", "0", "--cosmos-port", "0", "--servicebus-port", String(port), "--quiet"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Port ${port}`);
  } finally {
    blocker.close();
  }
}, 30_000);
