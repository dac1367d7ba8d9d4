/** Byte sizes as the benches read and print them. Pure. */

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Bytes in MiB, two decimals (sizes of inputs). */
export function mib(bytes: number): number {
  return Math.round((bytes / MiB) * 100) / 100;
}

/** Bytes in MiB, one decimal (memory figures). */
export function toMiB(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}

/** `2G`, `512M`, `64K`, `1_000_000` → bytes (binary units). */
export function parseByteSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMG]i?B?)?$/i.exec(text.replace(/_/g, "").trim());
  const unit = match?.[2]?.[0]?.toUpperCase();
  const factor = unit === "G" ? GiB : unit === "M" ? MiB : unit === "K" ? 1024 : 1;
  const value = match ? Math.round(Number(match[1]) * factor) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${flag} must be a size like 2G, 512M or 1048576, not "${text}"`);
  return value;
}
