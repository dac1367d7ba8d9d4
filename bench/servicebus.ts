/**
 * Service Bus emulator throughput, through the real `@azure/service-bus` SDK, with a bare
 * rhea↔rhea baseline measured in the same run so the figures can be read across machines.
 *
 *   npm run bench:servicebus                       # 10,000 messages, 100,000-deep queue
 *   npm run bench:servicebus -- --messages 2000 --deep 20000 --json
 *
 * Phases (all in this process, emulator on a loopback port):
 *   warm-up  send → receive → complete on both queues (JIT, link attach); not reported.
 *   bare     rhea client pushes N 1 KB messages to a rhea container that accepts each one.
 *   shallow  N messages sent in batches (createMessageBatch), then received (peek-lock) and completed.
 *   preload  `--deep` messages sent in batches into a second queue.
 *   deep     the shallow run again, on the second queue, on top of the pre-loaded messages.
 * bare, shallow and deep are repeated `--rounds` times (default 3); tables show medians.
 * The requirement checked: receive+complete on the deep queue runs at ≈ the shallow rate.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { PerformanceObserver } from "node:perf_hooks";
import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver, type ServiceBusSender } from "@azure/service-bus";
import rhea = require("rhea");
import { startServiceBusEmulator } from "../local/servicebus-emulator";
import { DEFAULT_BENCH_ARGS, parseBenchArgs, type BenchArgs } from "./args";
import { peakRssMiB } from "./support/memory";
import { printResults, runMain } from "./support/standalone";
import { median } from "./support/statistics";
import type { BenchResult, BenchSection, BenchTable } from "./types";

const MESSAGE_BYTES = 1024;
const SHALLOW_QUEUE = "bench-shallow";
const DEEP_QUEUE = "bench-deep";
/** Long enough that no lock expires during a run (a redelivery would distort the figures). */
const QUEUE_PROPERTIES = { LockDuration: "PT1M", RequiresDuplicateDetection: false, MaxDeliveryCount: 10 };
const RECEIVE_WAIT_MS = 10_000;

export interface ServiceBusBenchOptions {
  messages: number;
  deep: number;
  receiver: BenchArgs["receiver"];
  batch: number;
  rounds: number;
  /** Progress lines (stderr by default). */
  progress?: (line: string) => void;
}

interface RunFigures {
  messages: number;
  sendSeconds: number;
  receiveCompleteSeconds: number;
  sendPerSecond: number;
  receiveCompletePerSecond: number;
  endToEndPerSecond: number;
  /** Active messages left in the queue afterwards (the depth the run was made on). */
  depthAfter: number;
  /** Time spent in garbage collection pauses during the run. */
  gcMs: number;
  /** The part of gcMs that fell in the send leg. */
  sendGcMs: number;
  peakRssMiB: number;
}

/** Medians over the rounds of one kind of run, and the rounds themselves. */
interface RunSummary {
  sendPerSecond: number;
  receiveCompletePerSecond: number;
  endToEndPerSecond: number;
  gcMs: number;
  receiveCompleteMin: number;
  receiveCompleteMax: number;
  depthAfter: number;
  peakRssMiB: number;
  rounds: RunFigures[];
}

interface BareFigures {
  messages: number;
  seconds: number;
  perSecond: number;
  creditWindow: number;
  gcMs: number;
  peakRssMiB: number;
}

interface BareSummary {
  perSecond: number;
  creditWindow: number;
  peakRssMiB: number;
  rounds: BareFigures[];
}

interface PreloadFigures {
  messages: number;
  seconds: number;
  sendPerSecond: number;
  peakRssMiB: number;
}

export function serviceBusBench(options: Partial<ServiceBusBenchOptions> = {}): BenchSection {
  const resolved: ServiceBusBenchOptions = {
    messages: options.messages ?? DEFAULT_BENCH_ARGS.messages,
    deep: options.deep ?? DEFAULT_BENCH_ARGS.deep,
    receiver: options.receiver ?? DEFAULT_BENCH_ARGS.receiver,
    batch: options.batch ?? DEFAULT_BENCH_ARGS.batch,
    rounds: options.rounds ?? DEFAULT_BENCH_ARGS.rounds,
    progress: options.progress ?? ((line) => process.stderr.write(`[servicebus] ${line}\n`)),
  };
  return { name: "servicebus", run: () => runServiceBusBench(resolved) };
}

