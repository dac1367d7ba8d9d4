/**
 * The OpenTelemetry bootstrap and the stage spans, without a network: the Azure Monitor distro
 * is replaced by a recording fake, and spans go to an in-memory exporter registered as the
 * global tracer provider.
 */
import { InvocationContext } from "@azure/functions";
import type { TokenCredential } from "@azure/identity";
import type { AzureMonitorOpenTelemetryOptions } from "@azure/monitor-opentelemetry";
import type { ServiceBusClient, ServiceBusMessage } from "@azure/service-bus";
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { settleInvalidMessages, stageContextFor, type FunctionDefinition } from "../../functions/invocation";
import { ServiceBusPublisher } from "../../shared/adapters/service-bus-publisher";
import { isCustodyError } from "../../shared/errors";
import { resetTelemetryForTests, startTelemetry } from "../../shared/adapters/azure-monitor";
import { EVIDENCE_ID_ATTRIBUTE } from "../../shared/telemetry/stage-span";
import { ENTITIES } from "../../shared/topology";
import { traceIdOf } from "../../shared/tracing";

const CLIENT_ID = "3f2c1a7e-9b6d-4c1e-8f00-0123456789ab";
const CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/";

describe("startTelemetry", () => {
  afterEach(() => resetTelemetryForTests());

  test("does nothing when APPLICATIONINSIGHTS_CONNECTION_STRING is absent", () => {
    const useAzureMonitor = jest.fn();
    expect(startTelemetry({}, { useAzureMonitor })).toEqual({ enabled: false });
    expect(startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: "  " }, { useAzureMonitor })).toEqual({ enabled: false });
    expect(useAzureMonitor).not.toHaveBeenCalled();
  });

  test("configures the distro with the connection string and an Entra ID credential for the named identity", () => {
    const calls: AzureMonitorOpenTelemetryOptions[] = [];
    const credential = { getToken: async () => null } as TokenCredential;
    const createCredential = jest.fn(() => credential);
    const state = startTelemetry(
      { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `ClientId=${CLIENT_ID};Authorization=AAD` },
      { useAzureMonitor: (options) => calls.push(options), createCredential },
    );
    expect(state).toEqual({ enabled: true, authentication: "entra-id", clientId: CLIENT_ID, samplingRatio: 1 });
    expect(createCredential).toHaveBeenCalledWith(CLIENT_ID);
    expect(calls).toHaveLength(1);
    expect(calls[0].azureMonitorExporterOptions?.connectionString).toBe(CONNECTION);
    expect(calls[0].azureMonitorExporterOptions?.credential).toBe(credential);
    // Every recording traced, not a per-second sample.
    expect(calls[0].samplingRatio).toBe(1);
    expect(calls[0].tracesPerSecond).toBe(0);
  });

  test("samples whole traces by CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE (100 % when absent), never by a per-second rate", () => {
    const ratios: Array<number | undefined> = [];
    for (const percentage of [undefined, "25", "100", "0.5"]) {
      resetTelemetryForTests();
      startTelemetry(
        { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION, ...(percentage === undefined ? {} : { CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE: percentage }) },
        {
          useAzureMonitor: (options) => {
            ratios.push(options.samplingRatio);
            expect(options.tracesPerSecond).toBe(0);
          },
          createCredential: () => ({ getToken: async () => null }),
        },
      );
    }
    expect(ratios).toEqual([1, 0.25, 1, 0.005]);
  });

  test("refuses a sampling percentage outside (0, 100]", () => {
    for (const bad of ["0", "101", "-5", "ten", "50%"]) {
      resetTelemetryForTests();
      expect(() =>
        startTelemetry(
          { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION, CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE: bad },
          { useAzureMonitor: jest.fn(), createCredential: () => ({ getToken: async () => null }) },
        ),
      ).toThrow(/CUSTODY_TELEMETRY_SAMPLING_PERCENTAGE/);
    }
  });

  test("starts once per process", () => {
    const useAzureMonitor = jest.fn();
    const env = { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION };
    startTelemetry(env, { useAzureMonitor, createCredential: () => ({ getToken: async () => null }) });
    startTelemetry(env, { useAzureMonitor, createCredential: () => ({ getToken: async () => null }) });
    expect(useAzureMonitor).toHaveBeenCalledTimes(1);
  });

  test("refuses an authentication string that would leave the exporter unauthenticated", () => {
    const useAzureMonitor = jest.fn();
    for (const bad of ["ClientId=" + CLIENT_ID, `ClientId=not-a-guid;Authorization=AAD`, "Authorization=Key"]) {
      resetTelemetryForTests();
      let caught: unknown;
      try {
        startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION, APPLICATIONINSIGHTS_AUTHENTICATION_STRING: bad }, { useAzureMonitor });
      } catch (error) {
        caught = error;
      }
      expect(isCustodyError(caught) && caught.code === "InvalidConfiguration" && caught.message.includes("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")).toBe(true);
    }
    expect(useAzureMonitor).not.toHaveBeenCalled();
  });

  test("the app's bootstrap (functions/telemetry-bootstrap.ts) loads the distro only when the setting is present", () => {
    const saved = process.env.APPLICATIONINSIGHTS_CONNECTION_STRING;
    const runBootstrap = (connectionString: string | undefined): jest.Mock[] => {
      const loaded = jest.fn();
      const useAzureMonitor = jest.fn();
      if (connectionString === undefined) delete process.env.APPLICATIONINSIGHTS_CONNECTION_STRING;
      else process.env.APPLICATIONINSIGHTS_CONNECTION_STRING = connectionString;
      try {
        jest.isolateModules(() => {
          jest.doMock("@azure/monitor-opentelemetry", () => {
            loaded();
            return { useAzureMonitor };
          });
          require("../../functions/telemetry-bootstrap");
        });
      } finally {
        if (saved === undefined) delete process.env.APPLICATIONINSIGHTS_CONNECTION_STRING;
        else process.env.APPLICATIONINSIGHTS_CONNECTION_STRING = saved;
        jest.dontMock("@azure/monitor-opentelemetry");
      }
      return [loaded, useAzureMonitor];
    };
    const [loadedWithout, startedWithout] = runBootstrap(undefined);
    expect(loadedWithout).not.toHaveBeenCalled();
    expect(startedWithout).not.toHaveBeenCalled();
    const [loadedWith, startedWith] = runBootstrap(CONNECTION);
    expect(loadedWith).toHaveBeenCalledTimes(1);
    expect(startedWith).toHaveBeenCalledWith(expect.objectContaining({ azureMonitorExporterOptions: expect.objectContaining({ connectionString: CONNECTION }) }));
  });

  test("the real distro module exports useAzureMonitor (loaded lazily by startTelemetry)", () => {
    expect(typeof (require("@azure/monitor-opentelemetry") as { useAzureMonitor: unknown }).useAzureMonitor).toBe("function");
  });
});

