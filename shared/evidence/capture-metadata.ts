/**
 * What the docking station says about a recording, read from the blob's metadata, checked before
 * anyone relies on it. The keys arrive lower-cased (the service lower-cases metadata keys, see
 * LOCAL-STACK.md) and the values already percent-decoded by the blob adapter.
 *
 * Rules — every broken rule becomes one reason with `field` = the metadata key, and a message an
 * evidence officer can act on (what the value is, what was expected, an example):
 *
 * | key          | required | rule |
 * |--------------|----------|------|
 * | `officerid`  | yes      | `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$` — 1–64 characters, letters, digits, `.`, `_`, `-`, not starting with punctuation (no spaces, no Unicode look-alikes) |
 * | `deviceid`   | yes      | same rule as `officerid` |
 * | `recordedat` | yes      | ISO 8601 / RFC 3339 date-time with seconds optional, fraction up to 9 digits and a time zone (`Z` or `±hh:mm`); a real calendar date and time; not before 2000-01-01T00:00:00Z (cameras whose clock reset report 1970 or 2000-ish dates); not more than 5 minutes after the upload time (the camera's clock may be a little fast; more than that means the clock is wrong) |
 * | `sha256`     | no       | 64 hexadecimal digits, any case; stored lower-case |
 * | `unit`       | no       | same rule as `officerid`: the unit or borough (e.g. `camden`), for downstream subscriptions to filter on |
 *
 * Values are not trimmed or otherwise repaired: what the device sent is evidence, and a value that
 * needs repairing is reported, not silently changed. The only normalisation is the SHA-256's
 * letter case, which carries no information. `-00:00` is refused because RFC 3339 defines it as
 * "local offset unknown" — exactly what a court would ask about.
 *
 * A missing or broken value is left out of `capture`; the valid ones are kept so the index shows
 * as much as is known about a rejected recording.
 */
import type { CaptureMetadata, RejectionReason } from "../contracts/messages";
import { quoted } from "../text/printable";

/** The metadata keys the dock writes (lower-case: that is how the service returns them). */
export const CAPTURE_METADATA_KEYS = {
  officerId: "officerid",
  deviceId: "deviceid",
  recordedAt: "recordedat",
  sha256: "sha256",
  unit: "unit",
} as const;

export const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SHA256_PATTERN = /^[0-9A-Fa-f]{64}$/;

/** How far after the upload a recording may claim to start (camera clocks run a little fast). */
export const DEFAULT_MAX_CLOCK_SKEW_IN_MS = 5 * 60 * 1000;
/** Nothing recorded before this is real body-worn video: such a date means a reset clock. */
export const EARLIEST_RECORDED_AT = "2000-01-01T00:00:00Z";
const EARLIEST_RECORDED_AT_MS = Date.UTC(2000, 0, 1);

const EXAMPLE_TIMESTAMP = "2026-11-26T09:30:00Z";
const IDENTIFIER_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (no spaces)";

export interface ValidateCaptureMetadataOptions {
  /** When the blob was uploaded (the BlobCreated event's time): the reference for "in the future". */
  uploadedAt: Date;
  /** Defaults to {@link DEFAULT_MAX_CLOCK_SKEW_IN_MS}. */
  maxClockSkewInMs?: number;
}

export interface CaptureMetadataValidation {
  /** The values that passed their rule (all of them when `reasons` is empty). */
  capture: Partial<CaptureMetadata>;
  /** Every problem found, in key order; empty when the metadata is acceptable. */
  reasons: RejectionReason[];
}

export function validateCaptureMetadata(metadata: Readonly<Record<string, string | undefined>>, options: ValidateCaptureMetadataOptions): CaptureMetadataValidation {
  const capture: Partial<CaptureMetadata> = {};
  const reasons: RejectionReason[] = [];
  const missing = (key: string, what: string): void => {
    reasons.push({ code: "MissingMetadata", field: key, message: `metadata '${key}' is missing: the dock must set ${what}` });
  };
  const invalid = (key: string, value: string, problem: string): void => {
    reasons.push({ code: "InvalidMetadata", field: key, message: `metadata '${key}' is ${describeValue(value)}: ${problem}` });
  };

  const identifiers = [
    ["officerId", CAPTURE_METADATA_KEYS.officerId, "the officer's id"],
    ["deviceId", CAPTURE_METADATA_KEYS.deviceId, "the camera's device id"],
  ] as const;
  for (const [property, key, what] of identifiers) {
    const value = metadata[key];
    if (value === undefined || value === "") missing(key, `${what} (${IDENTIFIER_RULE})`);
    else if (!IDENTIFIER_PATTERN.test(value)) invalid(key, value, `expected ${IDENTIFIER_RULE}`);
    else capture[property] = value;
  }

  const recordedAtKey = CAPTURE_METADATA_KEYS.recordedAt;
  const recordedAt = metadata[recordedAtKey];
  if (recordedAt === undefined || recordedAt === "") {
    missing(recordedAtKey, `when recording started, in ISO 8601 with a time zone, e.g. ${EXAMPLE_TIMESTAMP}`);
  } else {
    const problem = recordedAtProblem(recordedAt, options);
    if (problem === undefined) capture.recordedAt = recordedAt;
    else invalid(recordedAtKey, recordedAt, problem);
  }

  const sha256Key = CAPTURE_METADATA_KEYS.sha256;
  const sha256 = metadata[sha256Key];
  if (sha256 !== undefined) {
    // Present but wrong is a finding (the device meant to vouch for the file and did not manage
    // to); absent is fine — the hash stage computes the digest either way.
    if (SHA256_PATTERN.test(sha256)) capture.deviceSha256 = sha256.toLowerCase();
    else invalid(sha256Key, sha256, "expected the file's SHA-256 as 64 hexadecimal characters (0-9, a-f), or no 'sha256' at all");
  }

  const unitKey = CAPTURE_METADATA_KEYS.unit;
  const unit = metadata[unitKey];
  if (unit !== undefined) {
    // Optional, but present and malformed is reported like any other value: a subscription
    // filtering on units must not silently miss a recording whose unit was mistyped.
    if (IDENTIFIER_PATTERN.test(unit)) capture.unit = unit;
    else invalid(unitKey, unit, `expected the unit or borough as ${IDENTIFIER_RULE}, or no 'unit' at all`);
  }

  return { capture, reasons };
}

