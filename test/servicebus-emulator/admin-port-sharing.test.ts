/**
 * routeByFirstByte: one TCP port, AMQP (anything not TLS) to one handler, TLS to the
 * management endpoint's https.Server, with no byte lost in the peek.
 */
import * as https from "node:https";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
// rhea's module value is a Container instance whose methods live on its prototype;
// `import * as` (esModuleInterop's __importStar) copies own properties only and loses them.
import rhea = require("rhea");

import { createEmulatorAdministrationClient } from "../../local/servicebus-emulator/admin/client";
import { createManagementEndpoint, type ManagementEndpoint } from "../../local/servicebus-emulator/admin/endpoint";
import { routeByFirstByte } from "../../local/servicebus-emulator/admin/port-sharing";
import type { NamespaceView } from "../../local/servicebus-emulator/store/views";

const emptyNamespace: NamespaceView = {
  name: "shared-port",
  createdAt: new Date("2025-01-01T00:00:00Z"),
  queues: () => [],
  topics: () => [],
  queue: () => undefined,
  topic: () => undefined,
  subscription: () => undefined,
};

/** The AMQP 1.0 protocol header a client opens with, then some frame bytes. */
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x01, 0x00, 0x00]);
const LATER_BYTES = Buffer.from([0x00, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x00]);

interface Other {
  socket: net.Socket;
  received: Buffer[];
}

/** How the `other` handler takes the socket over; switched per test. */
type OtherMode = "data-listener" | "deferred-data-listener" | "rhea";

describe("routeByFirstByte", () => {
  let endpoint: ManagementEndpoint;
  let server: net.Server;
  let port: number;
  const others: Other[] = [];
  let tlsRouted = 0;
  let mode: OtherMode = "data-listener";
  const amqpServer = rhea.create_container({ id: "shared-port-test-server" });
  const waiters: Array<() => void> = [];
  const notify = (): void => {
    for (const w of waiters.splice(0)) w();
  };

  beforeAll(async () => {
    endpoint = await createManagementEndpoint({ namespace: emptyNamespace });
    server = net.createServer((socket) =>
      routeByFirstByte(
        socket,
        {
          tls: (s) => {
            tlsRouted++;
            endpoint.server.emit("connection", s);
          },
          other: (s) => {
            const entry: Other = { socket: s, received: [] };
            others.push(entry);
            notify();
            if (mode === "rhea") {
              // How the emulator hands AMQP sockets to rhea (what rhea's own listen() does).
              // (rhea's typings describe only client connections, hence the cast.)
              const connection = amqpServer.create_connection() as unknown as { accept(socket: net.Socket): void };
              connection.accept(s);
              return;
            }
            // Otherwise what rhea does with an accepted socket: listen for 'data', maybe later.
            const attach = (): void => {
              s.on("data", (chunk: Buffer) => {
                entry.received.push(chunk);
                notify();
              });
            };
            if (mode === "deferred-data-listener") setTimeout(attach, 50);
            else attach();
          },
        },
        { firstByteTimeoutMs: 300 },
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const o of others) o.socket.destroy();
    await endpoint.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  function connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "localhost", port }, () => resolve(socket));
      socket.on("error", reject);
    });
  }

  test("a plain TCP client writing an AMQP header reaches `other` with every byte intact", async () => {
    const before = others.length;
    const client = await connect();
    client.write(AMQP_HEADER);
    await until(() => others.length === before + 1 && Buffer.concat(others[before].received).length >= AMQP_HEADER.length);
    // Bytes sent after the hand-over keep flowing to the new owner.
    client.write(LATER_BYTES);
    const other = others[before];
    await until(() => Buffer.concat(other.received).length === AMQP_HEADER.length + LATER_BYTES.length);
    expect(Buffer.concat(other.received)).toEqual(Buffer.concat([AMQP_HEADER, LATER_BYTES]));
    // And the new owner can answer on the same socket.
    const echoed = new Promise<Buffer>((resolve) => client.once("data", resolve));
    other.socket.write(AMQP_HEADER);
    expect(await echoed).toEqual(AMQP_HEADER);
    client.destroy();
  });

  test("a single-byte first chunk is still routed and delivered whole", async () => {
    const before = others.length;
    const client = await connect();
    client.setNoDelay(true);
    client.write(AMQP_HEADER.subarray(0, 1));
    await until(() => others.length === before + 1);
    client.write(AMQP_HEADER.subarray(1));
    await until(() => Buffer.concat(others[before].received).length === AMQP_HEADER.length);
    expect(Buffer.concat(others[before].received)).toEqual(AMQP_HEADER);
    client.destroy();
  });

  test("a handler that starts reading later still gets the peeked bytes", async () => {
    mode = "deferred-data-listener";
    try {
      const before = others.length;
      const client = await connect();
      client.write(AMQP_HEADER);
      await until(() => others.length === before + 1);
      client.write(LATER_BYTES);
      await until(() => Buffer.concat(others[before].received).length === 16);
      expect(Buffer.concat(others[before].received)).toEqual(Buffer.concat([AMQP_HEADER, LATER_BYTES]));
      client.destroy();
    } finally {
      mode = "data-listener";
    }
  });

  test("a real rhea client completes the AMQP open handshake with a rhea connection on the routed socket", async () => {
    mode = "rhea";
    const client = rhea.create_container({ id: "shared-port-test-client" });
    try {
      const opened = new Promise<string | undefined>((resolve, reject) => {
        client.once("connection_open", (context: rhea.EventContext) => resolve(context.connection.container_id));
        client.once("disconnected", (context: rhea.EventContext) => reject(context.error ?? new Error("disconnected")));
      });
      const connection = client.connect({ host: "localhost", port, reconnect: false });
      expect(await opened).toBe("shared-port-test-server");
      await new Promise<void>((resolve) => {
        client.once("connection_close", () => resolve());
        connection.close();
      });
    } finally {
      mode = "data-listener";
    }
  });

  test("an https request goes to the TLS handler and gets a response", async () => {
    const before = tlsRouted;
    const body = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: "localhost",
          port,
          path: "/$namespaceinfo?api-version=2021-05",
          headers: { Authorization: "SharedAccessSignature sr=a&sig=b&se=1&skn=k" },
          ca: endpoint.certificatePem,
          agent: false,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(tlsRouted).toBe(before + 1);
    expect(body.status).toBe(200);
    expect(body.body).toContain("<Name>shared-port</Name>");
  });

  test("the real admin client works through the shared port", async () => {
    const client = createEmulatorAdministrationClient(`Endpoint=sb://localhost:${port};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true`, endpoint.certificatePem);
    expect((await client.getNamespaceProperties()).name).toBe("shared-port");
    expect(await client.queueExists("anything")).toBe(false);
  });

  async function closedByServer(socket: net.Socket): Promise<void> {
    await new Promise<void>((resolve) => {
      if (socket.destroyed) resolve();
      socket.on("close", () => resolve());
      socket.on("error", () => undefined);
    });
  }

  test("sockets that close, reset or stay silent before sending reach neither handler", async () => {
    const othersBefore = others.length;
    const tlsBefore = tlsRouted;

    const closing = await connect();
    closing.end();
    await closedByServer(closing);

    const resetting = await connect();
    resetting.resetAndDestroy();

    const silent = await connect();
    const started = Date.now();
    await closedByServer(silent); // the 300 ms first-byte timeout drops it
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    // The listener is still healthy afterwards.
    const client = await connect();
    client.write(AMQP_HEADER);
    await until(() => others.length === othersBefore + 1);
    client.destroy();
    expect(tlsRouted).toBe(tlsBefore);
  });
});
