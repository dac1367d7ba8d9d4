/**
 * What ffmpeg's or ffprobe's stderr says about a failed run: the error code it is classified
 * as ({@link classify}) and the lines that explain it ({@link meaningfulLines}). Pure.
 */
import type { CustodyErrorCode } from "../../errors";
import type { MediaInput } from "../../ports/media-tool";

const UNSUPPORTED: RegExp[] = [
  /Invalid data found when processing input/i,
  /moov atom not found/i,
  /does not contain any stream/i,
  /matches no streams/i,
  /Decoder \(.*\) not found|Decoding requested, but no decoder found|No decoder (found )?for|Unknown decoder/i,
  /Could not find codec parameters/i,
  /Unsupported codec|codec not currently supported/i,
  /EBML header parsing failed/i,
  /error reading header/i,
  /Format not on whitelist|Protocol '[^']*' not on whitelist|not on whitelist/i,
  /Unknown input format|Invalid input format/i,
  /encrypt|decrypt|\bcenc\b|\bDRM\b/i,
  /Error splitting the input into NAL units/i,
  // The mp3 demuxer on bytes that are not MPEG audio (it looks for a frame past the end and
  // fails with EINVAL): the file, not the tool.
  /Failed to read frame size: Could not seek/i,
];

const URL_ERRORS: Array<[RegExp, CustodyErrorCode]> = [
  [/Server returned 404|HTTP error 404/i, "OriginalNotFound"],
  [/Server returned 412|HTTP error 412/i, "OriginalChanged"],
  [/Server returned 40[13]|HTTP error 40[13]/i, "AccessDenied"],
  [/Server returned 5\d\d|Server returned 5XX|HTTP error 5\d\d|Server returned 429|HTTP error 429|Server returned 408/i, "Transient"],
  [
    /Connection reset|Connection refused|Connection timed out|Operation timed out|timed out|Broken pipe|Network is unreachable|Temporary failure in name resolution|Failed to resolve hostname|Name or service not known|Input\/output error|End of file|Stream ends prematurely|Will reconnect/i,
    "Transient",
  ],
];

const RESOURCE_ERRORS = /No space left on device|Cannot allocate memory|Resource temporarily unavailable/i;

/**
 * What a non-zero exit means, from the stderr tail. For a URL input, HTTP and network errors
 * win (a body cut short also reads as "Invalid data"); then the input's own faults; then
 * resources of this machine; anything else is Internal.
 */
export function classify(stderrLines: readonly string[], input: MediaInput): CustodyErrorCode {
  // Only what ffmpeg says at warning level or above: info lines echo the file's own metadata,
  // which must not steer the classification. A build without level tags gives everything.
  const leveled = stderrLines.some((line) => LEVEL_TAG.test(line));
  const text = (leveled ? stderrLines.filter((line) => PROBLEM_TAG.test(line)) : stderrLines).join("\n");
  if (input.kind === "url") {
    for (const [pattern, code] of URL_ERRORS) if (pattern.test(text)) return code;
  }
  if (UNSUPPORTED.some((pattern) => pattern.test(text))) return "UnsupportedMedia";
  if (RESOURCE_ERRORS.test(text)) return "Transient";
  return "Internal";
}

/** A `level+` tag at the start of a line, after an optional `[component]` prefix. */
const LEVEL_TAG = /^(\[[^\]]*\] )?\[(panic|fatal|error|warning|info|verbose|debug|trace)\] /;
const PROBLEM_TAG = /^(\[[^\]]*\] )?\[(panic|fatal|error|warning)\] /;
const ERROR_TAG = /^(\[[^\]]*\] )?\[(panic|fatal|error)\] /;

/** Generic lines ffmpeg prints after the real cause. */
const GENERIC = /^(Conversion failed!?|Exiting normally.*|To ignore this, add a trailing '\?' to the map\.?)$/i;

/**
 * The last meaningful lines: error-level lines (`[error]`, `[fatal]`, `[panic]`) without the
 * generic closers, else the last non-empty lines. The cause is often on the last line, not the
 * first (an AVCHD clip's "non-existing PPS" comes before the filter-graph error), so these come
 * from the end.
 */
export function meaningfulLines(stderrLines: readonly string[], count = 2): string[] {
  const untag = (line: string) => line.replace(LEVEL_TAG, "$1").trim();
  const errors = stderrLines
    .filter((line) => ERROR_TAG.test(line))
    .map(untag)
    .filter((line) => !GENERIC.test(line.replace(/^\[[^\]]+\] /, "")));
  const pool = errors.length ? errors : stderrLines.map(untag).filter((line) => line !== "" && !GENERIC.test(line));
  const unique: string[] = [];
  for (const line of pool.reverse()) {
    if (!unique.includes(line)) unique.unshift(line);
    if (unique.length === count) break;
  }
  return unique;
}
