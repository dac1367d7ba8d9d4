/** Reading a stream as the bare reference tools do: hashing it, or only counting its bytes. */
import { createHash } from "node:crypto";
import { Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { MiB } from "./sizes";

/** The SHA-256 of everything `stream` yields, in hex. */
export function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  return pipeline(
    stream,
    new Writable({
      highWaterMark: MiB,
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback();
      },
    }),
  ).then(() => hash.digest("hex"));
}

/** Reads a stream to its end without looking at the bytes; returns how many there were. */
export async function drain(stream: Readable): Promise<number> {
  let received = 0;
  await pipeline(
    stream,
    new Writable({
      highWaterMark: MiB,
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        callback();
      },
    }),
  );
  return received;
}
