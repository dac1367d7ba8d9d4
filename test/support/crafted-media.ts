/**
 * Media files whose headers lie, made at test time from clips ffmpeg generates.
 */
import { readFileSync, writeFileSync } from "node:fs";

/**
 * A copy of the Matroska file `file` whose Segment Info Duration claims `seconds` (the header
 * lies; the frames are the original's). ffmpeg writes Duration (EBML id 0x4489) as an 8-byte
 * float in TimecodeScale units, milliseconds by default.
 */
export function withClaimedMatroskaDuration(file: string, seconds: number, out: string): string {
  const bytes = readFileSync(file);
  const at = bytes.indexOf(Buffer.from([0x44, 0x89, 0x88]));
  if (at < 0) throw new Error(`${file}: no 8-byte Matroska Duration element`);
  bytes.writeDoubleBE(seconds * 1000, at + 3);
  writeFileSync(out, bytes);
  return out;
}
