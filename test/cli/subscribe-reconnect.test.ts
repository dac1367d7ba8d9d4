/**
 * `custody subscribe` outlives a broker restart: the Service Bus emulator (standing in for the
 * namespace) is stopped for longer than the SDK's own retries last, then started again on the same
 * port, and the running subscriber reconnects and goes on receiving — it says so on stderr, and
 * does not exit.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { startServiceBusEmulator, type ServiceBusEmulator } from "../../local/servicebus-emulator";
import { ENTITIES } from "../../shared/topology";
import { waitFor } from "../support/polling";
import { CUSTODY_BIN } from "./run-cli";

const TOPIC = ENTITIES.evidenceReadyTopic;
let emulator: ServiceBusEmulator | undefined;

afterAll(async () => {
  await emulator?.close();
});

/** Sends a message the subscriber cannot take for an event: it dead-letters it and says so, which shows it received it. */
async function sendNonEvent(connectionString: string, messageId: string): Promise<void> {
  const client = new ServiceBusClient(connectionString);
  try {
    await client.createSender(TOPIC).sendMessages({ messageId, body: { hello: "world" }, contentType: "application/json" });
  } finally {
    await client.close();
  }
}

test("custody subscribe reconnects when the broker restarts, instead of exiting", async () => {
  emulator = await startServiceBusEmulator();
  const { port, connectionString } = emulator;
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-subscribe-")), "no-stack");
  const child = spawn(process.execPath, [CUSTODY_BIN, "subscribe", "all-events", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ServiceBusConnection: connectionString },
  });
  let stderr = "";
  let exitCode: number | null | undefined;
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) =>
    child.on("exit", (code) => {
      exitCode = code;
      resolve();
    }),
  );
  const waitForStderr = (pattern: RegExp, timeoutInMs = 60_000): Promise<true> =>
    waitFor(
      `${pattern} on stderr (so far: ${stderr})`,
      () => {
        if (exitCode !== undefined) throw new Error(`custody subscribe exited (${exitCode}) before ${pattern}: ${stderr}`);
        return pattern.test(stderr) ? true : undefined;
      },
      timeoutInMs,
    );
  try {
    await waitForStderr(/listening on evidence-ready\/all-events/);
    await sendNonEvent(connectionString, "before-restart");
    await waitForStderr(/dead-lettered message before-restart/);

    await emulator.close();
    emulator = undefined;
    // The SDK retries a receive itself before the loss reaches the command: on a loaded machine that took over a minute once.
    await waitForStderr(/connection lost/, 150_000);
    // Down until a reconnect attempt of its own has failed: longer than the SDK retries a receive on its own.
    await waitForStderr(/reconnecting in[\s\S]*reconnecting in/);
    emulator = await startServiceBusEmulator({ port });
    await waitForStderr(/reconnected to evidence-ready\/all-events/);
    await sendNonEvent(connectionString, "after-restart");
    await waitForStderr(/dead-lettered message after-restart/);
    expect(exitCode).toBeUndefined();

    child.kill("SIGINT");
    await exited;
    expect(exitCode).toBe(0);
  } finally {
    if (exitCode === undefined) child.kill("SIGKILL");
  }
}, 300_000);