function recordedAtProblem(value: string, options: ValidateCaptureMetadataOptions): string | undefined {
  const parsed = parseOffsetDateTime(value);
  if (!parsed.ok) return parsed.problem;
  if (parsed.epochMs < EARLIEST_RECORDED_AT_MS) {
    return `that is before ${EARLIEST_RECORDED_AT.slice(0, 10)}; the camera's clock is probably wrong (reset)`;
  }
  const skew = options.maxClockSkewInMs ?? DEFAULT_MAX_CLOCK_SKEW_IN_MS;
  const uploadedAtMs = options.uploadedAt.getTime();
  if (parsed.epochMs > uploadedAtMs + skew) {
    return (
      `that is ${describeDuration(parsed.epochMs - uploadedAtMs)} after the upload (${options.uploadedAt.toISOString()}); ` +
      `a recording cannot start after it was uploaded — check the camera's clock`
    );
  }
  return undefined;
}

export type ParsedDateTime = { ok: true; epochMs: number } | { ok: false; problem: string };

// Extended ISO 8601 as profiled by RFC 3339, seconds optional (ISO allows hh:mm). The zone is
// mandatory: a local time without one cannot be placed on a timeline, which is the point.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|([+-])(\d{2}):(\d{2}))?$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Parses an ISO 8601 date-time with a time zone to epoch milliseconds, checking that it is a real
 * date and time (Date.parse accepts 2026-02-30 and rolls it over). Fractions beyond milliseconds
 * are truncated (Event Grid times have 7 digits).
 */
export function parseOffsetDateTime(value: string): ParsedDateTime {
  const expected = `expected ISO 8601 with a time zone, e.g. ${EXAMPLE_TIMESTAMP}`;
  if (DATE_ONLY.test(value)) return { ok: false, problem: `a date without a time: ${expected}` };
  const match = DATE_TIME.exec(value);
  if (match === null) return { ok: false, problem: expected };
  const [, y, mo, d, h, mi, s, fraction, zone, sign, zh, zm] = match;
  if (zone === undefined) return { ok: false, problem: `no time zone: ${expected}` };
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, problem: `${y}-${mo}-${d} is not a real date` };
  }
  // 24:00 and leap seconds (:60) are legal ISO but ambiguous on a timeline; cameras do not send them.
  if (hour > 23 || minute > 59 || second > 59) {
    return { ok: false, problem: `${h}:${mi}${s === undefined ? "" : `:${s}`} is not a real time of day` };
  }
  let offsetMinutes = 0;
  if (sign !== undefined && zh !== undefined && zm !== undefined) {
    if (Number(zh) > 23 || Number(zm) > 59) return { ok: false, problem: `${sign}${zh}:${zm} is not a real time zone offset` };
    if (sign === "-" && zh === "00" && zm === "00") {
      return { ok: false, problem: `-00:00 means "offset unknown" (RFC 3339): give the real offset or Z, e.g. ${EXAMPLE_TIMESTAMP}` };
    }
    offsetMinutes = (sign === "-" ? -1 : 1) * (Number(zh) * 60 + Number(zm));
  }
  const milliseconds = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, "0"));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, milliseconds);
  // Date.UTC maps years 0–99 to 1900–1999; not an issue here (we reject anything before 2000).
  return { ok: true, epochMs: local - offsetMinutes * 60_000 };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function describeDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days`;
}

/** The value as the officer would type it, quoted and escaped, cut short if long. */
function describeValue(value: string, maxLength = 100): string {
  const points = Array.from(value);
  const shown = points.length > maxLength ? `${points.slice(0, maxLength).join("")}…` : value;
  return points.length > maxLength ? `${quoted(shown)} (${points.length} characters)` : quoted(shown);
}
