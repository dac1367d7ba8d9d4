import { blobLocationOf, parseBlobCreatedEvent } from "../../shared/contracts/blob-created-event";
import { CustodyError } from "../../shared/errors";

/** The documented example (event-schema-blob-storage, CloudEvents tab), with our account/container. */
function sampleEvent(overrides: { data?: Record<string, unknown>; [key: string]: unknown } = {}): Record<string, unknown> {
  const { data, ...top } = overrides;
  return {
    source: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/custody/providers/Microsoft.Storage/storageAccounts/custodyprod",
    subject: "/blobServices/default/containers/originals/blobs/unit-7/PC1234/clip.mp4",
    type: "Microsoft.Storage.BlobCreated",
    time: "2026-11-26T10:00:00.9584103Z",
    id: "831e1650-001e-001b-66ab-eeb76e069631",
    data: {
      api: "PutBlockList",
      clientRequestId: "6d79dbfb-0e37-4fc4-981f-442c9ca65760",
      requestId: "831e1650-001e-001b-66ab-eeb76e000000",
      eTag: '"0x8D4BCC2E4835CD0"',
      contentType: "video/mp4",
      contentLength: 524288,
      blobType: "BlockBlob",
      url: "https://custodyprod.blob.core.windows.net/originals/unit-7/PC1234/clip.mp4",
      sequencer: "00000000000004420000000000028963",
      storageDiagnostics: { batchId: "b68529f3-68cd-4744-baa4-3c0498ec19f0" },
      ...data,
    },
    specversion: "1.0",
    ...top,
  };
}

function invalidMessage(body: unknown): string {
  try {
    parseBlobCreatedEvent(body);
  } catch (error) {
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe("InvalidMessage");
    expect((error as CustodyError).retryable).toBe(false);
    return (error as CustodyError).message;
  }
  throw new Error("expected InvalidMessage");
}

describe("parseBlobCreatedEvent", () => {
  it("accepts the documented event as an object, JSON text, a Buffer, a Uint8Array or a one-element array", () => {
    const event = sampleEvent();
    const text = JSON.stringify(event);
    for (const body of [event, text, Buffer.from(text), new Uint8Array(Buffer.from(text)), [event]]) {
      expect(parseBlobCreatedEvent(body)).toEqual(event);
    }
  });

  it.each(["PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose", "SftpCommit"])("accepts api %s", (api) => {
    expect(parseBlobCreatedEvent(sampleEvent({ data: { api } })).data.api).toBe(api);
  });

  it("accepts the Data Lake variant (dfs URL, contentOffset) and the SFTP variant (no clientRequestId, identity)", () => {
    const dfs = sampleEvent({ data: { api: "FlushWithClose", contentOffset: 0, url: "https://custodyprod.dfs.core.windows.net/originals/unit-7/PC1234/clip.mp4" } });
    expect(blobLocationOf(parseBlobCreatedEvent(dfs)).name).toBe("unit-7/PC1234/clip.mp4");
    const sftp = sampleEvent({ data: { api: "SftpCommit", identity: "dock-7", clientRequestId: undefined } });
    expect(parseBlobCreatedEvent(JSON.parse(JSON.stringify(sftp))).data.identity).toBe("dock-7");
  });

  it("accepts the subject without its leading slash, an unquoted ETag and unknown extra properties", () => {
    const event = sampleEvent({
      subject: "blobServices/default/containers/originals/blobs/unit-7/PC1234/clip.mp4",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      data: { eTag: "0x8D4BCC2E4835CD0", accessTier: "Hot", someFutureField: { x: 1 } },
    });
    expect(parseBlobCreatedEvent(event).data.eTag).toBe("0x8D4BCC2E4835CD0");
  });

  it("refuses placeholder creations (CreateFile, SftpCreate) naming the subscription filter", () => {
    const message = invalidMessage(sampleEvent({ data: { api: "CreateFile", contentLength: 0 } }));
    expect(message).toContain('/data/api "CreateFile"');
    expect(message).toContain("filter data.api");
  });

  it.each([
    ["a missing eTag", sampleEvent({ data: { eTag: undefined } }), "/data must have required property 'eTag'"],
    ["a missing url", sampleEvent({ data: { url: undefined } }), "/data must have required property 'url'"],
    ["a negative contentLength", sampleEvent({ data: { contentLength: -1 } }), "/data/contentLength must be >= 0"],
    ["a string contentLength", sampleEvent({ data: { contentLength: "12" } }), "/data/contentLength must be integer"],
    ["another event type", sampleEvent({ type: "Microsoft.Storage.BlobDeleted" }), "/type must be equal to constant"],
    ["another specversion", sampleEvent({ specversion: "0.3" }), "/specversion must be equal to constant"],
    ["a missing id", sampleEvent({ id: undefined }), "must have required property 'id'"],
    ["a time without zone", sampleEvent({ time: "2026-11-26T10:00:00" }), "/time must match pattern"],
    ["an impossible time", sampleEvent({ time: "2026-02-30T10:00:00Z" }), '/time "2026-02-30T10:00:00Z" is not a real date'],
    ["a non-account source", sampleEvent({ source: "/subscriptions/x/resourceGroups/y" }), "/source must match pattern"],
    ["a subject that is not a blob", sampleEvent({ subject: "/blobServices/default/containers/originals" }), "/subject must match pattern"],
    ["a missing data", { ...sampleEvent(), data: undefined }, "must have required property 'data'"],
    ["data that is not an object", { ...sampleEvent(), data: "PutBlob" }, "/data must be object"],
  ])("refuses %s, naming the field", (_label, body, expected) => {
    expect(invalidMessage(JSON.parse(JSON.stringify(body)))).toContain(expected);
  });

  it("lists several problems at once", () => {
    const message = invalidMessage(JSON.parse(JSON.stringify(sampleEvent({ id: undefined, data: { eTag: undefined, contentLength: "x" } }))));
    expect(message).toContain("'id'");
    expect(message).toContain("'eTag'");
    expect(message).toContain("/data/contentLength");
  });

  it.each([
    ["not JSON", "{nope", "body is not JSON"],
    ["a number", 42, "/ must be object"],
    ["null", null, "/ must be object"],
    ["an array of two", [sampleEvent(), sampleEvent()], "array of 2 events"],
  ])("refuses a body that is %s", (_label, body, expected) => {
    expect(invalidMessage(body)).toContain(expected);
  });

  it("refuses an event whose url and subject name different blobs", () => {
    expect(invalidMessage(sampleEvent({ data: { url: "https://custodyprod.blob.core.windows.net/originals/other.mp4" } }))).toContain("/subject blob name");
    expect(invalidMessage(sampleEvent({ data: { url: "https://custodyprod.blob.core.windows.net/incoming/unit-7/PC1234/clip.mp4" } }))).toContain("/subject container");
  });

  it("refuses an event whose url is in another account than its source", () => {
    expect(invalidMessage(sampleEvent({ data: { url: "https://elsewhere.blob.core.windows.net/originals/unit-7/PC1234/clip.mp4" } }))).toContain("not a URL of storage account 'custodyprod'");
  });

  it("refuses a malformed percent-encoding", () => {
    const body = sampleEvent({ subject: "/blobServices/default/containers/originals/blobs/a%zz", data: { url: "https://custodyprod.blob.core.windows.net/originals/a%zz" } });
    expect(invalidMessage(body)).toContain("malformed percent-encoding");
  });
});

