/**
 * A TCP proxy that can cut a service off on command: the fault suite (`npm run chaos`) puts one
 * in front of each embedded service, hands the functions host the proxy's port, and cuts it to
 * stage an outage while the harness still reaches the service directly.
 *
 * Three ways to cut, because clients notice them differently (the Cosmos SDK, for one, retries
 * reads after ECONNRESET for ten seconds but not after ECONNREFUSED, and never retries writes):
 * - `down`: open connections are reset and the proxy stops listening — a stopped service:
 *   new connections fail with ECONNREFUSED. Restore listens on the same port again.
 * - `refuse`: every open connection is reset (RST) and every new one is reset as soon as it is
 *   accepted — a service that crashes on each request: clients fail with ECONNRESET.
 * - `blackhole`: nothing is closed and nothing answers — a network partition: open connections
 *   go silent (bytes are held, not dropped, and flow again on restore, as TCP retransmission
 *   would deliver them), new connections are accepted but never reach the service until
 *   restore. Clients only notice through their own timeouts.
 */
import * as net from "node:net";

export type CutMode = "down" | "refuse" | "blackhole";

export interface StartFaultProxyOptions {
  /** Where the service listens. */
  target: { host: string; port: number };
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface FaultProxy {
  readonly port: number;
  /** `open`, or how the proxy is cut. */
  readonly state: "open" | CutMode;
  /** Connections currently held (both forwarding and, when blackholed, silent ones). */
  readonly connections: number;
  /** Connections accepted since the start (a client that reconnects shows here). */
  readonly accepted: number;
  /** Bytes read and held back by the current blackhole, not yet delivered. */
  readonly heldBytes: number;
  cut(mode: CutMode): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** One client connection and its connection to the service, forwarded by hand so a cut can hold both directions. */
class Link {
  private upstream: net.Socket | undefined;
  /** Bytes (or an end) read while blackholed, delivered on restore in order. */
  private readonly held: { toUpstream: Array<Buffer | "end">; toClient: Array<Buffer | "end"> } = { toUpstream: [], toClient: [] };
  private pendingClose = false;
  heldBytes = 0;
  private closed = false;

  constructor(
    private readonly client: net.Socket,
    private readonly target: { host: string; port: number },
    private readonly isHeld: () => boolean,
    private readonly onClose: (link: Link) => void,
  ) {
    client.on("error", () => this.destroy());
    client.on("close", () => (this.isHeld() ? (this.pendingClose = true) : this.destroy()));
    client.on("data", (chunk: Buffer) => this.forward(chunk, "toUpstream"));
    client.on("end", () => this.forward("end", "toUpstream"));
    if (isHeld()) client.pause();
    else this.connectUpstream();
  }

  private connectUpstream(): void {
    const upstream = net.connect(this.target.port, this.target.host);
    this.upstream = upstream;
    upstream.on("error", () => this.destroy());
    upstream.on("close", () => (this.isHeld() ? (this.pendingClose = true) : this.destroy()));
    upstream.on("data", (chunk: Buffer) => this.forward(chunk, "toClient"));
    upstream.on("end", () => this.forward("end", "toClient"));
  }

  private forward(chunk: Buffer | "end", direction: "toUpstream" | "toClient"): void {
    if (this.closed) return;
    if (this.isHeld()) {
      this.held[direction].push(chunk);
      if (chunk !== "end") this.heldBytes += chunk.length;
      // Stop reading: the sender's writes back up in TCP buffers, as they would across a partition.
      this.client.pause();
      this.upstream?.pause();
      return;
    }
    const from = direction === "toUpstream" ? this.client : this.upstream!;
    const to = direction === "toUpstream" ? this.upstream! : this.client;
    if (chunk === "end") {
      to.end();
      return;
    }
    if (!to.write(chunk)) {
      from.pause();
      to.once("drain", () => !this.isHeld() && from.resume());
    }
  }

  /** After a blackhole: connect if the connection arrived during the cut, deliver what was held, read again. */
  release(): void {
    if (this.closed) return;
    if (!this.upstream) this.connectUpstream();
    this.heldBytes = 0;
    for (const direction of ["toUpstream", "toClient"] as const) {
      const chunks = this.held[direction].splice(0);
      for (const chunk of chunks) this.forward(chunk, direction);
    }
    if (this.pendingClose) {
      this.destroy();
      return;
    }
    this.client.resume();
    this.upstream?.resume();
  }

  /** Both sides reset (RST), as a crashed peer or a firewall's reject does. */
  reset(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.resetAndDestroy();
    this.upstream?.resetAndDestroy();
    this.onClose(this);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.upstream?.destroy();
    this.onClose(this);
  }
}

export async function startFaultProxy(options: StartFaultProxyOptions): Promise<FaultProxy> {
  let state: FaultProxy["state"] = "open";
  let accepted = 0;
  const links = new Set<Link>();
  const server = net.createServer((socket) => {
    accepted++;
    socket.setNoDelay(true);
    if (state === "refuse" || state === "down") {
      socket.on("error", () => undefined);
      socket.resetAndDestroy();
      return;
    }
    links.add(
      new Link(
        socket,
        options.target,
        () => state === "blackhole",
        (link) => links.delete(link),
      ),
    );
  });
  const listen = (port: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(options.port ?? 0);
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get state() {
      return state;
    },
    get connections() {
      return links.size;
    },
    get accepted() {
      return accepted;
    },
    get heldBytes() {
      let total = 0;
      for (const link of links) total += link.heldBytes;
      return total;
    },
    async cut(mode) {
      if (state === "down") await listen(port);
      state = mode;
      if (mode === "refuse" || mode === "down") for (const link of [...links]) link.reset();
      if (mode === "down") await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async restore() {
      const was = state;
      state = "open";
      if (was === "blackhole") for (const link of [...links]) link.release();
      if (was === "down") await listen(port);
    },
    async close() {
      const was = state;
      state = "open";
      for (const link of [...links]) link.destroy();
      if (was !== "down") await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
