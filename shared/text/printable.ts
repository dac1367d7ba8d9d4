/**
 * Text from outside — blob names, message ids, message bodies, error descriptions — shown to a
 * person. Such text can carry characters a terminal or a reader acts on instead of showing:
 * ESC starts a terminal control sequence (clear the screen, move the cursor, retitle the
 * window), CR and backspace overwrite what was printed, bidi controls reorder what follows
 * (`evidence<U+202E>gpj.mp4` reads as "evidence4pm.jpg"), zero-width characters make two
 * different names look the same. This is the one place that decides how such characters are
 * shown; everything that prints outside text goes through it.
 *
 * Escaped: control characters (C0 U+0000–U+001F including ESC, tab and newline; DEL; C1
 * U+0080–U+009F), format characters (`\p{Cf}`: bidi controls, zero-width characters, BOM, soft
 * hyphen, tag characters…), unpaired surrogates, and the line and paragraph separators
 * U+2028/U+2029. Everything else, including non-Latin scripts and emoji, is shown as is.
 * Backslashes are not doubled by {@link printable}: names holding one are refused at ingest, and
 * doubling them would garble the quoted names inside reasons ({@link quoted} escapes them).
 */

/** One character that must not reach a terminal or a document as is. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, "gu");

/** True when `text` holds a character {@link printable} would escape. */
export function hasUnsafeCharacters(text: string): boolean {
  return UNSAFE.test(text);
}

/**
 * `text` with every unsafe character written as `\u{1B}`, `\u{202E}` (its code point in hex, as in
 * a JavaScript string), so it can be
 * printed on a terminal or put in a report and shows exactly what is there. Idempotent.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE_ALL, (character) => `\\u{${(character.codePointAt(0) ?? 0).toString(16).toUpperCase()}}`);
}

/**
 * `text` in double quotes for a sentence a person reads (a rejection reason): quotes and
 * backslashes escaped with a backslash, everything else as {@link printable} shows it —
 * `"evidence\u{202E}gpj.mp4"`.
 */
export function quoted(text: string): string {
  return `"${printable(text.replace(/["\\]/g, "\\$&"))}"`;
}

/**
 * `value` as JSON text (as `JSON.stringify(value, undefined, space)`), with every unsafe
 * character inside strings written as a JSON `\uXXXX` escape. JSON.stringify escapes C0 controls
 * itself but leaves DEL, C1 and format characters raw; escaped, they read back as the same
 * strings, so the output stays lossless and machine-readable.
 */
export function printableJson(value: unknown, space?: number): string {
  return printableJsonText(JSON.stringify(value, undefined, space) ?? "null");
}

/**
 * Already-serialised JSON text with its unsafe characters escaped. Outside strings JSON text is
 * ASCII punctuation, digits, literals and whitespace, so any unsafe character is inside a string,
 * where a `\uXXXX` escape means the same character.
 */
export function printableJsonText(json: string): string {
  // Tab, LF and CR between tokens are JSON whitespace; inside strings JSON.stringify has already escaped them.
  return json.replace(UNSAFE_ALL, (character) => (character === "\t" || character === "\n" || character === "\r" ? character : jsonEscape(character)));
}

/** `U+202E`, `U+001B`: how a character is named to a person (in reasons, in the runbook). */
export function codePointLabel(character: string): string {
  return `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

function jsonEscape(character: string): string {
  // Characters beyond the BMP (tag characters) become their two UTF-16 escapes, as JSON requires.
  let out = "";
  for (let i = 0; i < character.length; i++) out += `\\u${character.charCodeAt(i).toString(16).padStart(4, "0")}`;
  return out;
}
