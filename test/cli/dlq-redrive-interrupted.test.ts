/**
 * A redrive killed in the middle loses nothing. Twenty messages dead-lettered on the
 * blob-created queue are redriven at 4 per second; the CLI is killed with SIGKILL (no cleanup
 * at all) once some copies have arrived. Every message is then either still dead-lettered or
 * already back in the queue — at most one (the one between "resend confirmed" and "complete")
 * in both. The killed run's locks outlive it (as on Azure: until the lock duration, shortened
 * here to 45 s, runs out), so a redrive right away moves nothing and says that the rest are
 * locked; once the locks expire, a redrive moves the rest, and each message is in the queue.
 * Nothing consumes the queue (the functions do not run), so peeking shows exactly where each
 * message is.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient, type ServiceBusAdministrationClient, type ServiceBusReceivedMessage } from "@azure/service-bus";
import Long from "long";
import type { DeadLetterChangeResult } from "../../shared/operations/redrive";
import { createEmulatorAdministrationClient } from "../../local/servicebus-emulator";
import { startStack, type RunningStack } from "../../local/stack";
import { createLogger, silentLogger } from "../../shared/logging";
import { ENTITIES } from "../../shared/topology";
import { waitFor } from "../support/polling";
import { CUSTODY_BIN, runCli } from "./run-cli";

const QUEUE = ENTITIES.blobCreated.queueName;
const COUNT = 20;
// Long enough that the two runs right after the kill finish well inside it on a slow machine.
const LOCK_DURATION_IN_MS = 45_000;
let stack: RunningStack;
let client: ServiceBusClient;
let admin: ServiceBusAdministrationClient;
let dataDir: string;

async function peekAll(deadLetter: boolean): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(QUEUE, deadLetter ? { subQueueType: "deadLetter" } : {});
  try {
    // From the start each time: the SDK continues a peek where the last one on this entity stopped.
    return await receiver.peekMessages(1000, { fromSequenceNumber: Long.ZERO });
  } finally {
    await receiver.close();
  }
}

/** How many times each numbered message appears in the queue and in its dead-letter queue. */
async function whereabouts(): Promise<{ queued: number[]; deadLettered: number[] }> {
  const numbers = (messages: ServiceBusReceivedMessage[]): number[] => messages.map((m) => (m.body as { n: number }).n).sort((a, b) => a - b);
  return { queued: numbers(await peekAll(false)), deadLettered: numbers(await peekAll(true)) };
}

beforeAll(async () => {
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-redrive-kill-")), "data");
  stack = await startStack({ dataDir, log: process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger, runFunctions: false, serviceBusFaults: { lockDurationInMs: LOCK_DURATION_IN_MS } });
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  admin = createEmulatorAdministrationClient(stack.environment.ServiceBusConnection, stack.serviceBus.certificatePem);
  const sender = client.createSender(QUEUE);
  await sender.sendMessages(Array.from({ length: COUNT }, (_, n) => ({ messageId: `kill-test-${n}`, body: { n }, applicationProperties: { origin: "test" } })));
  await sender.close();
  const receiver = client.createReceiver(QUEUE);
  let moved = 0;
  while (moved < COUNT) {
    for (const message of await receiver.receiveMessages(COUNT, { maxWaitTimeInMs: 2000 })) {
      await receiver.deadLetterMessage(message, { deadLetterReason: "TestFailure", deadLetterErrorDescription: "dead-lettered by the test" });
      moved++;
    }
  }
  await receiver.close();
}, 120_000);

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

test("SIGKILL during a redrive: nothing lost, at most one message in both places; the rest wait for the killed run's locks to expire, then move", async () => {
  expect((await admin.getQueueRuntimeProperties(QUEUE)).deadLetterMessageCount).toBe(COUNT);

  const child = spawn(process.execPath, [CUSTODY_BIN, "dlq", "redrive", QUEUE, "--rate", "4", "--json", "--data-dir", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  try {
    await waitFor("some copies to arrive", async () => ((await admin.getQueueRuntimeProperties(QUEUE)).activeMessageCount >= 5 ? true : undefined), 60_000);
  } finally {
    child.kill("SIGKILL");
  }
  expect(await exited).toBe("SIGKILL");

  const interrupted = await whereabouts();
  const everywhere = [...interrupted.queued, ...interrupted.deadLettered].sort((a, b) => a - b);
  const all = Array.from({ length: COUNT }, (_, n) => n);
  // Nothing lost…
  expect([...new Set(everywhere)]).toEqual(all);
  // …at most one message in both places, and the run was really interrupted midway.
  expect(everywhere.length - COUNT).toBeLessThanOrEqual(1);
  expect(interrupted.queued.length).toBeGreaterThanOrEqual(5);
  expect(interrupted.deadLettered.length).toBeGreaterThan(0);

  // Right away, the killed run's locks still hold the rest: nothing moves, and the run says why.
  const blocked = await runCli(["dlq", "redrive", QUEUE, "--json", "--data-dir", dataDir]);
  expect(blocked.code).toBe(0);
  const blockedResult = JSON.parse(blocked.stdout) as DeadLetterChangeResult;
  expect(blockedResult).toMatchObject({ count: 0, remaining: interrupted.deadLettered.length, lockedElsewhere: interrupted.deadLettered.length });
  const blockedText = await runCli(["dlq", "redrive", QUEUE, "--data-dir", dataDir]);
  expect(blockedText.stdout).toContain(`${interrupted.deadLettered.length} dead-lettered message(s) were not received: locked by another receiver`);

  // Once the locks expire, a redrive moves the rest.
  const again = await waitFor(
    "a redrive that moves the rest",
    async () => {
      const run = await runCli(["dlq", "redrive", QUEUE, "--json", "--data-dir", dataDir]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout) as DeadLetterChangeResult;
      return result.count > 0 ? result : undefined;
    },
    LOCK_DURATION_IN_MS * 3,
  );
  expect(again).toMatchObject({ remaining: 0, lockedElsewhere: 0 });
  const finished = await whereabouts();
  expect(finished.deadLettered).toEqual([]);
  expect([...new Set(finished.queued)]).toEqual(all);
  expect(finished.queued.length - COUNT).toBeLessThanOrEqual(1);
  // Every copy kept what the original carried.
  for (const message of await peekAll(false)) expect(message.applicationProperties).toMatchObject({ origin: "test", custodyRedriveCount: 1 });
}, 180_000);
