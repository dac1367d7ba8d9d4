/**
 * The AMQP 1.0 side of the emulator: accepts connections (SASL ANONYMOUS, as the SDK logs in
 * with CBS tokens rather than SASL), answers CBS put-token requests, and maps links onto the
 * store — client senders onto `namespace.send`, client receivers onto consumers of an
 * entity, `$management` requests onto the management node.
 *
 * rhea calls our handlers from inside its frame processing; an exception there would close
 * the client's connection, so every handler turns failures into AMQP errors on the link or
 * delivery concerned. One client misbehaving never affects another.
 */
import { randomUUID } from "node:crypto";
import type * as net from "node:net";
import rhea = require("rhea");
import type { Connection, Delivery, EventContext, Message as AmqpMessage, Receiver, Sender } from "rhea";
import { EmulatorError } from "../errors";
import type { MessageEntity } from "../store/entity";
import type { Consumer, IncomingMessage, StoredMessage } from "../store/message";
import type { ServiceBusNamespace } from "../store/namespace";
import { parseEntityAddress } from "../store/paths";
import { BATCH_MESSAGE_FORMAT, decodeBatch, encodedSize, ensureMessageId, lockTokenToDeliveryTag, scheduledEnqueueTimeOf, toDeliveredMessage, withoutBrokerAnnotations } from "./codec";
import { handleManagementRequest } from "./management";
import { acceptedOutcome, rejectedOutcome } from "./outcomes";

export interface AmqpServerOptions {
  namespace: ServiceBusNamespace;
  maxMessageSizeInBytes: number;
  log: (line: string) => void;
}

const SESSION_FILTER = "com.microsoft:session-filter";
const LOCKED_UNTIL_PROPERTY = "com.microsoft:locked-until-utc";
const TIMEOUT_PROPERTY = "com.microsoft:timeout";
/** .NET ticks (100 ns since 0001-01-01) at the Unix epoch. */
const TICKS_AT_EPOCH = 621355968000000000n;
/** How long acceptNextSession waits when the client names no timeout (the service's default). */
const DEFAULT_SESSION_WAIT_MS = 60_000;

export class AmqpServer {
  private readonly container: rhea.Container;
  private readonly connections = new Set<Connection>();
  /** Consumers per connection, so a dropped socket releases its links even without detach frames. */
  private readonly consumersByConnection = new Map<Connection, Set<LinkConsumer>>();

  constructor(private readonly options: AmqpServerOptions) {
    this.container = rhea.create_container({ id: "custody-servicebus-emulator" });
    const sasl = this.container.sasl_server_mechanisms as SaslServerMechanisms;
    sasl.enable_anonymous();
    sasl.enable_plain(() => true);
    this.wire();
  }

  /** Serves one accepted socket (the port listener decides which sockets are AMQP). */
  accept(socket: net.Socket): void {
    const connection = this.container.create_connection({
      // Settlement is explicit: the emulator decides accept/reject per delivery.
      autoaccept: false,
      autosettle: false,
      treat_modified_as_released: false,
      container_id: "custody-servicebus-emulator",
      max_frame_size: 65536,
    } as unknown as rhea.ConnectionOptions);
    (connection as unknown as { accept(socket: net.Socket): void }).accept(socket);
    // rhea learns of a socket's end only from 'end' or 'error'. A socket destroyed without
    // either (a client that resets, emulator shutdown) would leave rhea's idle-timeout timer
    // (2 × idle_time_out = 4 min) running and keep the process alive: tell rhea on 'close'.
    socket.once("close", () => (connection as unknown as { eof(): void }).eof());
  }

  /** Fault injection: cut every client connection without closing frames, as a network failure would. */
  dropConnections(): number {
    let count = 0;
    for (const connection of this.connections) {
      const socket = (connection as unknown as { socket?: net.Socket }).socket;
      socket?.destroy();
      this.releaseConnection(connection);
      count++;
    }
    return count;
  }

  close(): void {
    for (const connection of [...this.connections]) {
      try {
        connection.close({ condition: "amqp:connection:forced", description: "The emulator is shutting down." });
      } catch {
        // already gone
      }
      (connection as unknown as { socket?: net.Socket }).socket?.destroy();
      this.releaseConnection(connection);
    }
  }

  // ------------------------------------------------------------------ wiring

