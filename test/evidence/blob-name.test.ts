import { AZURE_MAX_BLOB_NAME_LENGTH, EVIDENCE_MAX_BLOB_NAME_LENGTH, validateEvidenceBlobName } from "../../shared/evidence/blob-name";

/** A name of `length` characters in segments of at most 200. */
const longPath = (length: number): string =>
  ("y".repeat(199) + "/")
    .repeat(Math.ceil(length / 200))
    .slice(0, length)
    .replace(/\/$/, "z");

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

  describe("refuses names that look like other names", () => {
    it("a right-to-left override that shows evidence<U+202E>gpj.mp4 as evidence4pm.jpg", () => {
      const reasons = messages("evidence\u202egpj.mp4");
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toContain("U+202E");
      expect(reasons[0]).toContain("RIGHT-TO-LEFT OVERRIDE");
      expect(reasons[0]).toContain("position 9");
      // The reason itself must not carry the character it reports.
      expect(reasons[0]).not.toMatch(/\p{Cf}/u);
    });

    it("a zero-width twin of clip.mp4", () => {
      expect(messages("cl\u200bip.mp4")).toEqual([expect.stringMatching(/U\+200B \(ZERO WIDTH SPACE\) at position 3/)]);
    });

    it.each([
      ["byte order mark", "\ufeffclip.mp4", "U+FEFF", 1],
      ["left-to-right mark", "a/b\u200e.mp4", "U+200E", 4],
      ["right-to-left isolate", "a/\u2067b.mp4", "U+2067", 3],
      ["zero width joiner", "a\u200db.mp4", "U+200D", 2],
      ["word joiner", "a\u2060b.mp4", "U+2060", 2],
      ["soft hyphen", "a\u00adb.mp4", "U+00AD", 2],
      ["Arabic letter mark", "a\u061cb.mp4", "U+061C", 2],
      // Positions count characters, not UTF-16 units: the emoji before it is one character.
      ["tag character after an emoji", "\u{1F4F9}\u{E0041}.mp4", "U+E0041", 2],
    ])("any other format character (%s), naming it and its position", (_label, name, code, position) => {
      const reasons = messages(name);
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toContain(code);
      expect(reasons[0]).toContain(`position ${position}`);
    });

    it("counts every format character but names the first", () => {
      expect(messages("a\u202eb\u200bc.mp4")).toEqual([expect.stringMatching(/2 invisible format characters.*U\+202E.*position 2/)]);
    });

    it.each([
      ["%2e%2e/%2e%2e/x.mp4", "%2e%2e"],
      ["a/%2E%2E/b.mp4", "%2E%2E"],
      ["a/%2e%2E/b.mp4", "%2e%2E"],
      ["a/.%2e/b.mp4", ".%2e"],
      ["a/%2e./b.mp4", "%2e."],
      ["a/%2e/b.mp4", "%2e"],
      ["a/%252e%252e/b.mp4", "%252e%252e"],
      ["a/x%2f..%2fb.mp4", "x%2f..%2fb.mp4"],
    ])("a percent-encoded dot segment (%s)", (name, segment) => {
      expect(messages(name)).toEqual([expect.stringContaining(`'${segment}'`)]);
      expect(messages(name)[0]).toContain("percent-encoded");
    });

    it.each(["a/%2e%2ex.mp4", "a/x%2e.mp4", "a/100%/b.mp4", "a/%zz%2/b.mp4", "a/b%20c.mp4"])("but accepts %j", (name) => {
      expect(validateEvidenceBlobName(name)).toEqual([]);
    });
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
    expect(message.length).toBeLessThan(400);
    expect(message).not.toMatch(/[\u0000-\u001f]/);
  });
});
