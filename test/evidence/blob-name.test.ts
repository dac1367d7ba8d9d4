import {
  AZURE_MAX_BLOB_NAME_LENGTH,
  EVIDENCE_MAX_BLOB_NAME_LENGTH,
  validateEvidenceBlobName,
} from "../../shared/evidence/blob-name";

/** A name of `length` characters in segments of at most 200. */
const longPath = (length: number): string => ("y".repeat(199) + "/").repeat(Math.ceil(length / 200)).slice(0, length).replace(/\/$/, "z");

const messages = (name: string) => validateEvidenceBlobName(name).map((r) => r.message);

describe("validateEvidenceBlobName", () => {
  it.each([
    "unit-7/PC1234/cam-9/2026-11-26T09-30-00Z.mp4",
    "recording.mp4",
    "with space/and #hash and 100% and ü and 日本.mov",
    "a/b/c/..hidden-but-not-a-dot-segment.mp4",
    longPath(EVIDENCE_MAX_BLOB_NAME_LENGTH),
  ])("accepts %j", (name) => {
    expect(validateEvidenceBlobName(name)).toEqual([]);
  });

  it("gives code InvalidName and field name", () => {
    expect(validateEvidenceBlobName("a//b")).toEqual([{ code: "InvalidName", field: "name", message: expect.stringContaining("empty path segment") }]);
  });

  it("refuses an empty name", () => {
    expect(messages("")).toEqual([expect.stringContaining("is empty")]);
  });

  it("refuses names over the evidence limit, and over Azure's limit with Azure's reason", () => {
    expect(messages(longPath(EVIDENCE_MAX_BLOB_NAME_LENGTH + 1))).toEqual([expect.stringContaining(`at most ${EVIDENCE_MAX_BLOB_NAME_LENGTH}`)]);
    expect(messages(longPath(AZURE_MAX_BLOB_NAME_LENGTH + 1))).toEqual([expect.stringContaining("Azure allows at most 1024")]);
  });

  it("counts characters, not UTF-16 units, and limits UTF-8 bytes", () => {
    // 300 emoji: 300 characters (under 512) but 1,200 bytes (over 1,024).
    const emoji = "\u{1F4F9}".repeat(300);
    expect(messages(emoji)).toEqual([expect.stringContaining("1200 bytes"), expect.stringContaining("path segment of 1200 bytes")]);
    expect(validateEvidenceBlobName("\u{1F4F9}".repeat(60))).toEqual([]);
  });

  it("limits a segment to 255 bytes", () => {
    expect(messages(`a/${"y".repeat(256)}`)).toEqual([expect.stringContaining("path segment of 256 bytes")]);
    expect(validateEvidenceBlobName(`a/${"y".repeat(255)}`)).toEqual([]);
  });

  it.each([
    ["NUL", "a\u0000b.mp4", "U+0000"],
    ["tab", "a\tb.mp4", "U+0009"],
    ["newline", "a\nb.mp4", "U+000A"],
    ["DEL", "a\u007fb.mp4", "U+007F"],
    ["C1 (NEL)", "a\u0085b.mp4", "U+0085"],
  ])("refuses a control character (%s) and names it", (_label, name, code) => {
    const reasons = messages(name);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain(code);
    expect(reasons[0]).toContain("position 2");
  });

  it("refuses unpaired surrogates", () => {
    expect(messages("a\ud800b.mp4")).toEqual([expect.stringContaining("unpaired")]);
  });

  it.each([
    ["..", "a/../b.mp4", "'..'"],
    [". segment", "a/./b.mp4", "'..'"],
    ["leading ..", "../b.mp4", "'..'"],
    ["empty segment", "a//b.mp4", "empty path segment"],
    ["trailing slash", "a/b/", "empty path segment"],
    ["leading slash", "/a/b.mp4", "starts with '/'"],
    ["backslash", "a\\b.mp4", "backslash"],
    ["trailing dot", "a/b.", "ends with '.'"],
  ])("refuses %s", (_label, name, expected) => {
    expect(messages(name)).toEqual([expect.stringContaining(expected)]);
  });

  it("lists every problem at once", () => {
    const reasons = messages("/a//../b\\c\u0001");
    expect(reasons).toHaveLength(5);
  });

  it("keeps messages short and printable for very long or odd names", () => {
    const [message] = messages(`${"\u0001".repeat(2)}${"z".repeat(2000)}`);
    expect(message).toBeDefined();
    expect(message!.length).toBeLessThan(400);
    expect(message).not.toMatch(/[\u0000-\u001f]/);
  });
});