  private wire(): void {
    const c = this.container;
    c.on("connection_open", (context: EventContext) => {
      this.connections.add(context.connection);
    });
    for (const event of ["connection_close", "disconnected"] as const) {
      c.on(event, (context: EventContext) => this.releaseConnection(context.connection));
    }
    // Without these listeners rhea's EventEmitter would throw on error events and take the process down.
    c.on("error", (error: unknown) => this.options.log(`connection error: ${describe(error)}`));
    c.on("protocol_error", (error: unknown) => this.options.log(`protocol error: ${describe(error)}`));
    c.on("connection_error", (context: EventContext) => this.options.log(`connection closed with error: ${describe(context.connection.error)}`));
    c.on("sender_open", (context: EventContext) => this.guard(context, () => this.onClientReceiver(context.sender!)));
    c.on("receiver_open", (context: EventContext) => this.guard(context, () => this.onClientSender(context.receiver!)));
    c.on("message", (context: EventContext) => this.onMessage(context));
    c.on("sendable", (context: EventContext) => consumerOf(context.sender)?.onCredit());
    c.on("sender_draining", (context: EventContext) => consumerOf(context.sender)?.onDrain());
    for (const outcome of ["accepted", "rejected", "released", "modified"] as const) {
      c.on(outcome, (context: EventContext) => consumerOf(context.sender)?.onDisposition(context.delivery!));
    }
    for (const event of ["sender_close", "sender_error"] as const) {
      c.on(event, (context: EventContext) => {
        const consumer = consumerOf(context.sender);
        if (consumer) this.removeConsumer(consumer);
      });
    }
    c.on("session_error", () => undefined);
    c.on("receiver_error", () => undefined);
  }

  private guard(context: EventContext, action: () => void): void {
    try {
      action();
    } catch (error) {
      const link = context.sender ?? context.receiver;
      const emulatorError = error instanceof EmulatorError ? error : new EmulatorError("ArgumentError", describe(error));
      this.options.log(`link '${link?.name}' refused: ${emulatorError.message}`);
      link?.close(emulatorError.toAmqpError());
    }
  }

  private releaseConnection(connection: Connection): void {
    this.connections.delete(connection);
    const consumers = this.consumersByConnection.get(connection);
    if (!consumers) return;
    this.consumersByConnection.delete(connection);
    for (const consumer of consumers) consumer.entity.removeConsumer(consumer);
  }

  private removeConsumer(consumer: LinkConsumer): void {
    consumer.entity.removeConsumer(consumer);
    this.consumersByConnection.get(consumer.sender.connection)?.delete(consumer);
  }

  // ------------------------------------------------------------------ client senders (our receivers)

  private onClientSender(receiver: Receiver): void {
    const address = targetAddress(receiver);
    (receiver as unknown as { local: { attach: { max_message_size: number } } }).local.attach.max_message_size = this.options.maxMessageSizeInBytes;
    if (address === "$cbs" || parseEntityAddress(address)?.management) return; // request links
    // Fail the attach for unknown entities, as the service does.
    const resolved = this.options.namespace.resolve(address);
    if (resolved.kind === "subscription" || resolved.address.subQueue) {
      throw new EmulatorError("InvalidOperation", `Cannot send to '${address}': send to a queue or a topic.`);
    }
  }

  private onMessage(context: EventContext): void {
    const receiver = context.receiver!;
    const delivery = context.delivery!;
    const address = targetAddress(receiver);
    try {
      if (address === "$cbs") {
        this.reply(context.connection, context.message!, CBS_ACCEPTED);
        delivery.update(true, acceptedOutcome());
        return;
      }
      const parsed = parseEntityAddress(address);
      if (parsed?.management) {
        const request = context.message!;
        const entityPath = address.replace(/\/\$management$/i, "");
        const response = handleManagementRequest(this.options.namespace, entityPath, request, this.options.maxMessageSizeInBytes);
        try {
          this.reply(context.connection, request, response);
        } catch (error) {
          // A response that cannot be encoded is an emulator bug; the client still gets an answer, not a time-out.
          this.options.log(`management response for '${entityPath}' could not be sent: ${describe(error)}`);
          this.reply(context.connection, request, {
            application_properties: { statusCode: 500, statusDescription: `Emulator error: ${describe(error)}`, "error-condition": "amqp:internal-error" },
            body: {},
          });
        }
        delivery.update(true, acceptedOutcome());
        return;
      }
      const messages = this.incomingMessages(context);
      for (const incoming of messages) {
        if (incoming.size > this.options.maxMessageSizeInBytes) {
          throw new EmulatorError(
            "MessageSizeExceeded",
            `The received message (delivery-id:${delivery.id}, size:${incoming.size} bytes) exceeds the limit (${this.options.maxMessageSizeInBytes} bytes) currently allowed on the link.`,
          );
        }
      }
      // All messages of a batch are validated before any is stored: a batch is accepted or refused whole.
      // A message may ask to be scheduled by its annotation (ServiceBusMessage.scheduledEnqueueTimeUtc), as on the service.
      for (const incoming of messages) this.options.namespace.send(address, incoming, scheduledEnqueueTimeOf(incoming.amqp));
      delivery.update(true, acceptedOutcome());
    } catch (error) {
      const emulatorError = error instanceof EmulatorError ? error : new EmulatorError("ArgumentError", describe(error));
      this.options.log(`transfer to '${address}' refused: ${emulatorError.message}`);
      delivery.update(true, rejectedOutcome(emulatorError.toAmqpError()));
    }
  }

