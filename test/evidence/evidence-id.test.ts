import { deriveEvidenceId, EVIDENCE_ID_PATTERN, normalizeEtag, quotedEtag } from "../../shared/evidence/evidence-id";

const base = { account: "custodyprod", container: "originals", name: "unit-7/PC1234/cam-9/2026-11-26T09-30-00Z.mp4", etag: '"0x8D4BCC2E4835CD0"' };

describe("deriveEvidenceId", () => {
  it("is ev- and 32 lower-case hex digits", () => {
    expect(deriveEvidenceId(base)).toMatch(EVIDENCE_ID_PATTERN);
  });

  it("is deterministic", () => {
    expect(deriveEvidenceId({ ...base })).toBe(deriveEvidenceId({ ...base }));
  });

  it("is a known value (the encoding must never change silently)", () => {
    // Pinned: changing the canonical encoding would re-identify every existing recording.
    expect(deriveEvidenceId(base)).toBe(deriveEvidenceId({ ...base, etag: "0x8D4BCC2E4835CD0" }));
    // Recomputed independently: sha256(JSON ["custody/evidence-id/v1", account, container, name, "etag", etag]).
    expect(deriveEvidenceId(base)).toBe("ev-465fea2b3025cd856a783f32ce6d3a57");
  });

  it.each([
    ["account", { account: "custodytest" }],
    ["container", { container: "originals2" }],
    ["name", { name: "unit-7/PC1234/cam-9/2026-11-26T09-30-01Z.mp4" }],
    ["etag", { etag: '"0x8D4BCC2E4835CD1"' }],
    ["versionId", { versionId: "2026-11-26T09:31:00.1234567Z" }],
  ])("changes with the %s", (_part, change) => {
    expect(deriveEvidenceId({ ...base, ...change })).not.toBe(deriveEvidenceId(base));
  });

  it("treats quoted and unquoted ETags as the same version", () => {
    expect(deriveEvidenceId({ ...base, etag: '"0x8D4BCC2E4835CD0"' })).toBe(deriveEvidenceId({ ...base, etag: "0x8D4BCC2E4835CD0" }));
  });

  it("uses the version id instead of the ETag when there is one", () => {
    const versioned = { ...base, versionId: "2026-11-26T09:31:00.1234567Z" };
    expect(deriveEvidenceId({ ...versioned, etag: '"0x1"' })).toBe(deriveEvidenceId({ ...versioned, etag: '"0x2"' }));
    expect(deriveEvidenceId({ ...base, versionId: "" })).toBe(deriveEvidenceId(base));
  });

  it("does not confuse a version id with an ETag spelled the same", () => {
    expect(deriveEvidenceId({ ...base, versionId: "0x8D4BCC2E4835CD0" })).not.toBe(deriveEvidenceId(base));
  });

  it("normalises account and container case (lower-case only in Azure) but not the name", () => {
    expect(deriveEvidenceId({ ...base, account: "CustodyProd", container: "Originals" })).toBe(deriveEvidenceId(base));
    expect(deriveEvidenceId({ ...base, name: base.name.toUpperCase() })).not.toBe(deriveEvidenceId(base));
  });

  it.each([
    [
      { container: "a/b", name: "c" },
      { container: "a", name: "b/c" },
    ],
    [
      { account: "ab", container: "c" },
      { account: "a", container: "bc" },
    ],
    [{ name: 'x","y' }, { name: "x", container: 'y"' }],
    [{ name: "a\u0000b" }, { name: "a", container: "\u0000b" }],
    [
      { name: "n", etag: "e" },
      { name: "ne", etag: "" },
    ],
  ])("does not collide when a boundary shifts (%j vs %j)", (left, right) => {
    expect(deriveEvidenceId({ ...base, ...left })).not.toBe(deriveEvidenceId({ ...base, ...right }));
  });
});

describe("ETag forms", () => {
  it("strips and adds HTTP quotes", () => {
    expect(normalizeEtag('"0x8D"')).toBe("0x8D");
    expect(normalizeEtag("0x8D")).toBe("0x8D");
    expect(quotedEtag("0x8D")).toBe('"0x8D"');
    expect(quotedEtag('"0x8D"')).toBe('"0x8D"');
  });
});
