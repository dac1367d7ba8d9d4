/**
 * Names, message ids and dead-letter descriptions come from outside and can carry terminal
 * escape sequences (clear the screen, retitle the window) or bidi controls (reorder what
 * follows). The CLI prints them escaped — `\u{1B}`, `\u{202E}` — in text output, and as JSON
 * escapes in `--json` output (which still reads back as the raw strings): the raw characters
 * never reach the operator's terminal. Checked on the embedded stack with the real CLI process:
 * `list`, `status` and `dlq peek`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import type { DlqPeekResult } from "../../cli/commands/dlq";
import { ORIGINALS_CONTAINER, startStack, type RunningStack } from "../../local/stack";
import { blobCreatedEvent } from "../../shared/contracts/blob-created-cloud-event";
import type { EvidenceRecord } from "../../shared/evidence/record";
import { createLogger, silentLogger } from "../../shared/logging";
import { ENTITIES } from "../../shared/topology";
import { evidenceIdForBlob, waitForRecord } from "../support/polling";
import { runCli } from "./run-cli";

/** Shows as "evidence4pm.jpg" when printed raw. */
const BIDI_NAME = "hostile/evidence\u202egpj.mp4";
/** ESC [2J clears the screen, ESC [H homes the cursor, ESC ] 0; … BEL retitles the window. */
const ESCAPE_NAME = "escapes/\u001b[2J\u001b[Hclear\u001b]0;owned\u0007.mp4";
const ZERO_WIDTH_NAME = "hostile/cl\u200bip.mp4";
/** A line break in a name would print a second, forged row. */
const NEWLINE_NAME = "hostile/two\nev-00000000000000000000000000000000  ready     PC1  originals/forged.mp4";
const MESSAGE_ID = "evil\u001b[2J\u202eid";
const DESCRIPTION = "looks fine\u001b[2J\u001b[31m\u202e yllaer\n  record       status ready";
const BLOB_URL = "http://127.0.0.1/devstoreaccount1/originals/\u001b]0;owned\u0007x.mp4";

/** Raw characters that must not be printed: controls other than the line break, DEL, C1, format characters. */
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\p{Cf}]/u;

let stack: RunningStack;
let client: ServiceBusClient;
let dataDir: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-hostile-")), "data");
  const log = process.env.CUSTODY_TEST_LOGS ? createLogger() : silentLogger;
  stack = await startStack({ dataDir, log, blobPollIntervalInMs: 100, environment: { CUSTODY_REQUIRED_STAGES: "hash" } });
  client = new ServiceBusClient(stack.environment.ServiceBusConnection);
  const container = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage).getContainerClient(ORIGINALS_CONTAINER);
  const sender = client.createSender(ENTITIES.blobCreated.queueName);
  for (const name of [BIDI_NAME, ESCAPE_NAME, ZERO_WIDTH_NAME, NEWLINE_NAME]) {
    const bytes = randomBytes(512);
    const uploaded = await container.getBlockBlobClient(name).uploadData(bytes, {
      metadata: { officerid: "PC1", deviceid: "BWV-1", recordedat: encodeURIComponent("2026-11-26T07:00:00Z") },
    });
    // As Event Grid would (Azurite cannot list the folder of a name with control characters).
    const event = blobCreatedEvent(container, name, uploaded.etag!, { contentLength: bytes.length });
    await sender.sendMessages({ body: event, messageId: event.id });
  }
  await sender.close();
  for (const name of [BIDI_NAME, ESCAPE_NAME, ZERO_WIDTH_NAME, NEWLINE_NAME]) {
    ids[name] = await evidenceIdForBlob(stack.services!.index, name);
    await waitForRecord(stack.services!.index, ids[name]);
  }

  // A dead-lettered event whose id, body and dead-letter description carry escape codes and bidi controls.
  const ready = client.createSender(ENTITIES.evidenceReadyTopic);
  await ready.sendMessages({ messageId: MESSAGE_ID, body: { type: "x", data: { url: BLOB_URL } }, subject: "evidence-ready", correlationId: ids[BIDI_NAME] });
  await ready.close();
  const receiver = client.createReceiver(ENTITIES.evidenceReadyTopic, "all-events");
  const received = (await receiver.receiveMessages(20, { maxWaitTimeInMs: 5000 })).filter((m) => m.messageId === MESSAGE_ID);
  expect(received).toHaveLength(1);
  await receiver.deadLetterMessage(received[0], { deadLetterReason: "Bad\u001b[31mReason", deadLetterErrorDescription: DESCRIPTION });
  await receiver.close();
}, 120_000);

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

