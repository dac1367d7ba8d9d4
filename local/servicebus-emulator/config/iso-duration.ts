/**
 * Durations as Service Bus writes them: ISO 8601 (`PT1M`, `P14D`, `PT0.5S`, `P1DT2H`), the form
 * .NET's XmlConvert produces for a TimeSpan and that the ATOM management API, ARM templates and
 * the emulator's Config.json use. The .NET TimeSpan "c" form (`00:01:00`, `1.00:00:00`) is also
 * accepted, because PowerShell's Az.ServiceBus cmdlets take TimeSpan parameters
 * (https://learn.microsoft.com/powershell/module/az.servicebus/new-azservicebusqueue) and people
 * copy those values into configuration files.
 *
 * Arithmetic is done in .NET ticks (100 ns) with BigInt so that TimeSpan.MaxValue
 * (`P10675199DT2H48M5.4775807S`, the service's "unlimited" time to live) is represented exactly,
 * then floored to whole milliseconds.
 */

const TICKS_PER_MS = 10_000n;
const TICKS_PER_SECOND = 1_000n * TICKS_PER_MS;
const TICKS_PER_MINUTE = 60n * TICKS_PER_SECOND;
const TICKS_PER_HOUR = 60n * TICKS_PER_MINUTE;
const TICKS_PER_DAY = 24n * TICKS_PER_HOUR;
/** TimeSpan.MaxValue.Ticks (Int64.MaxValue). */
const MAX_TICKS = 9_223_372_036_854_775_807n;

/**
 * TimeSpan.MaxValue in whole milliseconds: 922 337 203 685 477 ms, about 29 227 years. It is
 * finite on purpose (not Infinity): `Date.now() + TIME_SPAN_MAX_MS` is about year 31 000, well
 * inside the Date range (±8.64e15 ms), so expiry arithmetic needs no special case, and the
 * number is a safe integer. Treat any TTL >= this as "never expires" when displaying it.
 */
export const TIME_SPAN_MAX_MS = Number(MAX_TICKS / TICKS_PER_MS);

/** The exact text the service and the SDK show for TimeSpan.MaxValue. */
export const TIME_SPAN_MAX_ISO = "P10675199DT2H48M5.4775807S";

// ISO 8601 duration, the subset XmlConvert.ToTimeSpan reads: designators in order, a fraction
// only on seconds. Weeks (`P2W`) are not accepted because XmlConvert does not accept them.
const ISO_PATTERN = /^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d+))?S)?)?$/;
// .NET TimeSpan "c" format: [-][d.]hh:mm[:ss[.fffffff]]
const TIMESPAN_C_PATTERN = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?$/;
// .NET TimeSpan "g" format with days: [-]d:hh:mm:ss[.fffffff]
const TIMESPAN_G_PATTERN = /^(-)?(\d+):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

function invalid(text: string, why = ""): Error {
  return new SyntaxError(`${JSON.stringify(text)} is not an ISO 8601 duration${why}` + " (examples: PT30S, PT5M, PT1H, P14D, P1DT2H, PT0.5S; a .NET TimeSpan such as 00:05:00 also works)");
}

/** Fractional-second digits to ticks: seven digits are 100 ns resolution; more are truncated. */
function fractionTicks(digits: string | undefined): bigint {
  if (!digits) return 0n;
  return BigInt(digits.slice(0, 7).padEnd(7, "0"));
}

function num(digits: string | undefined): bigint {
  return digits === undefined ? 0n : BigInt(digits);
}

function toTicks(text: string): bigint {
  const trimmed = text.trim();
  const iso = ISO_PATTERN.exec(trimmed.toUpperCase());
  if (iso) {
    const [, minus, years, months, days, hours, minutes, seconds, fraction] = iso;
    const hasDate = years !== undefined || months !== undefined || days !== undefined;
    const hasTime = hours !== undefined || minutes !== undefined || seconds !== undefined;
    // "P" and "PT" alone, or a "T" with nothing after it, are not durations.
    if (!hasDate && !hasTime) throw invalid(text);
    if (/T$/.test(trimmed.toUpperCase())) throw invalid(text);
    if (minus) throw invalid(text, ": negative durations are not allowed");
    // XmlConvert's convention for the calendar units: a year is 365 days, a month 30 days
    // (12 months make a year, not 360 days).
    const y = num(years);
    const mo = num(months);
    const dayCount = (y + mo / 12n) * 365n + (mo % 12n) * 30n + num(days);
    return dayCount * TICKS_PER_DAY + num(hours) * TICKS_PER_HOUR + num(minutes) * TICKS_PER_MINUTE + num(seconds) * TICKS_PER_SECOND + fractionTicks(fraction);
  }
  const c = TIMESPAN_C_PATTERN.exec(trimmed) ?? TIMESPAN_G_PATTERN.exec(trimmed);
  if (c) {
    const [, minus, days, hours, minutes, seconds, fraction] = c;
    if (minus) throw invalid(text, ": negative durations are not allowed");
    const h = num(hours);
    const m = num(minutes);
    const s = num(seconds);
    // TimeSpan.Parse rejects out-of-range components rather than carrying them over.
    if (h > 23n || m > 59n || s > 59n) throw invalid(text, ": hours must be 0-23, minutes and seconds 0-59");
    return num(days) * TICKS_PER_DAY + h * TICKS_PER_HOUR + m * TICKS_PER_MINUTE + s * TICKS_PER_SECOND + fractionTicks(fraction);
  }
  throw invalid(text);
}

/**
 * Parses a duration to milliseconds (floored to a whole millisecond). Throws a SyntaxError whose
 * message quotes the text when it is not a duration, is negative, or exceeds TimeSpan.MaxValue
 * (which the service could not store either). `P10675199DT2H48M5.4775807S` gives TIME_SPAN_MAX_MS.
 */
export function parseIsoDuration(text: string): number {
  if (typeof text !== "string") throw invalid(String(text), ": expected a string");
  const ticks = toTicks(text);
  if (ticks > MAX_TICKS) throw invalid(text, ": longer than TimeSpan.MaxValue (P10675199DT2H48M5.4775807S)");
  return Number(ticks / TICKS_PER_MS);
}

/**
 * Formats milliseconds the way XmlConvert.ToString(TimeSpan) does (`PT1M`, `P14D`, `PT0.5S`,
 * `PT0S`), so the management endpoint can echo configured values back in the service's own
 * spelling. TIME_SPAN_MAX_MS (or more, or Infinity) gives the exact TimeSpan.MaxValue text.
 */
export function formatIsoDuration(ms: number): string {
  if (!(ms >= 0)) throw new RangeError(`cannot format ${ms} ms as a duration`);
  if (ms >= TIME_SPAN_MAX_MS) return TIME_SPAN_MAX_ISO;
  const whole = Math.floor(ms);
  const days = Math.floor(whole / 86_400_000);
  const hours = Math.floor(whole / 3_600_000) % 24;
  const minutes = Math.floor(whole / 60_000) % 60;
  const seconds = Math.floor(whole / 1000) % 60;
  const millis = whole % 1000;
  let out = "P";
  if (days) out += `${days}D`;
  let time = "";
  if (hours) time += `${hours}H`;
  if (minutes) time += `${minutes}M`;
  if (seconds || millis) {
    time += millis ? `${seconds}.${String(millis).padStart(3, "0").replace(/0+$/, "")}S` : `${seconds}S`;
  }
  if (time) out += `T${time}`;
  return out === "P" ? "PT0S" : out;
}
