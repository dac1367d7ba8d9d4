import { codePointLabel, hasUnsafeCharacters, printable, printableJson, printableJsonText, quoted } from "../../shared/text/printable";

describe("printable", () => {
  it.each([
    ["ESC (a terminal control sequence)", "a\u001b[2Jb", "a\\u{1B}[2Jb"],
    ["BEL, CR, tab and newline", "\u0007\r\t\n", "\\u{7}\\u{D}\\u{9}\\u{A}"],
    ["DEL and C1 (CSI)", "\u007f\u009b", "\\u{7F}\\u{9B}"],
    ["a right-to-left override", "evidence\u202egpj.mp4", "evidence\\u{202E}gpj.mp4"],
    ["zero-width characters and BOM", "\ufeffcl\u200bi\u200dp", "\\u{FEFF}cl\\u{200B}i\\u{200D}p"],
    ["bidi isolates", "\u2066x\u2069", "\\u{2066}x\\u{2069}"],
    ["a tag character (beyond the BMP)", "a\u{E0041}", "a\\u{E0041}"],
    ["line and paragraph separators", "a\u2028b\u2029", "a\\u{2028}b\\u{2029}"],
    ["an unpaired surrogate", "a\ud800b", "a\\u{D800}b"],
  ])("escapes %s", (_label, raw, shown) => {
    expect(printable(raw)).toBe(shown);
    expect(hasUnsafeCharacters(raw)).toBe(true);
    expect(hasUnsafeCharacters(shown)).toBe(false);
  });

  it("leaves printable text of any script as it is, and is idempotent", () => {
    const text = 'München/Żółć/日本/📹 a\\b "quoted" 100%';
    expect(printable(text)).toBe(text);
    expect(printable(printable("a\u001bb\u202e"))).toBe(printable("a\u001bb\u202e"));
  });

  it("quotes text for a sentence: quotes and backslashes escaped, the rest as printable shows it", () => {
    expect(quoted('say "a\\b"\u202e\u0007')).toBe('"say \\"a\\\\b\\"\\u{202E}\\u{7}"');
  });

  it("names a character as U+XXXX", () => {
    expect(codePointLabel("\u001b")).toBe("U+001B");
    expect(codePointLabel("\u{E0041}")).toBe("U+E0041");
  });
});

describe("printableJson", () => {
  const value = { name: "evidence\u202egpj.mp4", id: "a\u001b[2J\u007f\u009b\u{E0041}\u2028", nested: [{ soft: "x\u00ady" }] };

  it("escapes what JSON.stringify leaves raw, and reads back as the same value", () => {
    for (const space of [undefined, 2]) {
      const json = printableJson(value, space);
      expect(json).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\p{Cf}\u2028\u2029]/u);
      expect(json).toContain("\\u202e");
      expect(json).toContain("\\udb40\\udc41");
      expect(JSON.parse(json)).toEqual(value);
    }
  });

  it("keeps JSON whitespace between tokens", () => {
    expect(printableJsonText('{\n\t"a": "b\u202e"\r\n}')).toBe('{\n\t"a": "b\\u202e"\r\n}');
  });
});
