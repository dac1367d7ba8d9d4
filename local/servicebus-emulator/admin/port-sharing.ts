/**
 * Sharing one TCP port between AMQP and HTTPS by looking at the first byte a client sends.
 *
 * Both protocols are client-speaks-first: an AMQP client opens with the "AMQP" protocol
 * header (0x41), a TLS client with a handshake record (content type 0x16, ClientHello).
 * Service Bus SDKs reach the ATOM management API at the AMQP endpoint's host:port, so the
 * emulator serves both on one port.
 */
import type * as net from "node:net";

/** TLS record content type `handshake`: the first byte of every ClientHello. */
const TLS_HANDSHAKE_RECORD = 0x16;

export interface RouteByFirstByteOptions {
  /**
   * How long a connection may stay silent before it is dropped. Legitimate clients of either
   * protocol write immediately; this only bounds sockets that connect and say nothing.
   */
  firstByteTimeoutMs?: number;
}

/**
 * Waits for the socket's first bytes, puts them back (`unshift`) and hands the socket to
 * `tls` when it begins with a TLS handshake record, else to `other`, with every byte still
 * unread. A socket that closes, errors or stays silent before sending anything is destroyed
 * and reaches neither handler.
 *
 * Handlers receive the socket in the state of a fresh connection: buffered data pending,
 * no `data` listener, not explicitly paused, so attaching a `data` listener (as rhea does)
 * or wrapping it in TLS (as `https.Server#emit("connection")` does) reads from the start.
 */
export function routeByFirstByte(socket: net.Socket, handlers: { tls: (s: net.Socket) => void; other: (s: net.Socket) => void }, options: RouteByFirstByteOptions = {}): void {
  const timeoutMs = options.firstByteTimeoutMs ?? 30_000;
  let settled = false;

  const cleanup = (): void => {
    settled = true;
    clearTimeout(timer);
    socket.removeListener("readable", onReadable);
    socket.removeListener("end", onGone);
    socket.removeListener("close", onGone);
  };

  // 'readable' (rather than 'data') keeps the stream out of flowing mode, so nothing can be
  // emitted to nobody between peeking and handing over; once the listener is removed Node
  // returns the stream to its initial state (flowing = null, or resumes it if the handler
  // attached a 'data' listener).
  const onReadable = (): void => {
    if (settled) return;
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) return; // spurious wake-up, or EOF (handled by 'end')
    if (chunk.length === 0) return;
    cleanup();
    socket.unshift(chunk);
    const handler = chunk[0] === TLS_HANDSHAKE_RECORD ? handlers.tls : handlers.other;
    handler(socket);
  };

  const onGone = (): void => {
    if (settled) return;
    cleanup();
    socket.destroy();
  };

  // Errors before dispatch (a reset during the wait) must not crash the process. The listener
  // stays after dispatch too: it does not hide errors from the handler's own listeners, it
  // only keeps an unhandled socket error from being fatal.
  socket.on("error", () => {
    if (!settled) onGone();
  });

  const timer = setTimeout(onGone, timeoutMs);
  timer.unref();

  if (socket.destroyed) {
    onGone();
    return;
  }
  socket.on("readable", onReadable);
  socket.on("end", onGone);
  socket.on("close", onGone);
}
