/**
 * A pass-through that hashes what flows through it: the SHA-256 and size of bytes written
 * somewhere else (a blob, a file) without reading them back.
 */
import { createHash } from "node:crypto";
import { Transform } from "node:stream";

export interface DigestingTap {
  tap: Transform;
  /** Bytes that passed so far. */
  size: () => number;
  /** The SHA-256 (hex) of everything that passed: once, after the stream has ended. */
  sha256: () => string;
}

export function digestingTap(): DigestingTap {
  const hash = createHash("sha256");
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { tap, size: () => size, sha256: () => hash.digest("hex") };
}