async function runServiceBusBench(options: ServiceBusBenchOptions): Promise<BenchResult> {
  const progress = options.progress ?? (() => undefined);
  const payload = Buffer.alloc(MESSAGE_BYTES, 0x61);

  const emulator = await startServiceBusEmulator({
    config: emulatorConfig({
      queues: [
        { name: SHALLOW_QUEUE, properties: QUEUE_PROPERTIES },
        { name: DEEP_QUEUE, properties: QUEUE_PROPERTIES },
      ],
    }),
  });
  const client = new ServiceBusClient(emulator.connectionString);
  try {
    const shallowSender = client.createSender(SHALLOW_QUEUE);
    const shallowReceiver = client.createReceiver(SHALLOW_QUEUE, { receiveMode: "peekLock" });
    const deepSender = client.createSender(DEEP_QUEUE);
    const deepReceiver = client.createReceiver(DEEP_QUEUE, { receiveMode: "peekLock" });
    const depth = (queue: string): number => emulator.namespace.queue(queue)?.counts().activeMessageCount ?? -1;

    const warmUp = Math.min(2_000, options.messages);
    progress(`warm-up: ${warmUp} messages through each queue`);
    for (const [sender, receiver] of [
      [shallowSender, shallowReceiver],
      [deepSender, deepReceiver],
    ] as const) {
      await sendInBatches(sender, warmUp, payload);
      await receiveAndComplete(receiver, warmUp, options);
    }
    const afterWarmUp = peakRssMiB();

    const bareRounds: BareFigures[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      progress(`bare rhea baseline ${round}/${options.rounds}: ${options.messages} messages, credit window ${options.batch}`);
      bareRounds.push(await bareRheaBaseline(options.messages, payload, options.batch));
    }
    const bare: BareSummary = {
      perSecond: median(bareRounds.map((r) => r.perSecond)),
      creditWindow: options.batch,
      peakRssMiB: peakRssMiB(),
      rounds: bareRounds,
    };

    const shallowRounds: RunFigures[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      progress(`shallow ${round}/${options.rounds}: ${options.messages} messages`);
      shallowRounds.push(await sendReceiveComplete(shallowSender, shallowReceiver, options, payload, () => depth(SHALLOW_QUEUE)));
    }
    const shallow = summarize(shallowRounds);

    progress(`preload: ${options.deep} messages into ${DEEP_QUEUE}`);
    const preloadStart = performance.now();
    await sendInBatches(deepSender, options.deep, payload);
    const preloadSeconds = (performance.now() - preloadStart) / 1000;
    const preload: PreloadFigures = {
      messages: options.deep,
      seconds: preloadSeconds,
      sendPerSecond: options.deep / preloadSeconds,
      peakRssMiB: peakRssMiB(),
    };
    const depthBefore = depth(DEEP_QUEUE);
    if (depthBefore !== options.deep) throw new Error(`${DEEP_QUEUE} holds ${depthBefore} messages after the preload, expected ${options.deep}`);

    const deepRounds: RunFigures[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      progress(`deep ${round}/${options.rounds}: ${options.messages} messages on top of ${depth(DEEP_QUEUE)}`);
      deepRounds.push(await sendReceiveComplete(deepSender, deepReceiver, options, payload, () => depth(DEEP_QUEUE)));
    }
    const deep = summarize(deepRounds);

    for (const link of [shallowSender, shallowReceiver, deepSender, deepReceiver]) await link.close();
    return report(options, { afterWarmUp, bare, shallow, preload, deep });
  } finally {
    await client.close();
    await emulator.close();
  }
}