  private incomingMessages(context: EventContext): IncomingMessage[] {
    const format = (context as unknown as { format?: number }).format;
    if (format === BATCH_MESSAGE_FORMAT) {
      return decodeBatch(context.message as unknown as Buffer).map(({ amqp, size }) => ({
        amqp: ensureMessageId(withoutBrokerAnnotations(amqp)),
        size,
      }));
    }
    if (format !== undefined && format !== 0) {
      throw new EmulatorError("ArgumentError", `Unsupported message format 0x${format.toString(16)}.`);
    }
    const amqp = ensureMessageId(withoutBrokerAnnotations(context.message!));
    return [{ amqp, size: encodedSize(amqp) }];
  }

  private reply(connection: Connection, request: AmqpMessage, response: { application_properties: Record<string, unknown>; body: unknown }): void {
    const replyTo = request.reply_to;
    const sender = (connection as unknown as { find_sender(filter: (s: Sender) => boolean): Sender | undefined }).find_sender((s: Sender) => s.name === replyTo || sourceAddress(s) === replyTo);
    if (!sender) {
      this.options.log(`no reply link '${String(replyTo)}' for a request; the response is dropped`);
      return;
    }
    sender.send({
      message_id: randomUUID(),
      correlation_id: request.message_id,
      to: replyTo,
      application_properties: response.application_properties,
      body: response.body,
    });
  }

  // ------------------------------------------------------------------ client receivers (our senders)

  private onClientReceiver(sender: Sender): void {
    const address = sourceAddress(sender);
    const local = (sender as unknown as LinkInternals).local.attach;
    local.snd_settle_mode = sender.snd_settle_mode ?? 0;
    local.rcv_settle_mode = sender.rcv_settle_mode ?? 0;
    if (address === "$cbs" || parseEntityAddress(address)?.management) return; // reply links

    const entity = this.options.namespace.receivableEntity(address);
    const receiveMode = sender.snd_settle_mode === 1 ? "receiveAndDelete" : "peekLock";
    const filter = (sender.source as { filter?: Record<string, unknown> } | undefined)?.filter;
    const wantsSession = !!filter && SESSION_FILTER in filter;

    if (!wantsSession) {
      if (entity.requiresSession) {
        throw new EmulatorError("InvalidOperation", `It is not possible for an entity that requires sessions to create a non-sessionful message receiver: '${address}'.`);
      }
      this.addConsumer(new LinkConsumer(sender, entity, receiveMode, undefined));
      return;
    }

    const requested = unwrapValue(filter[SESSION_FILTER]);
    const sessionId = typeof requested === "string" && requested.length > 0 ? requested : undefined;
    const timeoutProperty = unwrapValue((sender.properties as Record<string, unknown> | undefined)?.[TIMEOUT_PROPERTY]);
    const waitMs = typeof timeoutProperty === "number" ? timeoutProperty : DEFAULT_SESSION_WAIT_MS;
    const consumer = new LinkConsumer(sender, entity, receiveMode, sessionId);
    // The attach reply must carry the session id the emulator picked, which may take a while
    // (accept-next-session waits for one): hold the attach frame back until it is known.
    deferAttach(sender);
    // Track the waiting link like an attached one: if the client detaches it or its connection
    // drops while it waits, removeConsumer ends the wait. Otherwise a session arriving later
    // would be locked to a receiver that no longer exists, and stay locked for LockDuration.
    this.trackConsumer(consumer);
    entity.acceptSession(consumer, sessionId, waitMs).then(
      (acceptedId) => {
        consumer.sessionId = acceptedId;
        sender.set_source({ ...(sender.source as object), filter: { [SESSION_FILTER]: acceptedId } } as unknown as rhea.TerminusOptions);
        local.properties = { [LOCKED_UNTIL_PROPERTY]: rhea.types.wrap_long(ticksBuffer(entity.sessionLockedUntil(acceptedId))) };
        sender.open();
        entity.addConsumer(consumer);
      },
      (error: unknown) => {
        this.untrackConsumer(consumer);
        if (!sender.is_remote_open() || !sender.connection.is_open()) return; // the client gave up first
        const emulatorError = error instanceof EmulatorError ? error : new EmulatorError("ArgumentError", describe(error));
        sender.set_source({ ...(sender.source as object), filter: undefined } as unknown as rhea.TerminusOptions);
        sender.open();
        sender.close(emulatorError.toAmqpError());
      },
    );
  }

