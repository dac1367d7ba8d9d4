/**
 * `custody emulator servicebus` as a user runs it: a child process that prints one ready line
 * with the connection string, serves the real SDK, and stops on SIGTERM; start-up problems
 * fail at once with a message naming the cause. Runs the compiled CLI (bin/custody.js), which
 * the e2e project's global setup rebuilds when a source changed (scripts/build-if-stale.js).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBusClient } from "@azure/service-bus";

const BIN = path.resolve(__dirname, "..", "..", "bin", "custody.js");

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

function runCli(args: string[]): Run {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const run: Run = {
    child,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))),
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => run.stdout.push(chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => run.stderr.push(chunk));
  return run;
}

async function waitForLine(run: Run, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = run.stdout
      .join("")
      .split("\n")
      .find((l) => pattern.test(l));
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout: ${run.stdout.join("")} stderr: ${run.stderr.join("")}`);
}

function writeConfig(config: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "custody-cli-"));
  const file = path.join(dir, "Config.json");
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const userConfig = {
  UserConfig: {
    Namespaces: [
      {
        Name: "sbemulatorns",
        Queues: [{ Name: "orders.in", Properties: { LockDuration: "PT30S", MaxDeliveryCount: 4 } }],
        Topics: [],
      },
    ],
    Logging: { Type: "File" },
  },
};

test("prints the connection string when ready, serves the SDK, and stops on SIGTERM", async () => {
  const certFile = path.join(mkdtempSync(path.join(os.tmpdir(), "custody-cert-")), "emulator.pem");
  const run = runCli(["emulator", "servicebus", "--port", "0", "--config", writeConfig(userConfig), "--cert-out", certFile]);
  try {
    const line = await waitForLine(run, /UseDevelopmentEmulator=true/);
    expect(readFileSync(certFile, "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const connectionString = /Endpoint=sb:\/\/localhost:\d+;[^\s]*UseDevelopmentEmulator=true;?/.exec(line)![0];
    const client = new ServiceBusClient(connectionString);
    const sender = client.createSender("orders.in");
    await sender.sendMessages({ body: "from the CLI test" });
    const receiver = client.createReceiver("orders.in", { receiveMode: "receiveAndDelete" });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(message.body).toBe("from the CLI test");
    await client.close();
  } finally {
    run.child.kill("SIGTERM");
  }
  expect(await run.exited).toBe(0);
});

test("a taken port fails at once with exit code 2 and says which port", async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const run = runCli(["emulator", "servicebus", "--port", String(port), "--config", writeConfig(userConfig)]);
    expect(await run.exited).toBe(2);
    expect(run.stderr.join("")).toContain(`Port ${port}`);
    expect(run.stderr.join("")).toMatch(/already in use/);
  } finally {
    blocker.close();
  }
});

test("a bad config file fails at once with the field that is wrong", async () => {
  const bad = JSON.parse(JSON.stringify(userConfig)) as typeof userConfig;
  bad.UserConfig.Namespaces[0].Queues[0].Properties.LockDuration = "one minute";
  const run = runCli(["emulator", "servicebus", "--port", "0", "--config", writeConfig(bad)]);
  expect(await run.exited).toBe(2);
  expect(run.stderr.join("")).toContain("UserConfig.Namespaces[0].Queues[0].Properties.LockDuration");
});

test("without --config it serves the project's topology", async () => {
  const run = runCli(["emulator", "servicebus", "--port", "0", "--json"]);
  try {
    const line = await waitForLine(run, /"ready":true/);
    const ready = JSON.parse(line) as { connectionString: string; queues: number; topics: number };
    expect(ready.queues).toBeGreaterThan(0);
    const client = new ServiceBusClient(ready.connectionString);
    const sender = client.createSender("blob-created");
    await sender.sendMessages({ body: "topology" });
    await client.close();
  } finally {
    run.child.kill("SIGINT");
  }
  expect(await run.exited).toBe(0);
});