async function sendReceiveComplete(sender: ServiceBusSender, receiver: ServiceBusReceiver, options: ServiceBusBenchOptions, payload: Buffer, depth: () => number): Promise<RunFigures> {
  const count = options.messages;
  const gcBefore = await gcMilliseconds();
  const start = performance.now();
  await sendInBatches(sender, count, payload);
  const sent = performance.now();
  const gcAfterSend = await gcMilliseconds();
  const receiveStart = performance.now();
  await receiveAndComplete(receiver, count, options);
  const done = performance.now();
  const gcMs = (await gcMilliseconds()) - gcBefore;
  const sendSeconds = (sent - start) / 1000;
  const receiveCompleteSeconds = (done - receiveStart) / 1000;
  return {
    messages: count,
    sendSeconds,
    receiveCompleteSeconds,
    sendPerSecond: count / sendSeconds,
    receiveCompletePerSecond: count / receiveCompleteSeconds,
    endToEndPerSecond: count / (sendSeconds + receiveCompleteSeconds),
    depthAfter: depth(),
    gcMs,
    sendGcMs: gcAfterSend - gcBefore,
    peakRssMiB: peakRssMiB(),
  };
}

function summarize(rounds: RunFigures[]): RunSummary {
  const receiveComplete = rounds.map((r) => r.receiveCompletePerSecond);
  return {
    sendPerSecond: median(rounds.map((r) => r.sendPerSecond)),
    receiveCompletePerSecond: median(receiveComplete),
    endToEndPerSecond: median(rounds.map((r) => r.endToEndPerSecond)),
    gcMs: median(rounds.map((r) => r.gcMs)),
    receiveCompleteMin: Math.min(...receiveComplete),
    receiveCompleteMax: Math.max(...receiveComplete),
    depthAfter: rounds[rounds.length - 1].depthAfter,
    peakRssMiB: peakRssMiB(),
    rounds,
  };
}

/** Total GC pause time of this process so far, as reported by the perf_hooks 'gc' entries. */
let gcTotalMs = 0;
let gcObserver: PerformanceObserver | undefined;
async function gcMilliseconds(): Promise<number> {
  if (!gcObserver) {
    gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcTotalMs += entry.duration;
    });
    gcObserver.observe({ entryTypes: ["gc"] });
  }
  // Entries are delivered asynchronously: let pending ones arrive first.
  await new Promise((resolve) => setImmediate(resolve));
  return gcTotalMs;
}

/** As a producer would: fill a batch up to the link's maximum message size, send it, repeat. */
async function sendInBatches(sender: ServiceBusSender, count: number, payload: Buffer): Promise<void> {
  let sent = 0;
  while (sent < count) {
    const batch = await sender.createMessageBatch();
    while (sent + batch.count < count && batch.tryAddMessage({ body: payload })) {
      // filled by the condition
    }
    if (batch.count === 0) throw new Error("a 1 KB message does not fit in an empty batch");
    await sender.sendMessages(batch);
    sent += batch.count;
  }
}

async function receiveAndComplete(receiver: ServiceBusReceiver, count: number, options: ServiceBusBenchOptions): Promise<void> {
  if (options.receiver === "subscribe") return subscribeAndComplete(receiver, count, options.batch);
  let done = 0;
  while (done < count) {
    const messages = await receiver.receiveMessages(Math.min(options.batch, count - done), { maxWaitTimeInMs: RECEIVE_WAIT_MS });
    if (messages.length === 0) throw new Error(`receive stalled after ${done} of ${count} messages`);
    checkBody(messages[0]);
    await Promise.all(messages.map((message) => receiver.completeMessage(message)));
    done += messages.length;
  }
}

function subscribeAndComplete(receiver: ServiceBusReceiver, count: number, concurrency: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let completed = 0;
    let finished = false;
    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(watchdog);
      subscription.close().then(() => (error ? reject(error) : resolve()), reject);
    };
    const watchdog = setTimeout(() => finish(new Error("subscribe() stalled")), RECEIVE_WAIT_MS);
    const subscription = receiver.subscribe(
      {
        processMessage: async (message) => {
          if (finished) return;
          checkBody(message);
          await receiver.completeMessage(message);
          watchdog.refresh();
          if (++completed === count) finish();
        },
        processError: (args) => {
          finish(args.error);
          return Promise.resolve();
        },
      },
      { autoCompleteMessages: false, maxConcurrentCalls: concurrency },
    );
  });
}