  private addConsumer(consumer: LinkConsumer): void {
    this.trackConsumer(consumer);
    consumer.entity.addConsumer(consumer);
  }

  /** Makes link-close and connection-drop events reach the consumer (see releaseConnection). */
  private trackConsumer(consumer: LinkConsumer): void {
    const connection = consumer.sender.connection;
    let set = this.consumersByConnection.get(connection);
    if (!set) this.consumersByConnection.set(connection, (set = new Set()));
    set.add(consumer);
    consumers.set(consumer.sender, consumer);
  }

  private untrackConsumer(consumer: LinkConsumer): void {
    this.consumersByConnection.get(consumer.sender.connection)?.delete(consumer);
    consumers.delete(consumer.sender);
  }
}

interface LinkInternals {
  local: { attach: { snd_settle_mode: number; rcv_settle_mode: number; properties?: Record<string, unknown>; max_message_size?: number } };
  state: { local_open: boolean; open_requests: number };
}

const consumers = new WeakMap<Sender, LinkConsumer>();

function consumerOf(sender: Sender | undefined): LinkConsumer | undefined {
  return sender ? consumers.get(sender) : undefined;
}

/**
 * A client's receiving link, as the store sees it. Credit is the link credit minus the
 * deliveries handed to rhea but not yet written (rhea counts a delivery against credit only
 * when it writes the transfer).
 */
class LinkConsumer implements Consumer {
  readonly id = randomUUID();
  sessionId: string | undefined;
  private readonly pending: Delivery[] = [];
  private readonly lockTokens = new WeakMap<Delivery, string>();
  private repumpScheduled = false;

  constructor(
    readonly sender: Sender,
    readonly entity: MessageEntity,
    readonly receiveMode: "peekLock" | "receiveAndDelete",
    sessionId: string | undefined,
  ) {
    this.sessionId = sessionId;
  }

  credit(): number {
    if (!this.sender.is_open()) return 0;
    const next = (this.sender.session as unknown as { outgoing: { next_pending_delivery: number } }).outgoing.next_pending_delivery;
    while (this.pending.length > 0 && (this.pending[0] as unknown as { id: number }).id < next) this.pending.shift();
    return (this.sender as unknown as { credit: number }).credit - this.pending.length;
  }

  deliver(message: StoredMessage, lockToken: string | undefined): void {
    const tag = lockTokenToDeliveryTag(lockToken ?? randomUUID());
    const delivery = this.sender.send(toDeliveredMessage(message), tag);
    this.pending.push(delivery);
    if (lockToken) this.lockTokens.set(delivery, lockToken);
    this.scheduleRepump();
  }

  sessionLost(reason: string): void {
    this.sender.close({ condition: "com.microsoft:session-lock-lost", description: reason });
  }

  onCredit(): void {
    this.entity.pump();
  }

  /** The client drains credit after a receive: hand over what exists, then report the rest unused. */
  onDrain(): void {
    this.entity.pump();
    setImmediate(() => {
      if (!this.sender.is_open()) return;
      this.entity.pump();
      if (this.credit() > 0 && this.pending.length === 0) this.reportDrained();
      else if (this.pending.length > 0) this.onDrainLater();
    });
  }

  private onDrainLater(): void {
    setImmediate(() => {
      if (!this.sender.is_open()) return;
      if (this.credit() > 0 && this.pending.length === 0) this.reportDrained();
      else if (this.pending.length > 0) this.onDrainLater();
    });
  }

  /**
   * rhea's set_drained only marks the link for a flow frame; outside rhea's own event
   * processing (we are in a setImmediate) nothing writes it until some other frame goes out.
   * Without the drained flow the SDK gives up after 200 ms and closes the receive link —
   * which for a session receiver means losing the session. Ask rhea to write it now.
   */
  private reportDrained(): void {
    this.sender.set_drained(true);
    (this.sender.connection as unknown as { _register(): void })._register();
  }

