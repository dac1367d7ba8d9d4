/**
 * A TCP proxy that can cut a service off on command: the fault suite (`npm run chaos`) puts one
 * in front of each embedded service, hands the functions host the proxy's port, and cuts it to
 * stage an outage while the harness still reaches the service directly.
 *
 * Two ways to cut, because clients notice them differently:
 * - `refuse`: every open connection is reset (RST) and every new one is reset as soon as it is
 *   accepted — a crashed service or a closed port: clients fail fast with ECONNRESET.
 * - `blackhole`: nothing is closed and nothing answers — a network partition: open connections
 *   go silent (bytes are held, not dropped, and flow again on restore, as TCP retransmission
 *   would deliver them), new connections are accepted but never reach the service until
 *   restore. Clients only notice through their own timeouts.
 */
import * as net from "node:net";

export type CutMode = "refuse" | "blackhole";

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
  cut(mode: CutMode): void;
  restore(): void;
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
    if (state === "refuse") {
      socket.on("error", () => undefined);
      socket.resetAndDestroy();
      return;
    }
    links.add(new Link(socket, options.target, () => state === "blackhole", (link) => links.delete(link)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
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
    cut(mode) {
      state = mode;
      if (mode === "refuse") for (const link of [...links]) link.reset();
    },
    restore() {
      const wasHeld = state === "blackhole";
      state = "open";
      if (wasHeld) for (const link of [...links]) link.release();
    },
    async close() {
      state = "open";
      for (const link of [...links]) link.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
