import { parseOffsetDateTime, validateCaptureMetadata } from "../../shared/evidence/capture-metadata";

const uploadedAt = new Date("2026-11-26T10:00:00Z");
const good = { officerid: "PC1234", deviceid: "axon-b3.X_99", recordedat: "2026-11-26T09:30:00Z" };
const check = (metadata: Record<string, string>) => validateCaptureMetadata(metadata, { uploadedAt });

describe("validateCaptureMetadata", () => {
  it("accepts good metadata and maps it to CaptureMetadata", () => {
    expect(check({ ...good, sha256: "AB".repeat(32), other: "ignored" })).toEqual({
      capture: { officerId: "PC1234", deviceId: "axon-b3.X_99", recordedAt: "2026-11-26T09:30:00Z", deviceSha256: "ab".repeat(32) },
      reasons: [],
    });
  });

  it("reports every missing key, each with its field", () => {
    const { capture, reasons } = check({});
    expect(capture).toEqual({});
    expect(reasons.map((r) => [r.code, r.field])).toEqual([
      ["MissingMetadata", "officerid"],
      ["MissingMetadata", "deviceid"],
      ["MissingMetadata", "recordedat"],
    ]);
    expect(reasons[2].message).toContain("e.g. 2026-11-26T09:30:00Z");
  });

  it("treats an empty value as missing", () => {
    expect(check({ ...good, officerid: "" }).reasons).toEqual([expect.objectContaining({ code: "MissingMetadata", field: "officerid" })]);
  });

  it.each(["PC 1234", " PC1234", "-PC1234", ".x", "PC1234\n", "Ρ C1234".replace(" ", ""), "x".repeat(65), "pc/1234"])("refuses officer id %j and says what is expected", (officerid) => {
    const { capture, reasons } = check({ ...good, officerid });
    expect(capture.officerId).toBeUndefined();
    expect(capture.deviceId).toBe(good.deviceid);
    expect(reasons).toEqual([{ code: "InvalidMetadata", field: "officerid", message: expect.stringContaining("letters, digits") }]);
    expect(reasons[0].message).toContain(`metadata 'officerid' is `);
  });

  it("accepts a 64-character identifier", () => {
    expect(check({ ...good, deviceid: "d".repeat(64) }).reasons).toEqual([]);
  });

  it("refuses an invalid device id", () => {
    expect(check({ ...good, deviceid: "cam#9" }).reasons).toEqual([expect.objectContaining({ code: "InvalidMetadata", field: "deviceid" })]);
  });

  it("explains a recordedat that is not a timestamp, as the officer would need it", () => {
    expect(check({ ...good, recordedat: "yesterday" }).reasons).toEqual([
      {
        code: "InvalidMetadata",
        field: "recordedat",
        message: `metadata 'recordedat' is "yesterday": expected ISO 8601 with a time zone, e.g. 2026-11-26T09:30:00Z`,
      },
    ]);
  });

  it.each([
    ["no time zone", "2026-11-26T09:30:00", "no time zone"],
    ["date only", "2026-11-26", "a date without a time"],
    ["not a real date", "2026-02-30T09:30:00Z", "2026-02-30 is not a real date"],
    ["not a leap year", "2025-02-29T09:30:00Z", "not a real date"],
    ["not a real time", "2026-11-26T24:00:00Z", "not a real time of day"],
    ["unknown offset", "2026-11-26T09:30:00-00:00", "offset unknown"],
    ["bad offset", "2026-11-26T09:30:00+25:00", "not a real time zone offset"],
    ["in the future", "2026-11-26T10:05:01Z", "after the upload"],
    ["far in the future", "2027-01-01T00:00:00Z", "35 days after the upload"],
    ["before 2000", "1999-12-31T23:59:59Z", "before 2000-01-01"],
    ["a 1970 reset clock", "1970-01-01T00:00:00Z", "before 2000-01-01"],
    ["basic format", "20261126T093000Z", "expected ISO 8601"],
  ])("refuses recordedat %s", (_label, recordedat, expected) => {
    const { capture, reasons } = check({ ...good, recordedat });
    expect(capture.recordedAt).toBeUndefined();
    expect(reasons).toEqual([{ code: "InvalidMetadata", field: "recordedat", message: expect.stringContaining(expected) }]);
  });

  it.each([
    "2026-11-26T10:05:00Z", // exactly 5 minutes after the upload: clock skew allowed
    "2026-11-26T11:04:00+01:00", // 10:04Z
    "2026-11-26T09:30Z", // seconds are optional in ISO 8601
    "2026-11-26T09:30:00.123456789Z",
    "2026-11-26t09:30:00z",
    "2000-01-01T00:00:00Z",
    "2024-02-29T09:30:00-05:30",
  ])("accepts recordedat %j as given", (recordedat) => {
    expect(check({ ...good, recordedat })).toEqual({ capture: expect.objectContaining({ recordedAt: recordedat }), reasons: [] });
  });

  it("uses the offset when comparing with the upload time", () => {
    // 10:30+01:00 is 09:30Z: fine. 10:30-01:00 is 11:30Z: 90 minutes after the upload.
    expect(check({ ...good, recordedat: "2026-11-26T10:30:00+01:00" }).reasons).toEqual([]);
    expect(check({ ...good, recordedat: "2026-11-26T10:30:00-01:00" }).reasons[0].message).toContain("1 h 30 min after the upload");
  });

  it("keeps an optional unit (borough) for downstream routing, and refuses a malformed one", () => {
    expect(check({ ...good, unit: "camden" })).toEqual({ capture: { officerId: "PC1234", deviceId: "axon-b3.X_99", recordedAt: "2026-11-26T09:30:00Z", unit: "camden" }, reasons: [] });
    expect(check(good).capture).not.toHaveProperty("unit");
    const { capture, reasons } = check({ ...good, unit: "Camden Town" });
    expect(capture).not.toHaveProperty("unit");
    expect(reasons).toEqual([{ code: "InvalidMetadata", field: "unit", message: expect.stringContaining("unit or borough") }]);
  });

  it.each(["abc", "ab".repeat(31), "ab".repeat(33), "g".repeat(64), ""])("refuses sha256 %j", (sha256) => {
    const { capture, reasons } = check({ ...good, sha256 });
    expect(capture.deviceSha256).toBeUndefined();
    expect(reasons).toEqual([{ code: "InvalidMetadata", field: "sha256", message: expect.stringContaining("64 hexadecimal") }]);
  });

  it("lists all problems at once and keeps what is valid", () => {
    const { capture, reasons } = check({ deviceid: "cam-9", recordedat: "soon", sha256: "nope" });
    expect(capture).toEqual({ deviceId: "cam-9" });
    expect(reasons.map((r) => r.field)).toEqual(["officerid", "recordedat", "sha256"]);
  });

  it("quotes long or odd values briefly and printably", () => {
    const { reasons } = check({ ...good, officerid: `\u0085${"x".repeat(5000)}` });
    expect(reasons[0].message.length).toBeLessThan(400);
    expect(reasons[0].message).toContain("\\u{85}");
    expect(reasons[0].message).toContain("5001 characters");
  });
});

describe("parseOffsetDateTime", () => {
  it("parses Event Grid's 7-digit fractions and offsets", () => {
    expect(parseOffsetDateTime("2017-06-26T18:41:00.9584103Z")).toEqual({ ok: true, epochMs: Date.UTC(2017, 5, 26, 18, 41, 0, 958) });
    expect(parseOffsetDateTime("2017-06-26T20:41:00+02:00")).toEqual({ ok: true, epochMs: Date.UTC(2017, 5, 26, 18, 41, 0) });
  });
});
