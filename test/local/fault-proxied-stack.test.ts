/**
 * `startStack({ faultProxies })`: the settings for a functions host name the proxies, so
 * cutting a proxy cuts that host off, while the stack's own clients (and `directEnvironment`)
 * still reach every service — the fault suite reads records and events during a cut.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";
import { BlobServiceClient } from "@azure/storage-blob";
import { startStack, ORIGINALS_CONTAINER, type RunningStack } from "../../local/stack";
import { silentLogger } from "../../shared/logging";
import { ENTITIES } from "../../shared/topology";

const work = mkdtempSync(path.join(os.tmpdir(), "custody-fault-stack-"));
let stack: RunningStack;

beforeAll(async () => {
  stack = await startStack({ dataDir: path.join(work, "data"), log: silentLogger, runFunctions: false, faultProxies: true });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("the host's settings name the proxies; the direct settings name the services", () => {
  const proxies = stack.proxies!;
  expect(stack.environment.EvidenceStorage).toContain(`:${proxies.blob.port}/`);
  expect(stack.environment.EvidenceIndex).toContain(`:${proxies.cosmos.port}/`);
  expect(stack.environment.ServiceBusConnection).toContain(`:${proxies.serviceBus.port};`);
  for (const key of ["EvidenceStorage", "EvidenceIndex", "ServiceBusConnection"]) expect(stack.directEnvironment[key]).not.toBe(stack.environment[key]);
});

test("with every proxy down, a client on the host's settings fails while the stack's own clients still work", async () => {
  const viaProxy = BlobServiceClient.fromConnectionString(stack.environment.EvidenceStorage, { retryOptions: { maxTries: 1 } }).getContainerClient(ORIGINALS_CONTAINER);
  const direct = BlobServiceClient.fromConnectionString(stack.directEnvironment.EvidenceStorage).getContainerClient(ORIGINALS_CONTAINER);
  const sb = new ServiceBusClient(stack.directEnvironment.ServiceBusConnection);
  const proxies = stack.proxies!;
  await Promise.all([proxies.blob.cut("down"), proxies.cosmos.cut("down"), proxies.serviceBus.cut("down")]);
  try {
    await expect(viaProxy.getProperties()).rejects.toThrow(/ECONNREFUSED/);
    expect((await direct.getProperties()).etag).toBeDefined();
    expect(await stack.services!.index.read("ev-00000000000000000000000000000000")).toBeUndefined();
    const sender = sb.createSender(ENTITIES.stageResults.queueName);
    await sender.sendMessages({ body: "probe", messageId: "fault-stack-probe" });
    await sender.close();
  } finally {
    await Promise.all([proxies.blob.restore(), proxies.cosmos.restore(), proxies.serviceBus.restore()]);
    await sb.close();
  }
  expect((await viaProxy.getProperties()).etag).toBeDefined();
});

test("fault proxies need the functions host run apart", async () => {
  await expect(startStack({ dataDir: path.join(work, "other"), log: silentLogger, faultProxies: true })).rejects.toThrow(/runFunctions: false/);
});