function expectNoRawUnsafe(output: string): void {
  const found = RAW_UNSAFE.exec(output);
  expect(
    found === null ? null : `U+${found[0].codePointAt(0)!.toString(16).toUpperCase()} at ${found.index}: ${JSON.stringify(output.slice(Math.max(0, found.index - 40), found.index + 40))}`,
  ).toBeNull();
}

test("custody list shows names with escape codes, bidi and zero-width characters escaped", async () => {
  const result = await runCli(["list", "--data-dir", dataDir]);
  expect(result.code).toBe(0);
  expectNoRawUnsafe(result.stdout);
  expect(result.stdout).toContain("hostile/evidence\\u{202E}gpj.mp4");
  expect(result.stdout).toContain("hostile/cl\\u{200B}ip.mp4");
  expect(result.stdout).toContain("escapes/\\u{1B}[2J\\u{1B}[Hclear\\u{1B}]0;owned\\u{7}.mp4");
  // One row per recording: a line break inside a name is escaped, not printed.
  expect(result.stdout).toContain("hostile/two\\u{A}ev-0000");
  expect(result.stdout.trimEnd().split("\n")).toHaveLength(4);
}, 120_000);

test("custody list --json escapes them too, and reads back as the real names", async () => {
  const result = await runCli(["list", "--data-dir", dataDir, "--json"]);
  expect(result.code).toBe(0);
  expectNoRawUnsafe(result.stdout);
  const originals = (JSON.parse(result.stdout) as Array<{ original?: string }>).map((r) => r.original);
  expect(originals).toEqual(expect.arrayContaining([BIDI_NAME, ESCAPE_NAME, ZERO_WIDTH_NAME, NEWLINE_NAME].map((name) => `${ORIGINALS_CONTAINER}/${name}`)));
}, 120_000);

test("custody status shows the name and the rejection reason escaped, text and JSON", async () => {
  const text = await runCli(["status", ids[ESCAPE_NAME], "--data-dir", dataDir]);
  expect(text.code).toBe(1); // rejected
  expectNoRawUnsafe(text.stdout + text.stderr);
  expect(text.stdout).toContain("escapes/\\u{1B}[2J");
  expect(text.stdout).toContain("REJECTED   InvalidName");

  const bidi = await runCli(["status", ids[BIDI_NAME], "--data-dir", dataDir]);
  expectNoRawUnsafe(bidi.stdout);
  expect(bidi.stdout).toContain("evidence\\u{202E}gpj.mp4");
  expect(bidi.stdout).toMatch(/REJECTED {3}InvalidName: .*U\+202E \(RIGHT-TO-LEFT OVERRIDE\) at position 17/);

  const json = await runCli(["status", ids[BIDI_NAME], "--data-dir", dataDir, "--json"]);
  expectNoRawUnsafe(json.stdout);
  expect((JSON.parse(json.stdout) as EvidenceRecord).original?.name).toBe(BIDI_NAME);
}, 120_000);

test("custody dlq peek shows a message id, body field and description with escape codes escaped", async () => {
  const text = await runCli(["dlq", "peek", "evidence-ready/all-events", "--data-dir", dataDir]);
  expect(text.code).toBe(0);
  expectNoRawUnsafe(text.stdout + text.stderr);
  expect(text.stdout).toContain("message evil\\u{1B}[2J\\u{202E}id");
  expect(text.stdout).toContain("Bad\\u{1B}[31mReason: looks fine\\u{1B}[2J\\u{1B}[31m\\u{202E} yllaer\\u{A}  record       status ready");
  expect(text.stdout.match(/^ {2}record {7}/gm)).toHaveLength(1); // no forged row
  expect(text.stdout).toContain("blob http://127.0.0.1/devstoreaccount1/originals/\\u{1B}]0;owned\\u{7}x.mp4");

  const json = await runCli(["dlq", "peek", "evidence-ready/all-events", "--data-dir", dataDir, "--json"]);
  expectNoRawUnsafe(json.stdout);
  const [message] = (JSON.parse(json.stdout) as DlqPeekResult).messages;
  expect(message).toMatchObject({ messageId: MESSAGE_ID, deadLetterErrorDescription: DESCRIPTION, blobUrl: BLOB_URL });
}, 120_000);

test("an error message naming an argument is escaped on stderr", async () => {
  const result = await runCli(["status", "ev-\u001b[2J\u202e", "--data-dir", dataDir]);
  expect(result.code).toBe(2);
  expectNoRawUnsafe(result.stderr);
  expect(result.stderr).toContain("ev-\\u{1B}[2J\\u{202E}");
}, 120_000);
