/**
 * The emulator's management endpoint: the read-only subset of the Service Bus ATOM REST API
 * that `ServiceBusAdministrationClient` calls, served over HTTPS.
 *
 * The admin client always calls `https://<host:port of the connection string's Endpoint>/…`,
 * i.e. the AMQP port. So this module never listens: the emulator's listener peeks at each
 * connection's first byte and hands TLS connections (record type 0x16) to `server` with
 * `server.emit("connection", socket)` (see port-sharing.ts), everything else to rhea.
 *
 * Certificate: a fresh self-signed one for localhost / 127.0.0.1 / ::1 per start. It is an
 * ECDSA P-256 key, which `selfsigned` makes in ~6 ms warm and ~25 ms cold on the dev box
 * (RSA-2048 took 50–155 ms). That is cheap enough to generate BEFORE the AMQP port starts
 * listening, so `createManagementEndpoint` resolves with a ready server and nothing needs
 * buffering: await it, then listen. Clients must trust `certificatePem` (see client.ts).
 *
 * Requests: GET/HEAD are answered from the NamespaceView (routes.ts). Writes get 403 with
 * `SubCode=40301`, which the SDK maps to a RestError with code "InvalidOperationError";
 * entities come from Config.json. Like the service (and Microsoft's emulator), any SAS
 * Authorization header is accepted, but a request without one gets 401.
 */
import type { IncomingMessage } from "node:http";
import * as https from "node:https";
import type * as net from "node:net";
import { performance } from "node:perf_hooks";
import { generate } from "selfsigned";

import type { NamespaceView } from "../store/views";
import { errorResponse, respondToGet, type ManagementResponse } from "./routes";

export interface ManagementEndpointOptions {
  namespace: NamespaceView;
  log?: (line: string) => void;
}

export interface ManagementEndpoint {
  /** Never listening; feed it TLS connections with `server.emit("connection", socket)`. */
  server: https.Server;
  /** PEM of the self-signed certificate the server presents; clients pass it as a trusted CA. */
  certificatePem: string;
  /** Destroys every connection handed to the server; later connections are refused. */
  close(): Promise<void>;
}

/** Methods that would change entities; the service would execute them, the emulator refuses. */
const WRITE_METHODS = new Set(["PUT", "POST", "DELETE", "PATCH", "MERGE"]);

const READ_ONLY_DETAIL =
  "SubCode=40301. The Service Bus emulator's management endpoint is read-only: its queues, topics, " +
  "subscriptions and rules are created from its Config.json at startup. Edit Config.json and restart " +
  "the emulator to change them.";

const MISSING_TOKEN_DETAIL = "MissingToken: The request has no Authorization header. Send a SharedAccessSignature token " + "(any key is accepted by the emulator).";

/**
 * A Host header only ever feeds ids and links in the returned XML; anything unusual falls back
 * to localhost rather than being reflected.
 */
function requestHost(header: string | undefined): string {
  return header !== undefined && /^[A-Za-z0-9.\-:[\]]{1,255}$/.test(header) ? header : "localhost";
}

async function generateCertificate(): Promise<{ key: string; cert: string }> {
  const notBefore = new Date(Date.now() - 60 * 60 * 1000); // tolerate small clock adjustments
  const notAfter = new Date(Date.now() + 365 * 24 * 60 * 60 * 1000);
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      // A leaf (not a CA) certificate: Node accepts a self-signed leaf passed as `ca`.
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

export async function createManagementEndpoint(options: ManagementEndpointOptions): Promise<ManagementEndpoint> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const { key, cert } = await generateCertificate();
  log(`management endpoint: self-signed certificate for localhost generated in ${(performance.now() - started).toFixed(1)} ms`);

  const server = https.createServer(
    {
      key,
      cert,
      minVersion: "TLSv1.2",
      // A client that opens TLS and stalls should not hold a socket for the default 120 s.
      handshakeTimeout: 10_000,
    },
    (req, res) => {
      // Bodies of refused writes are not needed, but must be drained for keep-alive reuse.
      req.resume();
      let response: ManagementResponse;
      try {
        response = answer(req);
      } catch (error) {
        // A misbehaving view must not take the emulator down; the SDK sees a 500 and retries.
        log(`management endpoint: ${req.method} ${req.url} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        response = errorResponse(500, "InternalServerError: the emulator failed to answer this management request.");
      }
      if (response.status >= 400 && response.status !== 404) {
        log(`management endpoint: ${req.method} ${req.url} -> ${response.status}`);
      }
      const headers: Record<string, string | number> = {
        "Content-Type": response.contentType,
        "Content-Length": Buffer.byteLength(response.body),
      };
      if (response.status === 405) headers["Allow"] = "GET, HEAD";
      res.writeHead(response.status, headers);
      res.end(response.body);
    },
  );
  // Not listening means no server-level request timers; an idle-socket timeout bounds keep-alive.
  server.setTimeout(60_000);

  function answer(req: IncomingMessage): ManagementResponse {
    const authorization = req.headers["authorization"];
    if (typeof authorization !== "string" || authorization.trim() === "") {
      return errorResponse(401, MISSING_TOKEN_DETAIL);
    }
    const method = (req.method ?? "GET").toUpperCase();
    if (WRITE_METHODS.has(method)) return errorResponse(403, READ_ONLY_DETAIL);
    if (method !== "GET" && method !== "HEAD") {
      return errorResponse(405, `The management endpoint does not support the ${method} method.`);
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "https://localhost");
    } catch {
      return errorResponse(400, "The request URL is malformed.");
    }
    const host = requestHost(req.headers.host);
    return respondToGet(url.pathname, url.searchParams, { host, namespace: options.namespace });
  }

  // Raw sockets handed to us, so close() can end them: a server that never listened has no
  // connection tracking of its own (Node sets that up on 'listening').
  const sockets = new Set<net.Socket>();
  let closed = false;
  server.on("connection", (socket: net.Socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", (error, tlsSocket) => {
    // Typical cause: a client that does not trust the certificate and aborts the handshake.
    log(`management endpoint: TLS handshake failed: ${error.message}`);
    tlsSocket.destroy();
  });
  server.on("clientError", (error, socket) => {
    // Unparseable HTTP: answer 400 like the default handler would, in the service's error format.
    if (socket.writable && !(error as NodeJS.ErrnoException).code?.startsWith("ECONN")) {
      const body = errorResponse(400, "The request is not valid HTTP.").body;
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml; charset=utf-8\r\n` + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    } else {
      socket.destroy();
    }
  });

  return {
    server,
    certificatePem: cert,
    close: async () => {
      closed = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      // close() on a server that never listened reports ERR_SERVER_NOT_RUNNING; nothing to wait for.
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