function checkBody(message: ServiceBusReceivedMessage): void {
  const body: unknown = message.body;
  if (!Buffer.isBuffer(body) || body.length !== MESSAGE_BYTES) throw new Error("received a message with an unexpected body");
}

/**
 * The floor: rhea talking to rhea over loopback in this process, with no emulator logic. A
 * container that accepts every transfer (rhea's autoaccept) and a sender that keeps the
 * credit window full; the time runs from the first transfer to the last accepted outcome.
 */
async function bareRheaBaseline(count: number, payload: Buffer, creditWindow: number): Promise<BareFigures> {
  const server = rhea.create_container({ id: "bare-server" });
  let received = 0;
  server.on("message", () => {
    received++;
  });
  // TCP_NODELAY on both ends, as the SDK sets on its side: rhea leaves Nagle on for
  // accepted sockets and for connections that only send, and the small flow and
  // disposition frames then wait for delayed ACKs (~40 ms), which would make the "floor"
  // a measure of the kernel's timers (≈10,000 msg/s here) rather than of rhea.
  const listener = server.listen({ port: 0, host: "127.0.0.1", tcp_no_delay: true, receiver_options: { credit_window: creditWindow } } as rhea.ServerConnectionOptions);
  await once(listener, "listening");
  const port = (listener.address() as AddressInfo).port;

  const client = rhea.create_container({ id: "bare-client" });
  const connection = client.connect({ port, host: "127.0.0.1", reconnect: false, tcp_no_delay: true } as rhea.ConnectionOptions);
  const sender = connection.open_sender({ target: { address: "bare" } });
  const body = rhea.message.data_section(payload) as unknown;
  const gcBefore = await gcMilliseconds();
  let start = 0;
  const seconds = await new Promise<number>((resolve, reject) => {
    let sent = 0;
    let accepted = 0;
    // At most a credit window in flight (rhea's sendable() only checks that some credit and
    // room in the session buffer remain, not how much is already queued).
    const push = (): void => {
      while (sent < count && sent - accepted < creditWindow && sender.sendable()) {
        sender.send({ body });
        sent++;
      }
    };
    sender.on("sendable", () => {
      if (start === 0) start = performance.now();
      push();
    });
    sender.on("accepted", () => {
      if (++accepted === count) resolve((performance.now() - start) / 1000);
      else push();
    });
    for (const event of ["rejected", "released", "modified", "sender_error", "connection_error"] as const) {
      sender.on(event, () => reject(new Error(`bare rhea baseline: ${event}`)));
    }
  });
  if (received !== count) throw new Error(`bare rhea baseline: the server received ${received} of ${count} messages`);
  connection.close();
  await once(connection, "connection_close");
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  const gcMs = (await gcMilliseconds()) - gcBefore;
  return { messages: count, seconds, perSecond: count / seconds, creditWindow, gcMs, peakRssMiB: peakRssMiB() };
}

