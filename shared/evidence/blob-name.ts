/**
 * Which blob names we accept as evidence. Azure accepts almost any name (1 to 1,024 characters,
 * any Unicode); evidence names end up in court bundles, disclosure exports to file systems, URLs
 * and log lines, so we are stricter. A name that breaks a rule does not lose the recording: ingest
 * still announces it (rejected, with these reasons) and it is still hashed and indexed under its
 * real name.
 *
 * Rules (each broken rule is one reason, code `InvalidName`, field `name`):
 *
 * 1. Not empty; at most {@link AZURE_MAX_BLOB_NAME_LENGTH} characters (the service limit — such
 *    names cannot exist in Azure, checked so the rule holds whatever store is behind the port).
 * 2. At most {@link EVIDENCE_MAX_BLOB_NAME_LENGTH} characters (Unicode code points) and at most
 *    {@link EVIDENCE_MAX_BLOB_NAME_BYTES} bytes of UTF-8. Dock names (`<unit>/<officer>/<device>/
 *    <timestamp>.mp4`) are well under 200 characters: a longer name means a client is not the
 *    dock. The byte limit also guarantees the percent-encoded URL (3 characters per byte at most)
 *    fits the `evidence-received` schema's 4,096-character `url`.
 * 3. Each `/`-separated segment at most {@link EVIDENCE_MAX_SEGMENT_BYTES} bytes of UTF-8: the
 *    file-name limit of NTFS, ext4 and most other file systems exports are written to.
 * 4. No control characters: C0 (U+0000–U+001F), DEL (U+007F), C1 (U+0080–U+009F). They are
 *    invisible in listings and court paperwork and break logs and CSV exports.
 * 5. No unpaired UTF-16 surrogates (not text; cannot be written as UTF-8 faithfully).
 * 6. No backslash: Windows tools and some SDKs turn it into `/`, so the name would not round-trip.
 * 7. Paths are relative and clean: no leading `/`, no empty segment (`a//b`, trailing `/`), no `.`
 *    or `..` segment — exports to a file system must land where the name says, never elsewhere.
 * 8. Does not end with `.` (Azure's naming guidance: such names are mishandled by clients and
 *    file systems that trim trailing dots).
 * 9. No Unicode format characters (`\p{Cf}`): bidi controls (U+202E makes `evidence<U+202E>gpj.mp4`
 *    read "evidence4pm.jpg"), zero-width characters (a twin of `clip.mp4` that looks the same),
 *    BOM, soft hyphen, tag characters. They change how a name reads, not what it is — an officer
 *    could pick the wrong recording from a list.
 * 10. No percent-encoded dot segments (`%2e%2e`, `.%2E`, `%252e`…, also across an encoded `/`):
 *    a URL or file tool that decodes the name would navigate folders, as with rule 7.
 */
import type { RejectionReason } from "../contracts/messages";
import { codePointLabel, printable, quoted } from "../text/printable";

/** Azure Blob Storage's limit on a blob name. */
export const AZURE_MAX_BLOB_NAME_LENGTH = 1024;
/** Our stricter limit for evidence, in Unicode code points. */
export const EVIDENCE_MAX_BLOB_NAME_LENGTH = 512;
/** Our limit for evidence in UTF-8 bytes (keeps the encoded URL within the message schema). */
export const EVIDENCE_MAX_BLOB_NAME_BYTES = 1024;
/** File-name component limit of common file systems. */
export const EVIDENCE_MAX_SEGMENT_BYTES = 255;

// Unicode control characters (general category Cc): U+0000–U+001F and U+007F–U+009F.
const CONTROL_CHARACTER = /\p{Cc}/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const FORMAT_CHARACTER = /\p{Cf}/u;
/** Names of the format characters a name is most likely to hold, for the reason a person reads. */
const FORMAT_CHARACTER_NAMES: Readonly<Record<number, string>> = {
  0x00ad: "SOFT HYPHEN",
  0x061c: "ARABIC LETTER MARK",
  0x180e: "MONGOLIAN VOWEL SEPARATOR",
  0x200b: "ZERO WIDTH SPACE",
  0x200c: "ZERO WIDTH NON-JOINER",
  0x200d: "ZERO WIDTH JOINER",
  0x200e: "LEFT-TO-RIGHT MARK",
  0x200f: "RIGHT-TO-LEFT MARK",
  0x202a: "LEFT-TO-RIGHT EMBEDDING",
  0x202b: "RIGHT-TO-LEFT EMBEDDING",
  0x202c: "POP DIRECTIONAL FORMATTING",
  0x202d: "LEFT-TO-RIGHT OVERRIDE",
  0x202e: "RIGHT-TO-LEFT OVERRIDE",
  0x2060: "WORD JOINER",
  0x2066: "LEFT-TO-RIGHT ISOLATE",
  0x2067: "RIGHT-TO-LEFT ISOLATE",
  0x2068: "FIRST STRONG ISOLATE",
  0x2069: "POP DIRECTIONAL ISOLATE",
  0xfeff: "BYTE ORDER MARK / ZERO WIDTH NO-BREAK SPACE",
};
/** Percent-decoding stops after this many rounds (`%25252e` is three); deeper nesting is not a name. */
const MAX_DECODE_ROUNDS = 4;

