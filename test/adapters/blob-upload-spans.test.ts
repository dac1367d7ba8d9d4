/**
 * A rendition upload is one span, not one per 4 MiB block. In Azure the HTTP and Azure SDK
 * instrumentations start a span for every request made in a traced context; here a probe on
 * Node's own `http.client.request.start` channel does the same (a span in the active context
 * for every outgoing request, as @opentelemetry/instrumentation-http does), so the test sees
 * exactly what would be exported: with tracing not suppressed inside the upload, a 13 MiB
 * rendition would add one span per block request.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { BlobServiceClient } from "@azure/storage-blob";
import { context, ROOT_CONTEXT, SpanKind, trace, type Context, type ContextManager } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { AzureBlobStore } from "../../shared/adapters/azure-blob-store";
import { createBlobServiceClient } from "../../shared/adapters/blob-service-client";
import { DERIVED_CONTAINER } from "../../shared/ports/blob-store";
import { inSingleSpan, withoutTracing } from "../../shared/telemetry/single-span";
import { startAzurite, type AzuriteInstance } from "../../local/azurite";

/** The context propagation the Node SDK registers (AsyncLocalStorage), small enough to write here. */
class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== "function") return target;
    const run = (...args: unknown[]): unknown => this.with(ctx, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
/** What an HTTP instrumentation does for each request: a client span in the request's context. */
const probe = (message: unknown): void => {
  const request = (message as { request?: { method?: string; path?: string } }).request;
  trace
    .getTracer("http-probe")
    .startSpan(`HTTP ${request?.method ?? "?"}`, { kind: SpanKind.CLIENT, attributes: { "url.path": request?.path ?? "" } })
    .end();
};

let azurite: AzuriteInstance;
let location: string;
let store: AzureBlobStore;
let service: BlobServiceClient;

beforeAll(async () => {
  location = mkdtempSync(path.join(os.tmpdir(), "custody-upload-spans-"));
  azurite = await startAzurite({ location: path.join(location, "azurite") });
  service = createBlobServiceClient({ connectionString: azurite.connectionString });
  await service.getContainerClient(DERIVED_CONTAINER).createIfNotExists();
  store = new AzureBlobStore(service);
  context.setGlobalContextManager(new AsyncLocalContextManager());
  trace.setGlobalTracerProvider(provider);
  subscribe("http.client.request.start", probe);
});

afterAll(async () => {
  unsubscribe("http.client.request.start", probe);
  trace.disable();
  context.disable();
  await azurite?.stop();
  rmSync(location, { recursive: true, force: true });
});

afterEach(() => exporter.reset());

const EV = "ev-0123456789abcdef0123456789abcdef";

test("the probe sees the SDK's requests in a traced context (so the upload test below can fail)", async () => {
  const stage = trace.getTracer("custody").startSpan("transcode");
  await context.with(trace.setSpan(context.active(), stage), () => service.getContainerClient(DERIVED_CONTAINER).getProperties());
  stage.end();
  expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["HTTP GET", "transcode"]);
  exporter.reset();
  await withoutTracing(() => service.getContainerClient(DERIVED_CONTAINER).getProperties());
  expect(exporter.getFinishedSpans()).toEqual([]);
});

test("a 13 MiB rendition (four 4 MiB blocks and a commit) is one upload span under the stage's span, with its size and blocks", async () => {
  const bytes = randomBytes(13 * 1024 * 1024);
  const stage = trace.getTracer("custody").startSpan("transcode");
  const written = await context.with(trace.setSpan(context.active(), stage), () =>
    store.writeDerived({ evidenceId: EV, stage: "transcode", name: "proxy.mp4", contentType: "video/mp4" }, { kind: "stream", stream: Readable.from([bytes]) }),
  );
  stage.end();
  expect(written.size).toBe(bytes.length);
  const spans = exporter.getFinishedSpans();
  expect(spans.map((s) => s.name).sort()).toEqual(["custody.blob.upload", "transcode"]);
  const upload = spans.find((s) => s.name === "custody.blob.upload")!;
  expect(upload.parentSpanContext?.spanId).toBe(stage.spanContext().spanId);
  expect(upload.attributes).toMatchObject({ "custody.blob.container": "derived", "custody.blob.name": `${EV}/transcode/proxy.mp4`, "custody.blob.bytes": bytes.length, "custody.blob.blocks": 4 });
});

test("a failed operation marks its one span as an error, naming the error type only", async () => {
  await expect(
    inSingleSpan("custody.blob.upload", {}, async () => {
      throw new TypeError("https://account.blob.core.windows.net/derived/ev-1/secret-name.mp4 refused");
    }),
  ).rejects.toThrow(TypeError);
  const [span] = exporter.getFinishedSpans();
  expect(span.status).toEqual({ code: 2, message: "TypeError" });
});