function report(options: ServiceBusBenchOptions, figures: { afterWarmUp: number; bare: BareSummary; shallow: RunSummary; preload: PreloadFigures; deep: RunSummary }): BenchResult {
  const { bare, shallow, preload, deep } = figures;
  const deepOverShallow = {
    send: deep.sendPerSecond / shallow.sendPerSecond,
    receiveComplete: deep.receiveCompletePerSecond / shallow.receiveCompletePerSecond,
    endToEnd: deep.endToEndPerSecond / shallow.endToEndPerSecond,
  };
  const overBare = {
    send: shallow.sendPerSecond / bare.perSecond,
    receiveComplete: shallow.receiveCompletePerSecond / bare.perSecond,
    endToEnd: shallow.endToEndPerSecond / bare.perSecond,
  };
  const n = options.messages.toLocaleString("en-US");
  const spread = (run: RunSummary): string => `${Math.round(run.receiveCompleteMin).toLocaleString("en-US")}–${Math.round(run.receiveCompleteMax).toLocaleString("en-US")}`;
  const runs: BenchTable = {
    title: `Emulator through @azure/service-bus, ${n} × 1 KB messages per run, median of ${options.rounds} (msg/s)`,
    columns: ["run", "depth before", "send", "receive+complete", "(min–max)", "end-to-end", "GC ms/run", "peak RSS MiB"],
    rows: [
      ["shallow", 0, shallow.sendPerSecond, shallow.receiveCompletePerSecond, spread(shallow), shallow.endToEndPerSecond, shallow.gcMs, shallow.peakRssMiB],
      ["preload (send only, once)", 0, preload.sendPerSecond, null, null, null, null, preload.peakRssMiB],
      ["deep", preload.messages, deep.sendPerSecond, deep.receiveCompletePerSecond, spread(deep), deep.endToEndPerSecond, deep.gcMs, deep.peakRssMiB],
      ["ratio deep/shallow", null, deepOverShallow.send, deepOverShallow.receiveComplete, null, deepOverShallow.endToEnd, null, null],
    ],
  };
  const baseline: BenchTable = {
    title: `Bare rhea baseline (no emulator logic): rhea sender → rhea container that accepts, same process, median of ${options.rounds}`,
    columns: ["run", "msg/s", "emulator send ÷ bare", "emulator recv+complete ÷ bare", "emulator end-to-end ÷ bare", "peak RSS MiB"],
    rows: [[`bare rhea, ${n} × 1 KB, credit ${bare.creditWindow}`, bare.perSecond, overBare.send, overBare.receiveComplete, overBare.endToEnd, bare.peakRssMiB]],
  };
  const receiving =
    options.receiver === "batch"
      ? `receiveMessages(${options.batch}) in a loop, peek-lock, each batch completed with concurrent completeMessage calls before the next receive`
      : `subscribe() with maxConcurrentCalls ${options.batch}, peek-lock, completeMessage in the handler`;
  return {
    name: "servicebus",
    tables: [runs, baseline],
    notes: [
      `send: createMessageBatch filled to the link's max message size (≈240 × 1 KB per batch), batches sent one after another; receive: ${receiving}.`,
      "end-to-end = messages ÷ (send time + receive+complete time) of the same run; each message crosses the wire twice.",
      `deep: each run's messages go in behind ${preload.messages.toLocaleString("en-US")} pre-loaded ones, so the ${n} received come from a queue ${preload.messages.toLocaleString("en-US")}+ deep (FIFO); depth after the last run: ${deep.depthAfter.toLocaleString("en-US")}. Deep runs also carry the larger heap (GC ms/run).`,
      "bare rhea: one transfer per message, each accepted and settled by the container, TCP_NODELAY on both ends; a floor for per-message AMQP cost, not a target (the emulator's send leg moves ≈240 messages per transfer, so it can exceed it).",
      `peak RSS is the process maximum so far (maxRSS) when the phase ended; after warm-up ${figures.afterWarmUp} MiB.`,
    ],
    data: {
      messages: options.messages,
      deep: options.deep,
      messageBytes: MESSAGE_BYTES,
      receiver: options.receiver,
      batch: options.batch,
      rounds: options.rounds,
      bare,
      shallow,
      preload,
      deepRun: deep,
      ratioDeepOverShallow: deepOverShallow,
      ratioEmulatorOverBare: overBare,
      peakRssMiB: { afterWarmUp: figures.afterWarmUp, bare: bare.peakRssMiB, shallow: shallow.peakRssMiB, preload: preload.peakRssMiB, deep: deep.peakRssMiB },
    },
  };
}

/** Builds a Config.json object in Microsoft's emulator format (as test/servicebus-emulator/harness.ts does). */
function emulatorConfig(entities: { queues: Array<{ name: string; properties?: Record<string, unknown> }> }): unknown {
  return {
    UserConfig: {
      Namespaces: [{ Name: "sbemulatorns", Queues: entities.queues.map((q) => ({ Name: q.name, Properties: q.properties ?? {} })), Topics: [] }],
      Logging: { Type: "File" },
    },
  };
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const result = await serviceBusBench(args).run();
  printResults([result], args.json);
}

if (require.main === module) runMain(main);