export function validateEvidenceBlobName(name: string): RejectionReason[] {
  const reasons: RejectionReason[] = [];
  const reject = (message: string): void => {
    reasons.push({ code: "InvalidName", field: "name", message: `blob name ${describeName(name)} ${message}` });
  };

  if (name.length === 0) {
    reject("is empty");
    return reasons;
  }

  const length = codePointLength(name);
  const bytes = Buffer.byteLength(name, "utf8");
  if (length > AZURE_MAX_BLOB_NAME_LENGTH) {
    reject(`is ${length} characters long: Azure allows at most ${AZURE_MAX_BLOB_NAME_LENGTH}`);
  } else if (length > EVIDENCE_MAX_BLOB_NAME_LENGTH) {
    reject(`is ${length} characters long: evidence names may have at most ${EVIDENCE_MAX_BLOB_NAME_LENGTH}; upload it again under a shorter name`);
  } else if (bytes > EVIDENCE_MAX_BLOB_NAME_BYTES) {
    reject(`is ${bytes} bytes long in UTF-8: evidence names may have at most ${EVIDENCE_MAX_BLOB_NAME_BYTES}; upload it again under a shorter name`);
  }

  const control = CONTROL_CHARACTER.exec(name);
  if (control !== null) {
    reject(`contains the control character ${codePointLabel(control[0])} at position ${codePointLength(name.slice(0, control.index)) + 1}: names must be printable text`);
  }
  const format = firstFormatCharacter(name);
  if (format !== undefined) {
    const what = format.count === 1 ? "an invisible format character" : `${format.count} invisible format characters, the first`;
    reject(
      `contains ${what} ${format.label} at position ${format.position} (counting characters from 1): such characters reorder or hide parts of a name, so it reads as another; upload it again under a name without them`,
    );
  }
  if (LONE_SURROGATE.test(name)) {
    reject("contains an unpaired UTF-16 surrogate: names must be valid Unicode text");
  }
  if (name.includes("\\")) {
    reject("contains a backslash: use '/' to separate folders");
  }

  if (name.startsWith("/")) {
    reject("starts with '/': names are relative to the container");
  }
  // The leading '/' is reported above; it should not also count as an empty segment.
  const segments = (name.startsWith("/") ? name.slice(1) : name).split("/");
  if (segments.some((segment, index) => segment === "" && !(index === 0 && segments.length === 1))) {
    reject("has an empty path segment ('//' or a trailing '/')");
  }
  if (segments.some((segment) => segment === "." || segment === "..")) {
    reject("has a '.' or '..' path segment: names must not navigate folders");
  }
  const encodedDots = segments.find((segment) => segment !== "." && segment !== ".." && decodesToDotSegment(segment));
  if (encodedDots !== undefined) {
    reject(`has the path segment '${printable(encodedDots)}', a percent-encoded '.' or '..': a tool that decodes the name would navigate folders; upload it again under a name without it`);
  }
  const longSegment = segments.find((segment) => Buffer.byteLength(segment, "utf8") > EVIDENCE_MAX_SEGMENT_BYTES);
  if (longSegment !== undefined) {
    reject(`has a path segment of ${Buffer.byteLength(longSegment, "utf8")} bytes: each segment may have at most ${EVIDENCE_MAX_SEGMENT_BYTES}`);
  }
  if (name.endsWith(".") && !segments.some((segment) => segment === "." || segment === "..")) {
    reject("ends with '.'");
  }
  return reasons;
}

function codePointLength(text: string): number {
  return Array.from(text).length;
}

interface FoundFormatCharacter {
  /** `U+202E (RIGHT-TO-LEFT OVERRIDE)`. */
  label: string;
  /** 1-based, in characters (code points). */
  position: number;
  count: number;
}

function firstFormatCharacter(name: string): FoundFormatCharacter | undefined {
  let found: FoundFormatCharacter | undefined;
  let position = 0;
  for (const character of name) {
    position++;
    if (!FORMAT_CHARACTER.test(character)) continue;
    if (found !== undefined) {
      found.count++;
      continue;
    }
    const known = FORMAT_CHARACTER_NAMES[character.codePointAt(0) ?? 0];
    found = { label: `${codePointLabel(character)}${known === undefined ? "" : ` (${known})`}`, position, count: 1 };
  }
  return found;
}

/**
 * True when percent-decoding `segment` (repeatedly, as layered tools would) yields a `.` or `..`
 * segment — on its own or between decoded `/` or `\`. Malformed escapes (`100%`) are left as
 * they are, as decoders that do not throw leave them.
 */
function decodesToDotSegment(segment: string): boolean {
  let text = segment;
  for (let round = 0; round < MAX_DECODE_ROUNDS && text.includes("%"); round++) {
    const decoded = text.replace(/%([0-9a-f]{2})/gi, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded === text) break;
    text = decoded;
    if (text.split(/[/\\]/).some((part) => part === "." || part === "..")) return true;
  }
  return false;
}

/**
 * A short, printable rendering of a name for a message an evidence officer reads: control
 * characters shown as escapes, long names cut in the middle (the message schema allows 1,000
 * characters; the full name is in the message's `original.name`).
 */
export function describeName(name: string, maxLength = 120): string {
  const shown = quoted(name);
  if (shown.length <= maxLength) return shown;
  // Cut by code points so an emoji is never split into half a surrogate pair.
  const points = Array.from(shown);
  const half = Math.floor((maxLength - 30) / 2);
  return `${points.slice(0, half).join("")}…(${codePointLength(name)} characters)…${points.slice(-half).join("")}`;
}
