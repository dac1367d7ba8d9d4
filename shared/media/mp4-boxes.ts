/**
 * ISO BMFF (MP4/MOV) boxes: reading the children of a box body and writing boxes. Pure. The
 * one place box headers are parsed (32-bit sizes, 64-bit `largesize`, size 0 = to the end) —
 * ISO/IEC 14496-12 §4.2.
 */

export interface Mp4Box {
  type: string;
  /** The box's bytes after its header. */
  body: Buffer;
  /** The whole box (header included), for copying it unchanged. */
  whole: Buffer;
}

export interface Mp4BoxHeader {
  type: string;
  /** The whole box's size in bytes (to the end of `available` for size 0). */
  size: number;
  headerSize: number;
}

/**
 * The header at the start of `bytes` (at least 8 bytes; 16 when the size is 64-bit), or
 * undefined when it is not one. `available`: bytes from the header's start to the end of its
 * parent (the file's size at top level), the size of a box that runs to the end.
 */
export function boxHeader(bytes: Buffer, available: number): Mp4BoxHeader | undefined {
  if (bytes.length < 8) return undefined;
  let size = bytes.readUInt32BE(0);
  const type = bytes.toString("latin1", 4, 8);
  let headerSize = 8;
  if (size === 1) {
    if (bytes.length < 16) return undefined;
    size = Number(bytes.readBigUInt64BE(8));
    headerSize = 16;
  } else if (size === 0) size = available;
  if (size < headerSize || size > available) return undefined;
  return { type, size, headerSize };
}

/** The child boxes of a box body; `onInvalid` names the problem when a child overruns its parent. */
export function* childBoxes(body: Buffer, onInvalid: (why: string) => Error): Generator<Mp4Box> {
  let at = 0;
  while (at + 8 <= body.length) {
    const header = boxHeader(body.subarray(at, at + 16), body.length - at);
    if (header === undefined) throw onInvalid(`box ${JSON.stringify(body.toString("latin1", at + 4, at + 8))} overruns its parent`);
    yield { type: header.type, body: body.subarray(at + header.headerSize, at + header.size), whole: body.subarray(at, at + header.size) };
    at += header.size;
  }
}

/** The first child of type `type`, or undefined. */
export function childBox(body: Buffer, type: string, onInvalid: (why: string) => Error): Mp4Box | undefined {
  for (const child of childBoxes(body, onInvalid)) if (child.type === type) return child;
  return undefined;
}

/** A box: 32-bit size, type, then the parts. */
export function writeBox(type: string, ...parts: Buffer[]): Buffer {
  const size = 8 + parts.reduce((sum, p) => sum + p.length, 0);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size, 0);
  header.write(type, 4, 4, "latin1");
  return Buffer.concat([header, ...parts], size);
}

/** A full box: version and 24-bit flags before the parts. */
export function writeFullBox(type: string, version: number, flags: number, ...parts: Buffer[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return writeBox(type, head, ...parts);
}

/** Big-endian 32-bit unsigned values. */
export function uint32s(values: ArrayLike<number>): Buffer {
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeUInt32BE(values[i], i * 4);
  return out;
}
