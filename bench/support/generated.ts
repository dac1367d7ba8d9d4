/**
 * Cheap pseudo-random originals of any size, streamed: never more than one MiB in memory and,
 * unless a bench writes them to a file, no disk. Pure apart from the one random pattern.
 */
import { createHash, randomBytes, type Hash } from "node:crypto";
import { Readable } from "node:stream";
import { MiB } from "./sizes";

/** The one random MiB every chunk is a stamped copy of; pass the same one to produce the same bytes again. */
export function generatedPattern(): Buffer {
  return randomBytes(MiB);
}

/**
 * `bytes` bytes, one MiB per chunk: each chunk is a copy of `pattern` with its index stamped in
 * its first 8 bytes, so no two MiB are alike (nothing downstream can shortcut repeated data)
 * without paying crypto.randomBytes for gigabytes. `hash`, when given, sees every byte (the
 * reference digest, computed on the way).
 */
export function* generatedChunks(bytes: number, pattern: Buffer, hash?: Hash): Generator<Buffer> {
  for (let written = 0, index = 0; written < bytes; index++) {
    const size = Math.min(MiB, bytes - written);
    const chunk = Buffer.allocUnsafe(size);
    pattern.copy(chunk, 0, 0, size);
    if (size >= 4) chunk.writeUInt32LE(index >>> 0, 0);
    if (size >= 8) chunk.writeUInt32LE(Math.floor(index / 2 ** 32), 4);
    hash?.update(chunk);
    written += size;
    yield chunk;
  }
}

/** The same bytes as a Readable (backpressure respected: a chunk is made only when the reader wants one). */
export function generatedStream(bytes: number, pattern: Buffer, hash?: Hash): Readable {
  return Readable.from(generatedChunks(bytes, pattern, hash), { objectMode: false, highWaterMark: MiB });
}

/** SHA-256 (hex) of the bytes {@link generatedChunks} yields, without keeping them. */
export function generatedSha256(bytes: number, pattern: Buffer): string {
  const hash = createHash("sha256");
  for (const chunk of generatedChunks(bytes, pattern)) hash.update(chunk);
  return hash.digest("hex");
}
