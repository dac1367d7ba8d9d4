/**
 * The one place that decides how secrets are kept out of what Custody logs, reports or stores.
 *
 * The secrets in question are a blob read URL's SAS query (`?sv=…&sig=…`), which ffmpeg and
 * ffprobe are given and echo in their stderr and argument vectors, and any credential a URL can
 * carry (user info). Every URL, argument list or free text that names a URL goes through one of
 * these before it reaches a log line, an error message, an evidence record or an event:
 *
 * - {@link withoutQuery}: one URL, cut at its query or fragment — what records and events keep;
 * - {@link withoutQueryStrings}: free text with every http(s) URL's query and fragment dropped —
 *   for text that leaves the system in an event;
 * - {@link redactUrlQueries}: free text with every http(s) URL's query replaced by `?<redacted>` —
 *   for tool output and argument vectors kept as provenance, where a reader should still see
 *   that a query was there;
 * - {@link displayUrl}: origin and path only (no user info, query or fragment) for a message;
 * - {@link SecretRedactor}: the exact secrets handed out (each read URL's query), removed from
 *   any text however it was spelt around them, plus any stray `sig=` value.
 *
 * Text only, never parsed and re-serialised, except in {@link displayUrl}: a URL parser resolves
 * `%2E%2E` segments, so the URL of a blob named `a/../b.mp4` would come back naming another blob.
 */

/** A http(s) URL in free text, up to (not including) its query or fragment. */
const URL_BEFORE_QUERY = String.raw`(https?:\/\/[^\s'"?#]+)`;
const URL_QUERY = new RegExp(`${URL_BEFORE_QUERY}\\?[^\\s'"#]*`, "gi");
const URL_QUERY_OR_FRAGMENT = new RegExp(`${URL_BEFORE_QUERY}[?#][^\\s'"]*`, "g");
/** A SAS signature value in any spelling of a query (`?sig=…`, `&sig=…`). */
const SIGNATURE = /([?&]sig=)[^&\s"']+/gi;

/** Marks a removed query or signature value. */
export const REDACTED = "<redacted>";

/** `url` without its query string or fragment (textual: `?` or `#` and everything after it). */
export function withoutQuery(url: string): string {
  return url.replace(/[?#].*$/s, "");
}

/** `text` with the query string and fragment of every http(s) URL in it dropped. */
export function withoutQueryStrings(text: string): string {
  return text.replace(URL_QUERY_OR_FRAGMENT, "$1");
}

/**
 * `text` with the query of every http(s) URL in it replaced by `?<redacted>`: a read URL
 * carries a SAS token, which must not reach logs, error messages or the provenance recorded
 * with the evidence.
 */
export function redactUrlQueries(text: string): string {
  return text.replace(URL_QUERY, `$1?${REDACTED}`);
}

/** `url`'s origin and path, for a message: never its user info, query or fragment; `(invalid URL)` when it is not one. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * Remembers the secrets handed out (the query of each read URL) and removes them from text:
 * each exact secret wherever it appears (quoted, escaped around, inside a longer line), then any
 * `sig=` value left in another spelling.
 */
export class SecretRedactor {
  private readonly secrets = new Set<string>();

  /** Remembers `url`'s query (the SAS), if it has one; returns `url` unchanged. */
  rememberUrl(url: string): string {
    const query = url.indexOf("?");
    // An empty query is no secret (and splitting on "" would garble every character).
    if (query >= 0 && query < url.length - 1) this.secrets.add(url.slice(query + 1));
    return url;
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join("<read-only SAS redacted>");
    return out.replace(SIGNATURE, `$1${REDACTED}`);
  }
}
