/**
 * Blob metadata travels as `x-ms-meta-*` HTTP headers, and header values must be ASCII:
 * Azure refuses anything else (and Azurite answers 403 or the SDK throws an invalid-header
 * error before sending). Officer names, notes and other free text are therefore
 * percent-encoded (UTF-8, as `encodeURIComponent` does) by whoever writes them — the dock,
 * `custody upload`, tests — and decoded by the adapter on read, so stages only ever see the
 * original text.
 *
 * `encodeURIComponent` rather than a minimal "escape only non-ASCII" scheme: it also escapes
 * spaces, `%` and control characters, so the value survives header whitespace trimming and
 * Shared Key canonicalisation unchanged, and any compliant decoder gets the text back.
 */

/** Percent-encodes a metadata value so it is a valid ASCII header value. Encode exactly once: `%` is escaped too. */
export function encodeMetadataValue(value: string): string {
  return encodeURIComponent(value);
}

/**
 * Decodes a percent-encoded metadata value. A value that is not valid percent-encoding (a
 * bare `%`, or escapes that are not UTF-8) was written by something that did not encode it;
 * it is returned unchanged rather than failing the read — the bytes stored are the truth, and
 * an unreadable officer name must not stop the original from being hashed and preserved.
 */
export function decodeMetadataValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Encodes every value of a metadata record (keys are left as they are: they must be C# identifiers anyway). */
export function encodeMetadata(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) out[key] = encodeMetadataValue(value);
  return out;
}

/**
 * Decodes every value and lower-cases every key. HTTP header names are case-insensitive and
 * Node lower-cases them, so the case a writer used is not reliably preserved; lower-case keys
 * are the one spelling readers can depend on.
 */
export function decodeMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) out[key.toLowerCase()] = decodeMetadataValue(value);
  return out;
}
