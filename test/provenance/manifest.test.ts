/** The manifest builder: what it takes from the record, in what order, and that it is deterministic. */
import { isCustodyError } from "../../shared/errors";
import { jcs } from "../../shared/provenance/jcs";
import { buildEvidenceManifest, manifestBytes, MANIFEST_TYPE } from "../../shared/provenance/manifest";
import { EVIDENCE_ID, LOG_HEAD, readyRecord } from "./ready-record";

const options = { custodyLog: LOG_HEAD, issuedAt: "2026-11-27T08:02:00.000Z", keyId: "kid-1", issuer: "/custody/test" };

test("names the original version with its digests, every rendition with its provenance, the capture and the log head", () => {
  const manifest = buildEvidenceManifest(readyRecord(), options);
  expect(manifest).toMatchObject({
    type: MANIFEST_TYPE,
    manifestVersion: 1,
    evidenceId: EVIDENCE_ID,
    issuedAt: options.issuedAt,
    issuer: "/custody/test",
    signer: { alg: "ES256", kid: "kid-1" },
    status: "ready",
    original: {
      name: "borough-01/A123/cam7/2026-11-26T09-00-00Z.mp4",
      versionId: "2026-11-26T09:30:00.1234567Z",
      size: 9_437_184,
      sha256: "a".repeat(64),
      segmentSizeInBytes: 4_194_304,
      segmentSha256: ["1".repeat(64), "2".repeat(64), "3".repeat(64)],
      matchesDevice: true,
    },
    capture: { officerId: "A123", deviceId: "cam7", recordedAt: "2026-11-26T09:00:00+00:00" },
    custodyLog: LOG_HEAD,
  });
  // Pipeline order, whatever order the record holds them in; the hash stage has no renditions.
  expect(manifest.stages.map((s) => s.stage)).toEqual(["transcode", "thumbnail"]);
  const [transcode, thumbnail] = manifest.stages;
  expect(transcode?.renditions.map((r) => [r.path, r.sha256])).toEqual([[`${EVIDENCE_ID}/transcode/reprocess-rp1/proxy.mp4`, "e".repeat(64)]]);
  expect(transcode?.provenance?.tools.ffmpeg).toMatch(/^ffmpeg version 7\.1/);
  expect(transcode?.provenance?.runs[0]?.arguments).toContain("libx264");
  expect(transcode?.provenance?.source.sha256).toBe("a".repeat(64));
  // The proxy a reprocess replaced stays named, with its digest and tools.
  expect(transcode?.superseded?.[0]).toMatchObject({ renditions: [{ path: `${EVIDENCE_ID}/transcode/proxy.mp4`, sha256: "f".repeat(64) }], tools: { ffmpeg: "ffmpeg version 7.0" } });
  expect(thumbnail?.renditions.map((r) => r.name)).toEqual(["poster.jpg", "thumb-01.jpg"]);
});

test("a re-issue names the manifest it follows; a first issue names none", () => {
  expect(buildEvidenceManifest(readyRecord(), options)).not.toHaveProperty("previousManifest");
  const previousManifest = { sha256: "7".repeat(64), issuedAt: "2026-11-26T09:40:00.000Z" };
  expect(buildEvidenceManifest(readyRecord(), { ...options, previousManifest }).previousManifest).toEqual(previousManifest);
  expect(() => buildEvidenceManifest(readyRecord(), { ...options, previousManifest: { ...previousManifest, issuedAt: "2026-12-01T00:00:00.000Z" } })).toThrow(/previous manifest/);
});

test("integrity findings are carried: a mismatch with the device's digest is not hidden by a signature", () => {
  const record = readyRecord();
  record.integrityFindings = [{ code: "DeviceHashMismatch", message: "differs", at: "2026-11-26T09:31:00Z", expected: "b".repeat(64), actual: "a".repeat(64) }];
  expect(buildEvidenceManifest(record, options).integrityFindings).toEqual(record.integrityFindings);
});

test("the same record gives the same bytes, whatever order its properties were set in", () => {
  const record = readyRecord();
  const reversed = Object.fromEntries(Object.entries(readyRecord()).reverse()) as typeof record;
  const a = Buffer.from(manifestBytes(buildEvidenceManifest(record, options)));
  expect(Buffer.from(manifestBytes(buildEvidenceManifest(reversed, options))).equals(a)).toBe(true);
  // Canonical: the bytes are their own RFC 8785 form, and JSON-equal to the manifest (no undefined members).
  const parsed: unknown = JSON.parse(a.toString("utf8"));
  expect(jcs(parsed)).toBe(a.toString("utf8"));
  expect(parsed).toEqual(buildEvidenceManifest(record, options));
});

test("refuses a record that cannot be vouched for yet, and a log head that is not one", () => {
  const unhashed = readyRecord();
  delete unhashed.hash;
  const expectRefused = (build: () => unknown, text: RegExp): void => {
    let error: unknown;
    try {
      build();
    } catch (caught) {
      error = caught;
    }
    expect(isCustodyError(error) && error.code === "Internal" && !error.retryable && text.test(error.message)).toBe(true);
  };
  expectRefused(() => buildEvidenceManifest(unhashed, options), /not been hashed/);
  expectRefused(() => buildEvidenceManifest(readyRecord(), { ...options, custodyLog: { sha256: "xyz", entries: 1 } }), /custody log head/);
  expectRefused(() => buildEvidenceManifest(readyRecord(), { ...options, custodyLog: { sha256: "9".repeat(64), entries: 0 } }), /custody log head/);
  expectRefused(() => buildEvidenceManifest(readyRecord(), { ...options, issuedAt: "yesterday" }), /not a time/);
});