describe("blobLocationOf", () => {
  const at = (url: string, subjectName: string, source?: string): ReturnType<typeof blobLocationOf> =>
    blobLocationOf(parseBlobCreatedEvent(sampleEvent({ subject: `/blobServices/default/containers/originals/blobs/${subjectName}`, data: { url }, ...(source ? { source } : {}) })));

  it("takes the account from source and reads a virtual-host URL", () => {
    expect(at("https://custodyprod.blob.core.windows.net/originals/a/b.mp4", "a/b.mp4")).toEqual({
      account: "custodyprod",
      container: "originals",
      name: "a/b.mp4",
      url: "https://custodyprod.blob.core.windows.net/originals/a/b.mp4",
    });
  });

  it("reads a path-style (Azurite) URL", () => {
    const source = "/subscriptions/local/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/devstoreaccount1";
    expect(at("http://127.0.0.1:10000/devstoreaccount1/originals/a/b.mp4", "a/b.mp4", source)).toMatchObject({
      account: "devstoreaccount1",
      container: "originals",
      name: "a/b.mp4",
    });
  });

  it.each([
    ["space", "my%20clip.mp4", "my clip.mp4"],
    ["hash", "clip%231.mp4", "clip#1.mp4"],
    ["percent", "100%25%20done.mp4", "100% done.mp4"],
    ["literal %20 in the name", "a%2520b.mp4", "a%20b.mp4"],
    ["plus (not a space in a path)", "a+b.mp4", "a+b.mp4"],
    ["question mark", "why%3F.mp4", "why?.mp4"],
    ["encoded slash", "a%2Fb.mp4", "a/b.mp4"],
    ["unicode", "M%C3%BCnchen/%E6%97%A5%E6%9C%AC/%F0%9F%93%B9.mp4", "München/日本/📹.mp4"],
  ])("decodes a %s once", (_label, encoded, expected) => {
    // The subject carries the raw name; the URL is percent-encoded.
    expect(at(`https://custodyprod.blob.core.windows.net/originals/${encoded}`, expected).name).toBe(expected);
  });

  it("accepts a subject that is percent-encoded like the URL", () => {
    expect(at("https://custodyprod.blob.core.windows.net/originals/my%20clip.mp4", "my%20clip.mp4").name).toBe("my clip.mp4");
  });

  it("drops a query string from the URL", () => {
    expect(at("https://custodyprod.blob.core.windows.net/originals/a.mp4?versionid=1", "a.mp4").url).toBe("https://custodyprod.blob.core.windows.net/originals/a.mp4");
  });
});
