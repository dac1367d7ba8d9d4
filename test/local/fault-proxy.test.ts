/**
 * The fault proxy the fault suite puts in front of each service: it forwards faithfully while
 * open; `refuse` resets open and new connections at once; `blackhole` answers nothing without
 * closing anything, and delivers what it held once restored; `down` stops listening, so new
 * connections are refused, and listens on the same port again on restore. Checked with raw sockets against
 * an echo server, and with the real Cosmos SDK against the Cosmos stand-in.
 */
import * as net from "node:net";
import type { CosmosClient } from "@azure/cosmos";
import { createLocalCosmosClient, startLocalCosmos, type CosmosInstance } from "../../local/cosmos";
import { startFaultProxy, type FaultProxy } from "../../local/fault-proxy";
import { waitFor } from "../support/polling";

let echo: net.Server;
let echoPort: number;
const echoSockets = new Set<net.Socket>();
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  echo = net.createServer((socket) => {
    echoSockets.add(socket);
    socket.on("close", () => echoSockets.delete(socket));
    socket.on("error", () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoPort = (echo.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  for (const socket of echoSockets) socket.destroy();
  await new Promise((resolve) => echo.close(resolve));
});

async function proxyToEcho(): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: echoPort } });
  proxies.push(proxy);
  return proxy;
}

/** A connected client socket that records what it receives and how it ended. */
async function connect(port: number): Promise<{ socket: net.Socket; received: () => string; ended: Promise<string> }> {
  const socket = net.connect(port, "127.0.0.1");
  let data = "";
  socket.on("data", (chunk) => (data += chunk.toString("utf8")));
  const ended = new Promise<string>((resolve) => {
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on("close", () => resolve("closed"));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, received: () => data, ended };
}

test("open: bytes go both ways unchanged", async () => {
  const proxy = await proxyToEcho();
  const client = await connect(proxy.port);
  client.socket.write("hello through the proxy");
  await waitFor("the echo", () => (client.received() === "hello through the proxy" ? true : undefined), 5000);
  client.socket.destroy();
});

test("refuse: open connections are reset, new ones are reset on arrival, and restore lets clients connect again", async () => {
  const proxy = await proxyToEcho();
  const before = await connect(proxy.port);
  before.socket.write("ping");
  await waitFor("the echo", () => (before.received() === "ping" ? true : undefined), 5000);

  await proxy.cut("refuse");
  expect(await before.ended).toBe("ECONNRESET");
  expect(proxy.connections).toBe(0);

  const during = net.connect(proxy.port, "127.0.0.1");
  const outcome = await new Promise<string>((resolve) => {
    during.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    during.on("close", () => resolve("closed"));
  });
  expect(outcome).toBe("ECONNRESET");

  await proxy.restore();
  const after = await connect(proxy.port);
  after.socket.write("pong");
  await waitFor("the echo after restore", () => (after.received() === "pong" ? true : undefined), 5000);
  after.socket.destroy();
});

test("down: open connections are reset, new ones are refused, and restore listens on the same port again", async () => {
  const proxy = await proxyToEcho();
  const before = await connect(proxy.port);
  await proxy.cut("down");
  expect(await before.ended).toBe("ECONNRESET");
  const refused = await connect(proxy.port).then(
    () => "connected",
    (error: unknown) => (error as NodeJS.ErrnoException).code,
  );
  expect(refused).toBe("ECONNREFUSED");
  await proxy.restore();
  const after = await connect(proxy.port);
  after.socket.write("back");
  await waitFor("the echo after restore", () => (after.received() === "back" ? true : undefined), 5000);
  after.socket.destroy();
});

test("blackhole: nothing answers and nothing closes; on restore what was held is delivered, on open and new connections alike", async () => {
  const proxy = await proxyToEcho();
  const open = await connect(proxy.port);
  open.socket.write("a");
  await waitFor("the echo", () => (open.received() === "a" ? true : undefined), 5000);

  await proxy.cut("blackhole");
  open.socket.write("b");
  // A new connection is accepted (the client sees it open) but reaches nothing.
  const arriving = await connect(proxy.port);
  arriving.socket.write("c");
  // Silence is what is being checked: wait until the proxy holds both connections, then for
  // a round trip through an uncut proxy to the same echo server, which is far longer than
  // the proxy needs to forward a byte it was allowed to forward.
  await waitFor("both connections held (the open one's byte read and held, the new one not read at all)", () => (proxy.connections === 2 && proxy.heldBytes === 1 ? true : undefined), 5000);
  const control = await proxyToEcho();
  const probe = await connect(control.port);
  probe.socket.write("control");
  await waitFor("the control echo", () => (probe.received() === "control" ? true : undefined), 5000);
  probe.socket.destroy();
  expect(open.received()).toBe("a");
  expect(arriving.received()).toBe("");
  expect(open.socket.destroyed || arriving.socket.destroyed).toBe(false);

  await proxy.restore();
  await waitFor("the held bytes echoed", () => (open.received() === "ab" && arriving.received() === "c" ? true : undefined), 5000);
  open.socket.destroy();
  arriving.socket.destroy();
});

describe("through the Cosmos SDK", () => {
  let cosmos: CosmosInstance;
  let proxy: FaultProxy;
  let client: CosmosClient;

  beforeAll(async () => {
    cosmos = await startLocalCosmos();
    proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: cosmos.port } });
    client = createLocalCosmosClient(`https://localhost:${proxy.port}/`);
    await client.databases.createIfNotExists({ id: "proxy-test" });
  });

  afterAll(async () => {
    client?.dispose();
    await proxy?.close();
    await cosmos?.stop();
  });

  test("refuse: a read fails with a connection error; after restore the same client reads again", async () => {
    await proxy.cut("refuse");
    const failure = await client
      .database("proxy-test")
      .read()
      .then(
        () => undefined,
        (error: unknown) => error as { code?: string; message?: string },
      );
    expect(failure).toBeDefined();
    expect(`${failure?.code} ${failure?.message}`).toMatch(/ECONNRESET|socket hang up|ECONNREFUSED/);
    await proxy.restore();
    const { resource } = await client.database("proxy-test").read();
    expect(resource?.id).toBe("proxy-test");
  });

  test("down: a read fails with ECONNREFUSED, without the ten seconds of retries a reset gets; after restore it reads again", async () => {
    await proxy.cut("down");
    const failure = await client
      .database("proxy-test")
      .read()
      .then(
        () => undefined,
        (error: unknown) => error as { code?: string },
      );
    expect(failure?.code).toBe("ECONNREFUSED");
    await proxy.restore();
    const { resource } = await client.database("proxy-test").read();
    expect(resource?.id).toBe("proxy-test");
  });

  test("blackhole: a read started during the cut waits, and completes once restored", async () => {
    await proxy.cut("blackhole");
    let settled = false;
    const read = client
      .database("proxy-test")
      .read()
      .finally(() => (settled = true));
    // The request's bytes are in the proxy's hands before restoring.
    await waitFor("the request held by the proxy", () => (proxy.heldBytes > 0 ? true : undefined), 5000);
    expect(settled).toBe(false);
    await proxy.restore();
    const { resource } = await read;
    expect(resource?.id).toBe("proxy-test");
  });
});
