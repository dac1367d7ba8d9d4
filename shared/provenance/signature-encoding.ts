/**
 * ECDSA signatures in the two forms the evidence manifest ships: JWS wants r ‖ s, 32 bytes
 * each for P-256 (RFC 7518 §3.4) — what Key Vault and the signer port return — and openssl
 * wants the DER `ECDSA-Sig-Value` SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3).
 */
import { CustodyError } from "../errors";

const P256_PART = 32;

/** r ‖ s (64 bytes) → DER. */
export function p1363ToDer(signature: Uint8Array): Uint8Array {
  if (signature.length !== 2 * P256_PART) throw new CustodyError("Internal", `An ES256 signature is ${2 * P256_PART} bytes (r ‖ s), not ${signature.length}.`, { retryable: false });
  const r = derInteger(signature.subarray(0, P256_PART));
  const s = derInteger(signature.subarray(P256_PART));
  // At most 2 × 35 bytes: the short length form is enough.
  return Uint8Array.from([0x30, r.length + s.length, ...r, ...s]);
}

/** DER → r ‖ s (64 bytes); undefined when the bytes are not a DER ECDSA signature on P-256. */
export function derToP1363(der: Uint8Array): Uint8Array | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const r = readInteger(der, 2);
  if (r === undefined) return undefined;
  const s = readInteger(der, r.next);
  if (s === undefined || s.next !== der.length) return undefined;
  const out = new Uint8Array(2 * P256_PART);
  out.set(r.value, P256_PART - r.value.length);
  out.set(s.value, 2 * P256_PART - s.value.length);
  return out;
}

function derInteger(unsigned: Uint8Array): number[] {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const bytes = [...unsigned.subarray(start)];
  // A set high bit would read as negative: DER prefixes a zero byte.
  if ((bytes[0] ?? 0) >= 0x80) bytes.unshift(0);
  return [0x02, bytes.length, ...bytes];
}

function readInteger(der: Uint8Array, at: number): { value: Uint8Array; next: number } | undefined {
  if (der[at] !== 0x02) return undefined;
  const length = der[at + 1];
  if (length === undefined || length === 0 || length > P256_PART + 1 || at + 2 + length > der.length) return undefined;
  let value = der.subarray(at + 2, at + 2 + length);
  if ((value[0] ?? 0) >= 0x80) return undefined; // negative
  if (value.length > 1 && value[0] === 0 && (value[1] ?? 0) < 0x80) return undefined; // not minimal
  if (value[0] === 0 && value.length > 1) value = value.subarray(1);
  if (value.length > P256_PART) return undefined;
  return { value, next: at + 2 + length };
}
