/**
 * JSON with object keys sorted and `undefined` dropped: the same value always has the same
 * text, whatever order its properties were set in. Ledger entries are written this way so a
 * later signature (or a chain of digests) covers exactly what a verifier re-serialises.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return item;
    const sorted: Record<string, unknown> = {};
    for (const name of Object.keys(item).sort()) sorted[name] = (item as Record<string, unknown>)[name];
    return sorted;
  });
}