const ingestLike: Pick<FunctionDefinition, "name" | "entity"> = { name: "ingest", entity: ENTITIES.blobCreated };
const hashLike: Pick<FunctionDefinition, "name" | "entity"> = { name: "hash", entity: ENTITIES.hashSubscription };

function invocation(name: string, triggerMetadata: Record<string, unknown>): InvocationContext {
  return new InvocationContext({ invocationId: `test-${name}`, functionName: name, triggerMetadata, logHandler: () => undefined });
}

/** A ServiceBusClient stand-in that keeps what the real publisher would have sent. */
function capturingClient(sent: ServiceBusMessage[]): ServiceBusClient {
  return {
    createSender: () => ({
      sendMessages: async (message: ServiceBusMessage) => {
        sent.push(message);
      },
      close: async () => undefined,
    }),
  } as unknown as ServiceBusClient;
}

describe("stage spans across messages", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  afterEach(() => {
    exporter.reset();
    trace.disable();
  });

  test("one recording's stages form one trace: the published message carries the sender's span as parent", async () => {
    trace.setGlobalTracerProvider(provider);
    const evidenceId = "ev-0123456789abcdef0123456789abcdef";
    const sent: ServiceBusMessage[] = [];
    const publisher = new ServiceBusPublisher(capturingClient(sent));

    const first = stageContextFor(ingestLike, invocation("ingest", { messageId: "event-1", deliveryCount: 1, applicationProperties: {} }));
    const outcome = await settleInvalidMessages(first, async () => {
      await publisher.publish(ENTITIES.evidenceReceivedTopic, {
        messageId: `${evidenceId}:received`,
        body: {},
        subject: "evidence-received",
        correlationId: evidenceId,
        traceparent: first.traceparent,
      });
    });
    expect(outcome).toEqual({ settle: "complete" });
    expect(sent).toHaveLength(1);
    expect(sent[0].applicationProperties?.traceparent).toBe(first.traceparent);

    const second = stageContextFor(hashLike, invocation("hash", { messageId: sent[0].messageId, deliveryCount: 1, applicationProperties: sent[0].applicationProperties }));
    await settleInvalidMessages(second, async () => undefined);

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(["ingest", "hash"]);
    const [ingestSpan, hashSpan] = spans;
    expect(hashSpan.spanContext().traceId).toBe(ingestSpan.spanContext().traceId);
    expect(hashSpan.parentSpanContext?.spanId).toBe(ingestSpan.spanContext().spanId);
    // The contexts the stages propagate are the spans themselves.
    expect(first.traceparent).toBe(`00-${ingestSpan.spanContext().traceId}-${ingestSpan.spanContext().spanId}-01`);
    expect(second.traceparent).toContain(hashSpan.spanContext().spanId);
    expect(hashSpan.attributes[EVIDENCE_ID_ATTRIBUTE]).toBe(evidenceId);
  });

  test("a failing stage's span is marked failed and the error still reaches the runtime", async () => {
    trace.setGlobalTracerProvider(provider);
    const context = stageContextFor(hashLike, invocation("hash", { applicationProperties: {} }));
    await expect(settleInvalidMessages(context, async () => Promise.reject(new Error("connection reset")))).rejects.toThrow("connection reset");
    const [span] = exporter.getFinishedSpans();
    expect(span.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(span.events.some((e) => e.name === "exception")).toBe(true);
  });

  test("without telemetry the stage still continues the incoming trace (no spans recorded)", async () => {
    const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const context = stageContextFor(hashLike, invocation("hash", { applicationProperties: { traceparent: incoming } }));
    expect(traceIdOf(context.traceparent)).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(context.traceparent).not.toBe(incoming);
    await settleInvalidMessages(context, async () => undefined);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});
