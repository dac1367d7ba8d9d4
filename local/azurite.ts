/**
 * Azurite (Blob service only) as a child process, for the embedded stack and tests. Started
 * with `--skipApiVersionCheck` (the current storage SDK sends a newer API version than Azurite
 * knows) and `--disableTelemetry` (otherwise it tries to reach the internet). Data lives on
 * disk in `location`, so it survives restarts.
 *
 * Azurite's debug log is off unless a file is given: it records every request in full — SAS
 * URLs with their signatures included — and grows by gigabytes a day even when idle.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import * as path from "node:path";

/** Azurite's well-known development account (public, documented; not a secret). */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
export const AZURITE_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface StartAzuriteOptions {
  /** Folder for Azurite's data (created if missing). */
  location: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Milliseconds to wait for Azurite to listen. */
  startTimeoutInMs?: number;
  /** Write Azurite's debug log (every request, signatures included) to this file. Default: none. */
  debugLogFile?: string;
}

export interface AzuriteInstance {
  blobServiceUrl: string;
  connectionString: string;
  port: number;
  stop(): Promise<void>;
}

export async function startAzurite(options: StartAzuriteOptions): Promise<AzuriteInstance> {
  await mkdir(options.location, { recursive: true });
  if (options.debugLogFile !== undefined) await mkdir(path.dirname(options.debugLogFile), { recursive: true });
  const host = options.host ?? "127.0.0.1";
  const main = require.resolve("azurite/dist/src/blob/main.js");
  const child = spawn(
    process.execPath,
    [
      main,
      "--blobHost",
      host,
      "--blobPort",
      String(options.port ?? 0),
      "--location",
      options.location,
      ...(options.debugLogFile === undefined ? [] : ["--debug", options.debugLogFile]),
      "--skipApiVersionCheck",
      "--disableTelemetry",
      "--loose",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const port = await waitForPort(child, options.startTimeoutInMs ?? 20_000, `${host}:${options.port ?? 0}`);
  const blobServiceUrl = `http://${host}:${port}/${AZURITE_ACCOUNT_NAME}`;
  return {
    port,
    blobServiceUrl,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobServiceUrl};`,
    stop: () => stopChild(child),
  };
}

function waitForPort(child: ChildProcess, timeoutInMs: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within ${timeoutInMs} ms: ${output.trim()}`)), timeoutInMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      const listening = /successfully listens on https?:\/\/[^:]+:(\d+)/.exec(output);
      if (listening) {
        cleanup();
        resolve(Number(listening[1]));
        return;
      }
      if (/EADDRINUSE|address already in use/i.test(output)) fail(new Error(`Azurite cannot listen on ${address}: the port is already in use (choose another with --blob-port).`));
    };
    const onExit = (code: number | null): void => fail(new Error(`Azurite exited (code ${code}) before listening: ${output.trim()}`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      // Keep draining output so the child never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
    };
    const fail = (error: Error): void => {
      cleanup();
      child.kill("SIGKILL");
      reject(error);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