  /** Settlement over the receive link: complete / abandon / defer / dead-letter. */
  onDisposition(delivery: Delivery): void {
    const lockToken = this.lockTokens.get(delivery);
    if (!lockToken) {
      if (!delivery.settled) delivery.update(true, acceptedOutcome());
      releaseSettledDelivery(delivery);
      return;
    }
    this.lockTokens.delete(delivery);
    const state = delivery.remote_state as
      | { constructor: { composite_type?: string }; error?: { condition?: string; info?: Record<string, unknown> }; undeliverable_here?: boolean; message_annotations?: Record<string, unknown> }
      | undefined;
    const outcome = state?.constructor?.composite_type;
    try {
      switch (outcome) {
        case "accepted":
          this.entity.complete(lockToken);
          break;
        case "rejected": {
          const info = state?.error?.info ?? {};
          this.entity.deadLetter(
            lockToken,
            optionalText(info.DeadLetterReason),
            optionalText(info.DeadLetterErrorDescription),
            propertiesWithout(info, ["DeadLetterReason", "DeadLetterErrorDescription"]),
          );
          break;
        }
        case "modified":
          if (state?.undeliverable_here) this.entity.defer(lockToken, state.message_annotations);
          else this.entity.abandon(lockToken, state?.message_annotations);
          break;
        case "released":
          this.entity.abandon(lockToken);
          break;
        default:
          throw new EmulatorError("ArgumentError", `Unsupported settlement outcome '${String(outcome)}'.`);
      }
      delivery.update(true, acceptedOutcome());
    } catch (error) {
      const emulatorError = error instanceof EmulatorError ? error : new EmulatorError("ArgumentError", describe(error));
      delivery.update(true, rejectedOutcome(emulatorError.toAmqpError()));
    }
    releaseSettledDelivery(delivery);
  }

  private scheduleRepump(): void {
    if (this.repumpScheduled) return;
    this.repumpScheduled = true;
    // Credit frees up once rhea has written the pending transfers; look again then.
    setImmediate(() => {
      this.repumpScheduled = false;
      if (this.sender.is_open()) this.entity.pump();
    });
  }
}

/**
 * Holds back the attach frame rhea would send for a link the client opened. rhea opens such
 * links as soon as it dispatches `sender_open`; undoing that open (the endpoint's own
 * counters) lets a later `open()` send the attach with the source we fill in meanwhile.
 */
function deferAttach(sender: Sender): void {
  const state = (sender as unknown as LinkInternals).state;
  if (state.local_open && state.open_requests > 0) {
    state.local_open = false;
    state.open_requests--;
  }
}

/**
 * Lets rhea free an outgoing delivery that both ends have now settled. rhea drops a delivery
 * from its session's buffer (2048 slots) only when it is settled locally and remote_settled,
 * but under rcv-settle-mode "second" (the SDK's peek-lock receivers) the client sends its
 * outcome unsettled and, once we settle, settles without another frame, as AMQP allows.
 * Without this every peek-lock delivery stayed in the buffer and the 2049th delivery on a
 * receive link overflowed it, which closed the client's connection.
 */
function releaseSettledDelivery(delivery: Delivery): void {
  const state = delivery as unknown as { settled: boolean; remote_settled: boolean };
  if (state.settled) state.remote_settled = true;
}

function ticksBuffer(ms: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(Math.floor(ms)) * 10000n + TICKS_AT_EPOCH);
  return buffer;
}

/** The emulator accepts every CBS token (as Microsoft's emulator does): it has no keys to check against. */
const CBS_ACCEPTED = { application_properties: { "status-code": 202, "status-description": "Accepted" }, body: {} };

/** rhea types its server SASL registry as `any`; these are the two mechanisms the emulator enables. */
interface SaslServerMechanisms {
  enable_anonymous(): void;
  enable_plain(verify: (username: string, password: string) => boolean): void;
}

function sourceAddress(link: Sender | Receiver): string {
  return optionalText((link.source as { address?: unknown } | undefined)?.address) ?? "";
}

function targetAddress(link: Sender | Receiver): string {
  return optionalText((link.target as { address?: unknown } | undefined)?.address) ?? "";
}

function unwrapValue(value: unknown): unknown {
  if (value && typeof value === "object" && "value" in value && !Buffer.isBuffer(value)) return value.value;
  return value;
}

function optionalText(value: unknown): string | undefined {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- AMQP values (strings, numbers, UUIDs, Buffers) as their text
  return value === undefined || value === null ? undefined : String(value);
}

function propertiesWithout(info: Record<string, unknown>, keys: string[]): Record<string, unknown> | undefined {
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(info)) if (!keys.includes(key)) rest[key] = value;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === "object" && "description" in error) return String(error.description);
  return String(error);
}
